// `gpt2cl sample`: generate text from a checkpoint, streaming tokens to stdout.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "checkpoint.h"
#include "commands.h"
#include "generate.h"
#include "tokenizer.h"
#include "tune.h"
#include "util.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: gpt2cl sample --checkpoint FILE|DIR [--prompt TEXT] [key=value ...]\n\n"
            "Generates text from an llm.c fp32 checkpoint (a run's out_dir means its latest checkpoint).\n"
            "The prompt is printed, then each token as it is produced.\n"
            "  --checkpoint F    model file, or the out_dir of a training run\n"
            "  --prompt TEXT     text to continue; empty = start after <|endoftext|>\n"
            "keys:\n"
            "  max_new_tokens=N  tokens to generate (default 200)\n"
            "  temperature=X     softmax temperature (default 1.0); 0 = greedy\n"
            "  top_k=N           keep the N most likely tokens (default 0 = all)\n"
            "  top_p=X           keep the smallest set with probability >= X (default 1.0 = all)\n"
            "  greedy=1          always take the most likely token\n"
            "  seed=N            sampling seed (default 1337)\n"
            "  tokenizer=SPEC    gpt2 | byte | PATH (default: from the vocabulary size: 257 byte, 50257 gpt2)\n"
            "  device=SEL        OpenCL device index or name substring (also --device SEL)\n"
            "  stop_at_eot=0|1   stop at <|endoftext|> (default 1)\n");
}

static double parse_num(const char *key, const char *v, double lo, double hi) {
    char *end;
    double x = strtod(v, &end);
    if (!*v || *end || x < lo || x > hi) die("%s: '%s' is not a number in [%g, %g]", key, v, lo, hi);
    return x;
}

int cmd_sample(int argc, char **argv) {
    const char *checkpoint = NULL, *prompt = "", *tokenizer_spec = NULL, *device = "";
    SamplerParams sp = {.temperature = 1.0f, .top_k = 0, .top_p = 1.0f};
    int max_new = 200, stop_at_eot = 1;
    long long seed = 1337;
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
            device = argv[i];
        } else if (!strcmp(a, "--prompt")) {
            if (++i >= argc) die("--prompt needs a text");
            prompt = argv[i];
        } else if (a[0] == '-') {
            die("unknown option '%s' (see `gpt2cl sample --help`)", a);
        } else {
            const char *eq = strchr(a, '=');
            if (!eq) die("expected key=value, got '%s'", a);
            size_t n = (size_t)(eq - a);
            const char *v = eq + 1;
#define KEY(name) (n == strlen(name) && !strncmp(a, name, n))
            if (KEY("max_new_tokens")) max_new = (int)parse_num("max_new_tokens", v, 0, 1e7);
            else if (KEY("temperature")) sp.temperature = (float)parse_num("temperature", v, 0, 100);
            else if (KEY("top_k")) sp.top_k = (int)parse_num("top_k", v, 0, 1e7);
            else if (KEY("top_p")) sp.top_p = (float)parse_num("top_p", v, 1e-6, 1);
            else if (KEY("greedy")) sp.temperature = parse_num("greedy", v, 0, 1) ? 0.0f : sp.temperature;
            else if (KEY("seed")) seed = (long long)parse_num("seed", v, 0, 9e15);
            else if (KEY("tokenizer")) tokenizer_spec = v;
            else if (KEY("device")) device = v;
            else if (KEY("stop_at_eot")) stop_at_eot = (int)parse_num("stop_at_eot", v, 0, 1);
            else die("unknown key '%.*s' (see `gpt2cl sample --help`)", (int)n, a);
#undef KEY
        }
    }
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
    checkpoint_read_config(path, &mc);
    Tokenizer *tok = tokenizer_load_for_model(tokenizer_spec, mc.vocab_size);
    TokenIds ids = {0};
    if (*prompt) tokenizer_encode(tok, prompt, strlen(prompt), &ids);
    else token_ids_push(&ids, tokenizer_eot(tok));

    Device dev;
    device_open(&dev, device, 0);
    fprintf(stderr, "device: %d: %s; model: %s\n", dev.index, dev.name, path);
    KernelParams kp = tune_apply(&dev, TUNE_DATABASE, stderr);
    Ops ops;
    ops_init(&ops, &dev, &kp);
    tune_apply_gemm_cl(&dev, &ops);
    GPT2 m;
    gpt2_create(&m, &mc, &dev);
    int ctx = (int)ids.len + max_new;
    gpt2_alloc_activations(&m, 1, ctx < mc.max_seq_len ? (ctx < 1 ? 1 : ctx) : mc.max_seq_len);
    gpt2_load_checkpoint(&m, path);
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
