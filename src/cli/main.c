// gpt2cl: train, fine-tune and sample GPT-2 on any OpenCL device.
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "runtime/tune_apply.h"
#include "util/util.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} Command;

static const Command commands[] = {
    {"train", cmd_train, "train or fine-tune a model (--config FILE | --resume DIR) [key=value ...]"},
    {"sample", cmd_sample, "generate text from a checkpoint: --checkpoint FILE|DIR [--prompt TEXT]"},
    {"eval", cmd_eval, "loss, perplexity and bits per byte of a checkpoint: --checkpoint F (--data S | --text F)"},
    {"encode", cmd_encode, "text to GPT-2 token ids: [--text TEXT | --file F | stdin] [--json]"},
    {"decode", cmd_decode, "token ids to text: [--ids \"1 2 3\" | --file F | stdin]"},
    {"export", cmd_export, "write a model as a Hugging Face folder or llm.c file: --checkpoint F --format FMT --out P"},
    {"classify", cmd_classify, "label texts with a classifier trained with task = classify: --checkpoint DIR"},
    {"prepare", cmd_prepare, "tokenize text files, folders or JSONL into llm.c token shards"},
    {"bench", cmd_bench, "time training steps of a configured model on random tokens"},
    {"sweep", cmd_sweep, "train one run per point of a grid (lr x warmup x ...): --config FILE --grid KEY=V1,V2"},
    {"tune", cmd_tune, "autotune GEMMs (CLBlast or ours) and our kernels for the device: --config FILE [--budget S]"},
    {"devices", cmd_devices, "list OpenCL platforms and devices"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: gpt2cl COMMAND [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\n`gpt2cl COMMAND --help` describes a command. Environment: GPT2CL_KERNEL_DIR=DIR reads the OpenCL\n"
               "kernels from DIR instead of the copies built into the binary; GPT2CL_CACHE_DIR=DIR holds tuning databases\n"
               "and compiled programs (default $XDG_CACHE_HOME/gpt2cl or ~/.cache/gpt2cl); GPT2CL_TUNE=0 ignores tuning.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    die("unknown command '%s' (try `gpt2cl --help`)", argv[1]);
}
