// `gpt2cl eval`: loss, perplexity and bits per byte of a checkpoint over token shards or text files.
#include <cjson/cJSON.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/device_setup.h"
#include "cli/options.h"
#include "cli/or_die.h"
#include "model/weights_file.h"
#include "model/workspace.h"
#include "runtime/tune_apply.h"
#include "text/tokenizer.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/evaluate.h"
#include "util/util.h"

typedef struct {
    const char *checkpoint, *data, *text, *device;
    int verbose;
    char **inputs;  // the shard patterns or text files: the value of --data or --text, then the arguments after it
    int num_inputs;
} EvalArgs;

#define A(x) offsetof(EvalArgs, x)
static const Option eval_options[] = {
    {"--checkpoint", OPT_STRING, A(checkpoint), "F", "a file or folder", 0, 0,
     "model file, or the out_dir of a training run"},
    {"--data", OPT_STRING, A(data), "SHARDS...", "token shards", 0, 0,
     "llm.c token shards: files, glob patterns or folders (as train_data)"},
    {"--text", OPT_STRING, A(text), "FILE...", "a text file", 0, 0,
     "text files, each tokenized after an <|endoftext|>"},
    {"--verbose", OPT_FLAG, A(verbose), NULL, NULL, 0, 0, "print the device, model and tuning lines on stderr"},
    {"--device", OPT_STRING, A(device), "SEL", "an index or a name (see `gpt2cl devices`)", 0, 0, NULL},
};
#undef A
static const OptionTable eval_table = OPTION_TABLE("eval", eval_options, 17);

static void usage(FILE *f) {
    fprintf(f, "usage: gpt2cl eval --checkpoint FILE|DIR (--data SHARDS... | --text FILE...) [key=value ...]\n\n"
               "Loss (mean nats per token), perplexity = exp(loss) and bits per byte of a model over the whole\n"
               "input: every token after the first is scored once, in windows of seq_len tokens starting every\n"
               "stride tokens (the overlap is context only; the last window may be shorter).\n");
    options_print_help(&eval_table, f);
    fprintf(f, "keys:\n");
    config_print_command_keys(KEYS_EVAL, f);
    fprintf(f, "stdout: a human line, then one JSON line {\"loss\",\"perplexity\",\"bits_per_byte\",\"tokens\",\"bytes\",\n"
               "\"seconds\",\"tokens_per_s\"}. Bits per byte = total nats / ln 2 / UTF-8 bytes of the scored tokens\n"
               "(<|endoftext|> counts 0 bytes); null when the model's vocabulary has no tokenizer. A progress bar\n"
               "goes to stderr on a terminal.\n");
}

// Counts an option's occurrences: --data and --text each take one list.
static int occurrences(int argc, char **argv, const char *name) {
    int n = 0;
    for (int i = 1; i < argc; i++) n += !strcmp(argv[i], name);
    return n;
}

// Options and keys, in any order, into args and cfg; plain arguments continue --data's or --text's list.
// Returns 0 when --help printed the usage.
static int parse_args(int argc, char **argv, EvalArgs *args, Config *cfg) {
    config_defaults(cfg);
    if (occurrences(argc, argv, "--data") > 1 || occurrences(argc, argv, "--text") > 1)
        die("--data and --text each take one list: give the files after one of them");
    char **extra = mallocCheck((size_t)argc * sizeof(char *));
    int num_extra = 0;
    for (int i = 1; i < argc; i++) {
        i = options_parse(&eval_table, args, argc, argv, i);
        if (i < 0) {
            usage(stdout);
            free(extra);
            return 0;
        }
        if (i >= argc) break;
        if (strchr(argv[i], '=')) or_die(config_override(cfg, argv[i], KEYS_EVAL));
        else extra[num_extra++] = argv[i];
    }
    if (args->device) or_die(config_override_key(cfg, "device", args->device, KEYS_EVAL));
    if (!args->checkpoint) die("eval needs --checkpoint FILE or a run's out_dir (see `gpt2cl eval --help`)");
    if (args->data && args->text) die("give --data or --text, not both");
    if (!args->data && !args->text) die("eval needs --data SHARDS or --text FILE");
    args->inputs = mallocCheck(((size_t)num_extra + 1) * sizeof(char *));
    args->inputs[args->num_inputs++] = (char *)(args->data ? args->data : args->text);
    for (int k = 0; k < num_extra; k++) args->inputs[args->num_inputs++] = extra[k];
    free(extra);
    return 1;
}

// The tokenizer for bits per byte: --text needs one; for --data a model without one gets no bits per byte.
static Tokenizer *load_tokenizer(const Config *cfg, int vocab_size, int need) {
    Tokenizer *tok = NULL;
    Status s = tokenizer_load_for_model(cfg->tokenizer, vocab_size, &tok);
    if (s && (need || cfg->tokenizer[0])) or_die(s);
    if (s) warn("no bits per byte: %s", status_message());
    return s ? NULL : tok;
}

typedef struct {
    double t0, last;
    int tty;
} Progress;

