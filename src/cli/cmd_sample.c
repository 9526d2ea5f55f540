// `gpt2cl sample`: generate text from a checkpoint, streaming tokens to stdout.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "cli/or_die.h"
#include "model/generate.h"
#include "model/weights_file.h"
#include "runtime/tune_apply.h"
#include "text/tokenizer.h"
#include "train/checkpoint.h"
#include "util/parse_num.h"
#include "util/util.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: gpt2cl sample --checkpoint FILE|DIR [--prompt TEXT] [key=value ...]\n\n"
            "Generates text from an llm.c fp32 checkpoint (a run's out_dir means its latest checkpoint).\n"
            "The prompt is printed, then each token as it is produced.\n"
            "  --checkpoint F    model file, or the out_dir of a training run\n"
            "  --prompt TEXT     text to continue; empty = start after <|endoftext|>\n"
            "  --verbose         print the device, model and tuning lines on stderr\n"
            "keys:\n"
            "  max_new_tokens=N  tokens to generate (default 200)\n"
            "  temperature=X     softmax temperature (default 1.0); 0 = greedy\n"
            "  top_k=N           keep the N most likely tokens (default 0 = all)\n"
            "  top_p=X           keep the smallest set with probability >= X (default 1.0 = all)\n"
            "  greedy=0|1        1: always take the most likely token\n"
            "  seed=N            sampling seed (default 1337)\n"
            "  tokenizer=SPEC    gpt2 | byte | PATH (default: from the vocabulary size: 257 byte, 50257 gpt2)\n"
            "  device=SEL        OpenCL device index or name substring (also --device SEL)\n"
            "  stop_at_eot=0|1   stop at <|endoftext|> (default 1)\n"
            "Each key may be given once. --verbose prints the device and tuning lines on stderr (stdout\n"
            "holds only the text).\n");
}

// The keys, in one table: name and, for numbers, the accepted range (integers or not).
typedef enum { S_MAX_NEW, S_TEMPERATURE, S_TOP_K, S_TOP_P, S_GREEDY, S_SEED, S_TOKENIZER, S_DEVICE, S_STOP, S_COUNT } SampleKey;
typedef enum { K_INT, K_FLOAT, K_BOOL, K_TEXT } KeyKind;
static const struct {
    const char *name;
    KeyKind kind;
    double min, max;
} sample_keys[S_COUNT] = {
    [S_MAX_NEW] = {"max_new_tokens", K_INT, 0, 1e7},  [S_TEMPERATURE] = {"temperature", K_FLOAT, 0, 100},
    [S_TOP_K] = {"top_k", K_INT, 0, 1e7},             [S_TOP_P] = {"top_p", K_FLOAT, 1e-6, 1},
    [S_GREEDY] = {"greedy", K_BOOL, 0, 0},            [S_SEED] = {"seed", K_INT, 0, 9e15},
    [S_TOKENIZER] = {"tokenizer", K_TEXT, 0, 0},      [S_DEVICE] = {"device", K_TEXT, 0, 0},
    [S_STOP] = {"stop_at_eot", K_BOOL, 0, 0},
};

// Parses "key=value" through the one number parser (src/util/parse_num.h); a key may be given once.
static SampleKey parse_key(const char *a, unsigned char *seen, long long *i, double *x, const char **text) {
    const char *eq = strchr(a, '=');
    if (!eq) die("expected key=value, got '%s'", a);
    size_t n = (size_t)(eq - a);
    const char *v = eq + 1;
    int k = 0;
    while (k < S_COUNT && !(strlen(sample_keys[k].name) == n && !strncmp(a, sample_keys[k].name, n))) k++;
    if (k == S_COUNT) die("unknown key '%.*s' (see `gpt2cl sample --help`)", (int)n, a);
    if (seen[k]++) die("key '%s' is given twice", sample_keys[k].name);
    char why[300];
    int b = 0, ok = 1;
    switch (sample_keys[k].kind) {
        case K_INT: ok = parse_integer(v, (long long)sample_keys[k].min, (long long)sample_keys[k].max, i, why, sizeof why); break;
        case K_FLOAT: ok = parse_double(v, sample_keys[k].min, sample_keys[k].max, x, why, sizeof why); break;
        case K_BOOL:
            ok = parse_bool(v, &b, why, sizeof why);
            *i = b;
            break;
        case K_TEXT: *text = v; break;
    }
    if (!ok) die("%s: %s", sample_keys[k].name, why);
    return (SampleKey)k;
}

