// `gpt2cl prepare`: its options; prepare_run (text/prepare.h) does the work.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/or_die.h"
#include "text/prepare.h"
#include "util/parse_num.h"
#include "util/util.h"

static const char USAGE[] =
    "usage: gpt2cl prepare [options] [INPUT...]\n"
    "\n"
    "Tokenizes text into llm.c token shards (uint16): OUT/val_000000.bin,\n"
    "OUT/train_000000.bin, ... Each document is preceded by end-of-text.\n"
    "\n"
    "INPUT is a text file (one document), a folder (every non-hidden file below\n"
    "it, recursively, in sorted order) or a .jsonl file (one document per line,\n"
    "from its \"text\" field). Default: the corpus from scripts/make_corpus.sh.\n"
    "\n"
    "options:\n"
    "  --tokenizer SPEC    gpt2 (default), byte, or a .tiktoken / encoder.json path\n"
    "  --out DIR           output folder (default: DATA/tokens/<tokenizer>)\n"
    "  --val-frac F        fraction of tokens for validation, 0 <= F < 1 (default 0.05)\n"
    "  --split-block N     split granularity in tokens (default 16384): the stream is cut\n"
    "                      into N-token blocks; block 0 and then every 1/F-th go to val\n"
    "  --shard-tokens N    most tokens per shard file (default 100000000)\n"
    "  --force             replace shards already in DIR (else refuse); all or nothing: the new\n"
    "                      shards replace the old ones only once every input is tokenized\n"
    "  --format text|sft   text (default): documents as above. sft: supervised fine-tuning\n"
    "                      examples, one per .jsonl line, {\"prompt\": P, \"completion\": C} or\n"
    "                      {\"messages\": [{\"role\": R, \"content\": X}, ...]} (rendered as lines\n"
    "                      \"R: X\"); the loss counts C (the assistant messages) and the end-of-text\n"
    "                      after it; a loss mask OUT/PREFIX_NNNNNN.mask is written beside each shard\n"
    "                      (README, Fine-tuning). Train on them with task = sft\n"
    "  --context N         sft: the model's context (train's seq_len, default 1024): a prompt\n"
    "                      that leaves no completion token inside it is an error\n"
    "  -h, --help          show this help\n"
    "\n"
    "DATA is $GPT2CL_DATA, else $XDG_DATA_HOME/gpt2cl, else ~/.local/share/gpt2cl.\n";

static uint64_t parse_count(const char *flag, const char *s, uint64_t max) {
    long long v;
    char why[300];
    if (!parse_integer(s, 1, (long long)max, &v, why, sizeof why))
        die("%s: expected a whole number from 1 to %llu: %s", flag, (unsigned long long)max, why);
    return (uint64_t)v;
}

static void parse_args(int argc, char **argv, PrepareOptions *a) {
    memset(a, 0, sizeof(*a));
    a->tokenizer = "gpt2";
    a->val_frac = 0.05;
    a->split_block = 16384;
    a->shard_tokens = 100000000;
    a->context = 1024;
    int context = 0;  // --context given
    a->inputs = callocCheck((size_t)argc, sizeof(char *));
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            fputs(USAGE, stdout);
            exit(0);
        }
        if (strcmp(arg, "--force") == 0) { a->force = 1; continue; }
        if (strcmp(arg, "--") == 0) {
            while (++i < argc) a->inputs[a->n_inputs++] = argv[i];
            break;
        }
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            if (arg[0] == '-' && arg[1] != '\0') die("prepare: unknown option '%s' (see gpt2cl prepare --help)", arg);
            a->inputs[a->n_inputs++] = arg;
            continue;
        }
        // --name VALUE or --name=VALUE
        const char *eq = strchr(arg, '=');
        size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
        const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
#define IS(name) (name_len == strlen(name) && strncmp(arg, name, name_len) == 0)
        if (!IS("--tokenizer") && !IS("--out") && !IS("--val-frac") && !IS("--split-block") && !IS("--shard-tokens") &&
            !IS("--format") && !IS("--context"))
            die("prepare: unknown option '%.*s' (see gpt2cl prepare --help)", (int)name_len, arg);
        if (!value) die("prepare: option '%s' needs a value", arg);
        if (IS("--tokenizer")) a->tokenizer = value;
        else if (IS("--out")) a->out = value;
        else if (IS("--split-block")) a->split_block = parse_count("--split-block", value, UINT32_MAX);
        else if (IS("--shard-tokens")) a->shard_tokens = parse_count("--shard-tokens", value, INT32_MAX);
        else if (IS("--context")) context = a->context = (int)parse_count("--context", value, 1 << 20);
        else if (IS("--format")) {
            if (strcmp(value, "text") != 0 && strcmp(value, "sft") != 0)
                die("--format: expected text or sft, got '%s'", value);
            a->sft = strcmp(value, "sft") == 0;
        }
        else {
            char why[300];
            if (!parse_double(value, 0, 1, &a->val_frac, why, sizeof why) || a->val_frac >= 1.0)
                die("--val-frac: expected a number with 0 <= F < 1, got '%s'", value);
        }
#undef IS
    }
    if (context && !a->sft) die("--context applies to --format sft only");
}

int cmd_prepare(int argc, char **argv) {
    PrepareOptions o;
    parse_args(argc, argv, &o);
    or_die(prepare_run(&o));
    free(o.inputs);
    return 0;
}
