// `gpt2cl sample`: generate text from a checkpoint, streaming tokens to stdout.
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/or_die.h"
#include "model/generate.h"
#include "model/weights_file.h"
#include "model/workspace.h"
#include "runtime/tune_apply.h"
#include "text/tokenizer.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "util/util.h"

typedef struct {
    const char *checkpoint, *prompt, *device;
    int verbose;
} SampleArgs;

#define A(x) offsetof(SampleArgs, x)
static const Option sample_options[] = {
    {"--checkpoint", OPT_STRING, A(checkpoint), "F", "a file or folder", 0, 0,
     "model file or folder (llm.c, Hugging Face), or the out_dir of a training run"},
    {"--prompt", OPT_STRING, A(prompt), "TEXT", "a text", 0, 0, "text to continue; empty = start after <|endoftext|>"},
    {"--verbose", OPT_FLAG, A(verbose), NULL, NULL, 0, 0, "print the device, model and tuning lines on stderr"},
    // device=SEL, which the help lists with the keys
    {"--device", OPT_STRING, A(device), "SEL", "an index or a name (see `gpt2cl devices`)", 0, 0, NULL},
};
#undef A
static const OptionTable sample_table = OPTION_TABLE("sample", sample_options, 17);

static void usage(FILE *f) {
    fprintf(f, "usage: gpt2cl sample --checkpoint FILE|DIR [--prompt TEXT] [key=value ...]\n\n"
               "Generates text from a model: an llm.c checkpoint (fp32 or bf16; a run's out_dir means its latest\n"
               "checkpoint), a Hugging Face GPT-2 folder (config.json + model.safetensors) or a .safetensors file.\n"
               "The prompt is printed, then each token as it is produced.\n");
    options_print_help(&sample_table, f);
    fprintf(f, "keys:\n");
    config_print_sample_keys(f);
    fprintf(f, "Each key may be given once. --verbose prints the device and tuning lines on stderr (stdout\n"
               "holds only the text).\n");
}

// Options and keys, in any order, into args and cfg. Returns 0 when --help printed the usage.
static int parse_args(int argc, char **argv, SampleArgs *args, Config *cfg) {
    config_defaults(cfg);
    for (int i = 1; i < argc; i++) {
        i = options_parse(&sample_table, args, argc, argv, i);
        if (i < 0) {
            usage(stdout);
            return 0;
        }
        if (i < argc) or_die(config_override(cfg, argv[i], KEYS_SAMPLE));
    }
    if (args->device) or_die(config_override_key(cfg, "device", args->device, KEYS_SAMPLE));
    return 1;
}

// The prompt's tokens; an empty prompt starts after <|endoftext|>.
static TokenIds prompt_tokens(Tokenizer *tok, const char *prompt) {
    TokenIds ids = {0};
    if (*prompt) or_die(tokenizer_encode(tok, prompt, strlen(prompt), &ids, NULL));
    else token_ids_push(&ids, tokenizer_eot(tok));
    return ids;
}

// The device and its tuning. stdout is the text alone: their lines go to stderr
// with --verbose, else nowhere.
static void open_device_tuned(Device *dev, Tuned *tuned, const char *device, const char *path, int verbose) {
    or_die(device_open(dev, device, 0));
    FILE *info = verbose ? stderr : fopen("/dev/null", "w");
    if (!info) die("cannot open /dev/null: %s", strerror(errno));
    fprintf(info, "device: %d: %s; model: %s\n", dev->index, dev->name, path);
    tuned_load(tuned, dev, TUNE_DATABASE, info);
    if (!verbose) fclose(info);
}

// The model from path, with a workspace for one sequence of the prompt and
// max_new tokens (at least 1, at most the model's context).
static void load_model(GPT2 *m, Workspace *ws, const GPT2Config *mc, Device *dev, const char *path, int n_prompt,
                       int max_new) {
    or_die(gpt2_create(m, mc, dev));
    int ctx = n_prompt + max_new;
    or_die(workspace_create(ws, m, 1, ctx < mc->max_seq_len ? (ctx < 1 ? 1 : ctx) : mc->max_seq_len, WS_FORWARD));
    or_die(gpt2_load_checkpoint(m, path));
}

// Streams the prompt, then each token as it is sampled, to stdout.
static void generate_text(GPT2 *m, Workspace *ws, Ops *ops, Tokenizer *tok, const TokenIds *ids, const char *prompt,
                          const Config *cfg) {
    SamplerParams sp = {.temperature = (float)cfg->temperature, .top_k = cfg->top_k, .top_p = (float)cfg->top_p};
    if (cfg->greedy) sp.temperature = 0.0f;
    Rng rng;
    rng_seed(&rng, (uint64_t)cfg->seed);
    if (*prompt) fputs(prompt, stdout);
    int *prompt_ids = mallocCheck(ids->len * sizeof(int));
    for (size_t i = 0; i < ids->len; i++) prompt_ids[i] = ids->ids[i];
    Status s = gpt2_generate(m, ws, ops, prompt_ids, (int)ids->len, cfg->max_new_tokens,
                             cfg->stop_at_eot ? tokenizer_eot(tok) : -1, &sp, &rng, emit_to_stdout, tok);
    fputc('\n', stdout);
    or_die(s);
    free(prompt_ids);
}

int cmd_sample(int argc, char **argv) {
    SampleArgs args = {.prompt = ""};
    Config cfg;
    if (!parse_args(argc, argv, &args, &cfg)) return 0;
    if (!args.checkpoint) die("sample needs --checkpoint FILE or a run's out_dir (see `gpt2cl sample --help`)");
    char path[1024];
    or_die(checkpoint_model_path(args.checkpoint, path, sizeof path));
    GPT2Config mc;
    or_die(checkpoint_read_config(path, &mc));
    Tokenizer *tok;
    or_die(tokenizer_load_for_model(cfg.tokenizer, mc.vocab_size, &tok));
    TokenIds ids = prompt_tokens(tok, args.prompt);

    Device dev;
    Tuned tuned;
    open_device_tuned(&dev, &tuned, cfg.device, path, args.verbose);
    Ops ops;
    or_die(ops_init(&ops, &dev, &tuned));
    GPT2 m;
    Workspace ws;
    load_model(&m, &ws, &mc, &dev, path, (int)ids.len, cfg.max_new_tokens);
    generate_text(&m, &ws, &ops, tok, &ids, args.prompt, &cfg);
    token_ids_free(&ids);
    workspace_free(&ws);
    gpt2_free(&m);
    ops_free(&ops);
    device_close(&dev);
    tokenizer_free(tok);
    return 0;
}