static void show_progress(const EvalTotals *sofar, size_t total, void *ctx) {
    Progress *p = ctx;
    double now = now_seconds();
    int done = sofar->tokens >= total;
    if (!p->tty || (!done && now - p->last < 0.25)) return;
    p->last = now;
    double frac = total ? (double)sofar->tokens / (double)total : 1.0, dt = now - p->t0 > 1e-9 ? now - p->t0 : 1e-9;
    char bar[31];
    for (int i = 0; i < 30; i++) bar[i] = i < (int)(frac * 30) ? '#' : '.';
    bar[30] = '\0';
    fprintf(stderr, "\reval: [%s] %5.1f%% %zu/%zu tokens %8.0f tokens/s%s", bar, 100.0 * frac, sofar->tokens, total,
            (double)sofar->tokens / dt, done ? "\n" : "");
    fflush(stderr);
}

// The window length (seq_len, default the model's context; no longer than the n-1 targets need) and the stride.
static void window_shape(const Config *cfg, const GPT2Config *mc, size_t n, int *T, int *stride) {
    int t = config_is_set(cfg, "seq_len") ? cfg->seq_len : mc->max_seq_len;
    if (t > mc->max_seq_len) die("seq_len (%d) is larger than the model's context (block_size %d)", t, mc->max_seq_len);
    int s = cfg->stride ? cfg->stride : t;
    if (s > t) die("stride (%d) must not exceed the window length seq_len (%d)", s, t);
    if (n - 1 < (size_t)t) t = (int)(n - 1);  // one window covers the input: positions past it would be padding
    *T = t;
    *stride = s < t ? s : t;
}

static void print_results(const EvalTotals *r, size_t bytes, int have_bytes, double seconds) {
    double loss = r->nats / (double)r->tokens, ppl = exp(loss), bpb = r->nats / log(2.0) / (double)bytes;
    int bpb_ok = have_bytes && bytes > 0;
    printf("eval: loss %.6f | perplexity %.4f | bits per byte ", loss, ppl);
    if (bpb_ok) printf("%.6f", bpb);
    else printf("n/a");
    printf(" | %zu tokens", r->tokens);
    if (have_bytes) printf(", %zu bytes", bytes);
    printf(" | %.2f s, %.0f tokens/s\n", seconds, (double)r->tokens / seconds);
    cJSON *o = cJSON_CreateObject();
    if (!o) out_of_memory("for the eval result");
    cJSON_AddNumberToObject(o, "loss", loss);
    cJSON_AddNumberToObject(o, "perplexity", ppl);
    if (bpb_ok) cJSON_AddNumberToObject(o, "bits_per_byte", bpb);
    else cJSON_AddNullToObject(o, "bits_per_byte");
    cJSON_AddNumberToObject(o, "tokens", (double)r->tokens);
    if (have_bytes) cJSON_AddNumberToObject(o, "bytes", (double)bytes);
    else cJSON_AddNullToObject(o, "bytes");
    cJSON_AddNumberToObject(o, "seconds", seconds);
    cJSON_AddNumberToObject(o, "tokens_per_s", (double)r->tokens / seconds);
    char *json = cJSON_PrintUnformatted(o);
    if (!json) out_of_memory("for the eval result");
    printf("%s\n", json);
    cJSON_free(json);
    cJSON_Delete(o);
}

// The input's tokens: the shards' or the text files' (after an <|endoftext|> each).
static TokenIds read_input(const EvalArgs *args, Tokenizer *tok, int vocab_size) {
    TokenIds ids = {0};
    if (args->data) or_die(eval_read_shards(args->inputs, args->num_inputs, vocab_size, &ids));
    else or_die(eval_read_texts(args->inputs, args->num_inputs, tok, &ids));
    if (ids.len < 2)
        die("nothing to evaluate: the input has %zu token(s), at least 2 are needed (is the text empty?)", ids.len);
    return ids;
}

int cmd_eval(int argc, char **argv) {
    EvalArgs args = {0};
    Config cfg;
    if (!parse_args(argc, argv, &args, &cfg)) return 0;
    char path[1024];
    or_die(checkpoint_model_path(args.checkpoint, path, sizeof path));
    GPT2Config mc;
    or_die(checkpoint_read_config(path, &mc));
    Tokenizer *tok = load_tokenizer(&cfg, mc.vocab_size, args.text != NULL);
    TokenIds ids = read_input(&args, tok, mc.vocab_size);
    size_t bytes = tok ? eval_scored_bytes(tok, ids.ids, ids.len) : 0;
    int T, stride;
    window_shape(&cfg, &mc, ids.len, &T, &stride);
    size_t windows = eval_num_windows(ids.len, T, stride);
    int B = (size_t)cfg.batch_size < windows ? cfg.batch_size : (int)windows;

    Device dev;
    Ops ops;
    open_device_quietly(&dev, &ops, cfg.device, path, args.verbose);
    GPT2 m;
    or_die(gpt2_create(&m, &mc, &dev));
    Workspace ws;
    or_die(workspace_create(&ws, &m, B, T, WS_FORWARD));
    or_die(gpt2_load_checkpoint(&m, path));
    Progress prog = {.t0 = now_seconds(), .tty = isatty(2)};
    EvalTotals r;
    or_die(evaluate_tokens(&m, &ws, &ops, ids.ids, ids.len, stride, show_progress, &prog, &r));
    double seconds = now_seconds() - prog.t0;
    print_results(&r, bytes, tok != NULL, seconds > 1e-9 ? seconds : 1e-9);
    token_ids_free(&ids);
    workspace_free(&ws);
    gpt2_free(&m);
    ops_free(&ops);
    device_close(&dev);
    if (tok) tokenizer_free(tok);
    free(args.inputs);
    return 0;
}