int cmd_sample(int argc, char **argv) {
    const char *checkpoint = NULL, *prompt = "", *tokenizer_spec = NULL, *device = "";
    SamplerParams sp = {.temperature = 1.0f, .top_k = 0, .top_p = 1.0f};
    int max_new = 200, stop_at_eot = 1, greedy = 0, verbose = 0;
    long long seed = 1337;
    unsigned char seen[S_COUNT] = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--checkpoint")) {
            if (++i >= argc) die("--checkpoint needs a file or folder");
            checkpoint = argv[i];
        } else if (!strcmp(a, "--device")) {
            if (++i >= argc) die("--device needs an index or a name (see `gpt2cl devices`)");
            if (seen[S_DEVICE]++) die("key 'device' is given twice");
            device = argv[i];
        } else if (!strcmp(a, "--prompt")) {
            if (++i >= argc) die("--prompt needs a text");
            prompt = argv[i];
        } else if (!strcmp(a, "--verbose")) {
            verbose = 1;
        } else if (a[0] == '-') {
            die("unknown option '%s' (see `gpt2cl sample --help`)", a);
        } else {
            long long iv = 0;
            double x = 0;
            const char *text = NULL;
            switch (parse_key(a, seen, &iv, &x, &text)) {
                case S_MAX_NEW: max_new = (int)iv; break;
                case S_TEMPERATURE: sp.temperature = (float)x; break;
                case S_TOP_K: sp.top_k = (int)iv; break;
                case S_TOP_P: sp.top_p = (float)x; break;
                case S_GREEDY: greedy = (int)iv; break;
                case S_SEED: seed = iv; break;
                case S_TOKENIZER: tokenizer_spec = text; break;
                case S_DEVICE: device = text; break;
                case S_STOP: stop_at_eot = (int)iv; break;
                case S_COUNT: break;
            }
        }
    }
    if (greedy) sp.temperature = 0.0f;
    if (!checkpoint) die("sample needs --checkpoint FILE or a run's out_dir (see `gpt2cl sample --help`)");
    char path[1024];
    struct stat st;
    if (stat(checkpoint, &st) == 0 && S_ISDIR(st.st_mode)) {
        int step = checkpoint_latest(checkpoint);
        if (step < 0) die("'%s' holds no checkpoint", checkpoint);
        char state_path[1024];
        checkpoint_paths(checkpoint, step, path, state_path, sizeof path);
    } else {
        snprintf(path, sizeof path, "%s", checkpoint);
    }
    GPT2Config mc;
    or_die(checkpoint_read_config(path, &mc));
    Tokenizer *tok;
    or_die(tokenizer_load_for_model(tokenizer_spec, mc.vocab_size, &tok));
    TokenIds ids = {0};
    if (*prompt) tokenizer_encode(tok, prompt, strlen(prompt), &ids);
    else token_ids_push(&ids, tokenizer_eot(tok));

    Device dev;
    device_open(&dev, device, 0);
    // stdout is the text alone; the device and tuning lines only with --verbose, on stderr.
    FILE *info = verbose ? stderr : fopen("/dev/null", "w");
    if (!info) die("cannot open /dev/null: %s", strerror(errno));
    fprintf(info, "device: %d: %s; model: %s\n", dev.index, dev.name, path);
    KernelParams kp = tune_apply(&dev, TUNE_DATABASE, info);
    if (!verbose) fclose(info);
    Ops ops;
    ops_init(&ops, &dev, &kp);
    tune_apply_gemm_cl(&dev, &ops);
    GPT2 m;
    gpt2_create(&m, &mc, &dev);
    int ctx = (int)ids.len + max_new;
    gpt2_alloc_activations(&m, 1, ctx < mc.max_seq_len ? (ctx < 1 ? 1 : ctx) : mc.max_seq_len);
    or_die(gpt2_load_checkpoint(&m, path));
    Rng rng;
    rng_seed(&rng, (uint64_t)seed);
    if (*prompt) fputs(prompt, stdout);
    int *prompt_ids = mallocCheck(ids.len * sizeof(int));
    for (size_t i = 0; i < ids.len; i++) prompt_ids[i] = ids.ids[i];
    gpt2_generate(&m, &ops, prompt_ids, (int)ids.len, max_new, stop_at_eot ? tokenizer_eot(tok) : -1, &sp, &rng,
                  emit_to_stdout, tok);
    fputc('\n', stdout);
    free(prompt_ids);
    token_ids_free(&ids);
    gpt2_free(&m);
    ops_free(&ops);
    device_close(&dev);
    tokenizer_free(tok);
    return 0;
}
