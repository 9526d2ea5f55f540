// `gpt2cl sample`: generate text from a checkpoint, streaming tokens to stdout.
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/device_setup.h"
#include "cli/options.h"
#include "cli/or_die.h"
#include "model/beam_search.h"
#include "model/generate.h"
#include "model/weights_file.h"
#include "model/workspace.h"
#include "runtime/tune_apply.h"
#include "text/tokenizer.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "util/util.h"

typedef struct {
    const char *checkpoint, *prompt, *prompt_file, *device;
    int verbose;
} SampleArgs;

#define A(x) offsetof(SampleArgs, x)
static const Option sample_options[] = {
    {"--checkpoint", OPT_STRING, A(checkpoint), "F", "a file or folder", 0, 0,
     "model file or folder (llm.c, Hugging Face), or the out_dir of a training run"},
    {"--prompt", OPT_STRING, A(prompt), "TEXT", "a text", 0, 0, "text to continue; empty = start after <|endoftext|>"},
    {"--prompt-file", OPT_STRING, A(prompt_file), "F", "a file", 0, 0, "read the prompt from file F (- = stdin)"},
    {"--verbose", OPT_FLAG, A(verbose), NULL, NULL, 0, 0,
     "print the device, model and tuning lines, the prompt's length and the generation rate on stderr"},
    // device=SEL, which the help lists with the keys
    {"--device", OPT_STRING, A(device), "SEL", "an index or a name (see `gpt2cl devices`)", 0, 0, NULL},
};
#undef A
static const OptionTable sample_table = OPTION_TABLE("sample", sample_options, 17);

static void usage(FILE *f) {
    fprintf(f, "usage: gpt2cl sample --checkpoint FILE|DIR [--prompt TEXT | --prompt-file F] [key=value ...]\n\n"
               "Generates text from a model: an llm.c checkpoint (fp32 or bf16; a run's out_dir means its latest\n"
               "checkpoint), a Hugging Face GPT-2 folder (config.json + model.safetensors) or a .safetensors file.\n"
               "The prompt is printed, then each token as it is produced. With the KV cache (default) the\n"
               "prompt is processed once and each new token costs one single-position forward; past the\n"
               "model's context the cache keeps its last half and goes on (kv_cache=0 slides the window by\n"
               "one token instead, recomputing it for every token). A prompt longer than the context is an\n"
               "error. num_samples=N prints N samples (each after its own '--- sample i' line) from one\n"
               "batch; beams=N prints the best of a beam search (temperature, top_k, top_p unused; its\n"
               "hypotheses with their scores go to stderr with --verbose).\n");
    options_print_help(&sample_table, f);
    fprintf(f, "keys:\n");
    config_print_command_keys(KEYS_SAMPLE, f);
    fprintf(f, "Each key may be given once. stdout holds only the text; --verbose's lines go to stderr.\n");
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

// Standard input to its end, as a NUL-terminated text.
static char *read_stdin(size_t *len) {
    size_t cap = 4096, n = 0;
    char *buf = mallocCheck(cap);
    for (size_t got; (got = fread(buf + n, 1, cap - 1 - n, stdin)) > 0;) {
        n += got;
        if (n + 1 == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            if (!buf) out_of_memory("reading the prompt from stdin");
        }
    }
    if (ferror(stdin)) die("cannot read the prompt from stdin: %s", strerror(errno));
    buf[n] = 0;
    *len = n;
    return buf;
}

// The prompt's text (to free): --prompt, or --prompt-file's contents (- = stdin).
static char *prompt_text(const SampleArgs *args, size_t *len) {
    if (!args->prompt_file) {
        *len = strlen(args->prompt);
        return strdup_check(args->prompt);
    }
    if (*args->prompt) die("give --prompt or --prompt-file, not both");
    if (strcmp(args->prompt_file, "-") == 0) return read_stdin(len);
    char *text;
    or_die(read_user_file(args->prompt_file, "prompt file", &text, len));
    return text;
}

// The prompt's tokens (at most the model's context); an empty prompt starts after <|endoftext|>.
static TokenIds prompt_tokens(Tokenizer *tok, const char *prompt, size_t len, int context) {
    TokenIds ids = {0};
    if (len) or_die(tokenizer_encode(tok, prompt, len, &ids, NULL));
    else token_ids_push(&ids, tokenizer_eot(tok));
    if (ids.len > (size_t)context)
        die("the prompt has %zu tokens, more than the model's context of %d", ids.len, context);
    return ids;
}

// Generation keys that cannot work together or with this model.
static void check_generation_keys(const Config *cfg, const GPT2Config *mc) {
    if (cfg->beams > 1 && cfg->num_samples > 1) die("beams and num_samples do not combine: give one of them");
    if (cfg->beams > 1 && !cfg->kv_cache) die("beams needs kv_cache = 1");
    if (2 * cfg->beams > mc->vocab_size)
        die("beams = %d needs a vocabulary of at least %d tokens (the model has %d)", cfg->beams, 2 * cfg->beams,
            mc->vocab_size);
}

typedef struct {
    Tokenizer *tok;
    TokenIds *rows;  // num_samples > 1: each sample's tokens, printed at the end
    int row;         // the recompute path's sample in progress
    long emitted;    // tokens generated, all samples together
} Output;

static void write_token(const Tokenizer *tok, int token) {
    size_t len;
    const unsigned char *b = tokenizer_decode(tok, token, &len);
    if (b) fwrite(b, 1, len, stdout);
}

// One sample streams its tokens; several collect theirs.
static void emit_row(int row, int token, void *ctx) {
    Output *out = ctx;
    out->emitted++;
    if (out->rows) {
        token_ids_push(&out->rows[row], token);
        return;
    }
    write_token(out->tok, token);
    fflush(stdout);
}

static void emit_current_row(int token, void *out) { emit_row(((Output *)out)->row, token, out); }

static void sampler_params(const Config *cfg, SamplerParams *sp) {
    *sp = (SamplerParams){.temperature = (float)cfg->temperature, .top_k = cfg->top_k, .top_p = (float)cfg->top_p};
    if (cfg->greedy) sp->temperature = 0.0f;
}

// The recompute path (kv_cache = 0): each sample in turn, one forward over the window per token.
static Status generate_recompute(GPT2 *m, Ops *ops, const int *ids, int n, const GenerateParams *g, Output *out) {
    int ctx = n + g->max_new;
    Workspace ws;
    TRY(workspace_create(&ws, m, 1, ctx < m->config.max_seq_len ? ctx : m->config.max_seq_len, WS_FORWARD));
    Status s = STATUS_OK;
    for (int i = 0; i < g->num_samples && !s; i++) {
        Rng rng;
        rng_seed(&rng, g->seed + (uint64_t)i);
        out->row = i;
        s = gpt2_generate(m, &ws, ops, ids, n, g->max_new, g->stop_token, &g->sampler, &rng, emit_current_row, out);
    }
    workspace_free(&ws);
    return s;
}

// Beam search: the best hypothesis to stdout, all of them with their scores to stderr with verbose.
static Status generate_beams(GPT2 *m, Ops *ops, const int *ids, int n, const GenerateParams *g, const Config *cfg,
                             Output *out, int verbose) {
    BeamParams bp = {.num_beams = cfg->beams, .max_new = g->max_new, .stop_token = g->stop_token,
                     .length_penalty = cfg->length_penalty};
    if (g->max_new == 0) return STATUS_OK;
    BeamResult r;
    Status s = gpt2_beam_search(m, ops, ids, n, &bp, &r);
    for (int h = 0; !s && h < r.n; h++) {
        if (verbose) fprintf(stderr, "beam %d: score %.6f, %d tokens\n", h, r.score[h], r.len[h]);
        for (int i = 0; h == 0 && i < r.len[h]; i++) write_token(out->tok, r.tokens[(size_t)h * bp.max_new + i]);
    }
    out->emitted = r.n ? r.len[0] : 0;
    beam_result_free(&r);
    return s;
}

// Generates as the keys say and writes the text to stdout.
static void generate_text(GPT2 *m, Ops *ops, Tokenizer *tok, const TokenIds *ids, const char *prompt, size_t len,
                          const Config *cfg, int verbose) {
    GenerateParams g = {.max_new = cfg->max_new_tokens, .stop_token = cfg->stop_at_eot ? tokenizer_eot(tok) : -1,
                        .num_samples = cfg->num_samples, .seed = (uint64_t)cfg->seed};
    sampler_params(cfg, &g.sampler);
    int *prompt_ids = mallocCheck(ids->len * sizeof(int));
    for (size_t i = 0; i < ids->len; i++) prompt_ids[i] = ids->ids[i];
    Output out = {.tok = tok, .rows = g.num_samples > 1 ? callocCheck((size_t)g.num_samples, sizeof(TokenIds)) : NULL};
    if (!out.rows) fwrite(prompt, 1, len, stdout);
    if (verbose) fprintf(stderr, "prompt: %zu tokens\n", ids->len);
    double t0 = now_seconds();
    Status s;
    if (cfg->beams > 1) s = generate_beams(m, ops, prompt_ids, (int)ids->len, &g, cfg, &out, verbose);
    else if (cfg->kv_cache) s = gpt2_generate_cached(m, ops, prompt_ids, (int)ids->len, &g, emit_row, &out);
    else s = generate_recompute(m, ops, prompt_ids, (int)ids->len, &g, &out);
    double dt = now_seconds() - t0;
    if (verbose && !s)
        fprintf(stderr, "generated %ld tokens in %.3f s (%.2f tokens/s, the prompt's processing included)\n",
                out.emitted, dt, dt > 0 ? out.emitted / dt : 0.0);
    for (int i = 0; out.rows && !s && i < g.num_samples; i++) {
        printf("--- sample %d\n", i);
        fwrite(prompt, 1, len, stdout);
        for (size_t j = 0; j < out.rows[i].len; j++) write_token(tok, out.rows[i].ids[j]);
        fputc('\n', stdout);
    }
    if (!out.rows) fputc('\n', stdout);
    or_die(s);
    for (int i = 0; out.rows && i < g.num_samples; i++) token_ids_free(&out.rows[i]);
    free(out.rows);
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
    check_generation_keys(&cfg, &mc);
    Tokenizer *tok;
    or_die(tokenizer_load_for_model(cfg.tokenizer, mc.vocab_size, &tok));
    size_t len;
    char *prompt = prompt_text(&args, &len);
    TokenIds ids = prompt_tokens(tok, prompt, len, mc.max_seq_len);

    Device dev;
    Ops ops;
    open_device_quietly(&dev, &ops, cfg.device, path, args.verbose);
    GPT2 m;
    or_die(gpt2_create(&m, &mc, &dev));
    or_die(gpt2_load_checkpoint(&m, path));
    generate_text(&m, &ops, tok, &ids, prompt, len, &cfg, args.verbose);
    token_ids_free(&ids);
    free(prompt);
    gpt2_free(&m);
    ops_free(&ops);
    device_close(&dev);
    tokenizer_free(tok);
    return 0;
}
