#include "train/config.h"

#include <ini.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "util/parse_num.h"
#include "util/util.h"

const char *data_order_name(int order) {
    static const char *const names[] = {[DATA_SHUFFLE] = "shuffle", [DATA_SEQUENTIAL] = "sequential"};
    return order >= 0 && order < (int)(sizeof names / sizeof names[0]) ? names[order] : NULL;
}

const char *task_name(int task) {
    static const char *const names[] = {[TASK_LM] = "lm", [TASK_SFT] = "sft", [TASK_CLASSIFY] = "classify"};
    return task >= 0 && task < (int)(sizeof names / sizeof names[0]) ? names[task] : NULL;
}

typedef enum { T_INT, T_LONG, T_FLOAT, T_STR, T_PATH, T_ENUM, T_BOOL } KeyType;  // T_PATH: ~ and $DATA expanded; T_BOOL: true|false into an int

typedef struct {
    const char *name;
    KeyType type;
    size_t offset;
    const char *def;       // default, as text
    double min, max;       // inclusive range for numbers
    // T_ENUM: the name of each value (NULL past the last), from the table that
    // owns the names; the field holds the value's index
    const char *(*choice)(int);
    const char *help;      // the key reference of train, bench and tune; NULL: not a key of theirs
} Key;

#define F(x) offsetof(Config, x)
static const Key keys[] = {
    // model (ignored in favour of the checkpoint's shape when init_from is set)
    {"n_layer", T_INT, F(n_layer), "4", 1, 4096, NULL, "number of transformer blocks L"},
    {"n_head", T_INT, F(n_head), "4", 1, 4096, NULL, "attention heads per block; must divide n_embd"},
    {"n_embd", T_INT, F(n_embd), "128", 1, 65536, NULL, "channels C"},
    {"block_size", T_INT, F(block_size), "256", 1, 1 << 20, NULL, "maximum sequence length (position embeddings)"},
    {"vocab_size", T_INT, F(vocab_size), "50257", 2, 65536, NULL,
     "vocabulary size V; padded to a multiple of 128 on the device"},
    // batch
    {"batch_size", T_INT, F(batch_size), "8", 1, 1 << 20, NULL, "sequences per micro-batch B"},
    {"seq_len", T_INT, F(seq_len), "64", 1, 1 << 20, NULL, "tokens per sequence T (<= block_size)"},
    {"grad_accum", T_INT, F(grad_accum), "1", 1, 1 << 20, NULL, "micro-batches per optimizer step"},
    {"steps", T_INT, F(steps), "100", 1, 1 << 30, NULL, "optimizer steps to run"},
    // optimizer
    {"optimizer", T_ENUM, F(optimizer), "adamw", 0, 0, optimizer_name,
     "optimizer (update rules: README, Optimizers and measurements)"},
    {"lr", T_FLOAT, F(lr), "6e-4", 0, 10, NULL, "peak learning rate"},
    {"min_lr", T_FLOAT, F(min_lr), "0", 0, 10, NULL, "final learning rate of the cosine / linear decay"},
    {"warmup_steps", T_INT, F(warmup_steps), "0", 0, 1 << 30, NULL,
     "linear warmup steps (step 1 uses lr/warmup_steps); 0 = none"},
    {"schedule", T_ENUM, F(schedule), "cosine", 0, 0, schedule_name,
     "learning-rate schedule after warmup (trapezoid: constant, then linear to min_lr over cooldown_frac)"},
    {"weight_decay", T_FLOAT, F(weight_decay), "0.1", 0, 10, NULL,
     "decoupled weight decay, applied to matrices and embeddings only"},
    {"beta1", T_FLOAT, F(beta1), "0.9", 0, 0.999999, NULL, "AdamW first-moment decay"},
    {"beta2", T_FLOAT, F(beta2), "0.95", 0, 0.999999, NULL,
     "AdamW second-moment decay; Lion momentum decay (lion, liona, lionar: 0.99 unless set)"},
    {"eps", T_FLOAT, F(eps), "1e-8", 0, 1, NULL, "AdamW epsilon, added after the square root"},
    {"grad_clip", T_FLOAT, F(grad_clip), "1.0", 0, 1e30, NULL, "global gradient-norm clip; 0 = off"},
    {"diverge_loss", T_FLOAT, F(diverge_loss), "0", 0, 1e30, NULL,
     "a training loss above this ends the run as diverged, as a NaN loss does; 0 = only a non-finite loss"},
    // optimizer variants and measurements
    {"warmup_frac", T_FLOAT, F(warmup_frac), "0", 0, 1, NULL,
     "warmup as a fraction of steps (instead of warmup_steps); 0 = use warmup_steps"},
    {"cooldown_frac", T_FLOAT, F(cooldown_frac), "0.5", 0, 1, NULL,
     "trapezoid schedule: fraction of steps at the end spent decaying linearly to min_lr"},
    {"adamw_bias_correction1", T_BOOL, F(adamw_bias_correction1), "true", 0, 0, NULL,
     "adamw: divide the first moment by 1-beta1^t (false: the paper's ablation, first step (1-beta1) smaller)"},
    {"liona_kappa", T_FLOAT, F(liona_kappa), "0.22941573", 0, 100, NULL,
     "liona and lionar's vector tensors: update = kappa*sign(c); default sqrt(0.1/1.9), AdamW's update RMS"},
    {"lionar_angle", T_STR, F(lionar_angle), "lion", 0, 0, NULL,
     "lionar angular step per step: lion|adamw|simple equilibrium forms, or a number of radians (x sqrt(s_t))"},
    {"lionar_zero_mean", T_BOOL, F(lionar_zero_mean), "false", 0, 0, NULL,
     "lionar/rv_adamw: make rows zero-mean at step 1 and remove the mean of each row's direction"},
    {"nesterov", T_BOOL, F(nesterov), "false", 0, 0, NULL,
     "lion/liona/lionar: Nesterov momentum with `beta` (m <- beta m + (1-beta) g; c = beta m + (1-beta) g)"},
    {"beta", T_FLOAT, F(beta), "0.98", 0, 0.999999, NULL, "momentum of nesterov and of inverse_bias_correction"},
    {"inverse_bias_correction", T_ENUM, F(inverse_bias_correction), "off", 0, 0, ibc_name,
     "lionar/rv_adamw: scale the angle by 1-beta^t (linear) or sqrt(1-beta^2t) (sqrt)"},
    {"rrc_correction", T_BOOL, F(rrc_correction), "false", 0, 0, NULL,
     "lionar/rv_adamw: scale the angle per tensor by sqrt((1+phi)/(1+B*phi)), phi the gradient SNR (grad_accum>=2)"},
    {"metrics_every", T_INT, F(metrics_every), "0", 0, 1 << 30, NULL,
     "measure update sizes (l2, angle, rrc, snr, cos_gm) every N steps into the log; 0 = off, no cost"},
    {"snr_ema", T_FLOAT, F(snr_ema), "0.9", 0, 0.999999, NULL, "EMA decay of the gradient signal and noise estimates"},
    {"seed", T_LONG, F(seed), "1337", 0, 9.2e18, NULL, "seed of the initialisation, the data order and the samples"},
    // task and fine-tuning
    {"task", T_ENUM, F(task), "lm", 0, 0, task_name,
     "what to train: lm (next token, every token), sft (supervised fine-tuning: the loss is the mean over the "
     "tokens the shards' loss masks mark, from `gpt2cl prepare --format sft`; validation too) or classify (a "
     "classification head on labelled JSONL train_data / val_data: README, Sequence classification)"},
    {"freeze", T_STR, F(freeze), "", 0, 0, NULL,
     "parameters that do not train: a list of embeddings (wte, also the tied LM head), positions (wpe), "
     "layers:A-B (blocks A..B from 0), all_but_head (all but the head: classify's, or the final LayerNorm) and tensor names (qkvw, ...); "
     "empty = none"},
    // data
    {"train_data", T_PATH, F(train_data), "", 0, 0, NULL,
     "training token shards (llm.c format): a file, a glob pattern or a folder (required); task = classify: a "
     "JSONL file of {\"text\", \"label\"}"},
    {"val_data", T_PATH, F(val_data), "", 0, 0, NULL, "validation token shards, as train_data; empty = no validation"},
    {"data_order", T_ENUM, F(data_order), "shuffle", 0, 0, data_order_name,
     "training batches: shuffle (seeded random shard order per epoch and random windows) or sequential; "
     "validation always reads from the start in order"},
    {"val_every", T_INT, F(val_every), "0", 0, 1 << 30, NULL,
     "validate every N steps and at the end; 0 = only at the end (when val_data is set)"},
    {"val_steps", T_INT, F(val_steps), "10", 1, 1 << 30, NULL, "micro-batches per validation"},
    // samples during training
    {"sample_every", T_INT, F(sample_every), "0", 0, 1 << 30, NULL,
     "print a short sample from the model every N steps and at the end; 0 = never"},
    {"sample_tokens", T_INT, F(sample_tokens), "64", 1, 1 << 20, NULL, "tokens per sample"},
    {"tokenizer", T_STR, F(tokenizer), "", 0, 0, NULL,
     "tokenizer of the samples: gpt2 | byte | a .tiktoken or encoder.json path; empty = from vocab_size "
     "(257 byte, 50257 gpt2)"},
    // checkpoints and output
    {"init_from", T_PATH, F(init_from), "", 0, 0, NULL,
     "model to start from: llm.c checkpoint (fp32/bf16), Hugging Face GPT-2 folder or .safetensors (its shape "
     "overrides the model keys); empty = random init"},
    {"out_dir", T_PATH, F(out_dir), "", 0, 0, NULL,
     "folder for checkpoints, resume state and config copy; empty = no checkpoints"},
    {"checkpoint_every", T_INT, F(checkpoint_every), "0", 0, 1 << 30, NULL,
     "write a checkpoint every N steps (and at the end); 0 = only at the end (needs out_dir)"},
    {"device", T_STR, F(device), "", 0, 0, NULL,
     "OpenCL device: index or name substring (see `gpt2cl devices`); empty = first GPU, else first device; "
     "under mpirun a list SEL,SEL,... gives the ranks of a node one each, and empty spreads them over its GPUs"},
    {"balance", T_STR, F(balance), "equal", 0, 0, NULL,
     "under mpirun: each rank's share of batch_size, equal or one weight per rank (3,1); the optimisation is "
     "the same whatever the split"},
    {"zero", T_INT, F(zero), "0", 0, 1, NULL,
     "under mpirun: 1 = ZeRO-1, each rank keeps and updates 1/N of the optimizer state, and the parameters are "
     "all-gathered after each update"},
    {"log", T_PATH, F(log), "", 0, 0, NULL,
     "JSONL metrics file (one object per step and per validation): created, or appended to if it is a gpt2cl log"},
    // generation by `gpt2cl sample` (command_keys below: the keys it accepts)
    {"max_new_tokens", T_INT, F(max_new_tokens), "200", 0, 1e7, NULL, NULL},
    {"temperature", T_FLOAT, F(temperature), "1.0", 0, 100, NULL, NULL},
    {"top_k", T_INT, F(top_k), "0", 0, 1e7, NULL, NULL},
    {"top_p", T_FLOAT, F(top_p), "1.0", 1e-6, 1, NULL, NULL},
    {"greedy", T_BOOL, F(greedy), "false", 0, 0, NULL, NULL},
    {"stop_at_eot", T_BOOL, F(stop_at_eot), "true", 0, 0, NULL, NULL},
    {"kv_cache", T_BOOL, F(kv_cache), "true", 0, 0, NULL, NULL},
    {"num_samples", T_INT, F(num_samples), "1", 1, 64, NULL, NULL},
    {"beams", T_INT, F(beams), "1", 1, 64, NULL, NULL},
    {"length_penalty", T_FLOAT, F(length_penalty), "1.0", -10, 10, NULL, NULL},
    // evaluation by `gpt2cl eval` (command_keys below)
    {"stride", T_INT, F(stride), "0", 0, 1 << 20, NULL, NULL},
};
#undef F
#define NUM_KEYS ((int)(sizeof keys / sizeof keys[0]))
_Static_assert(sizeof keys / sizeof keys[0] <= sizeof(((Config *)0)->set), "Config.set too small");
_Static_assert(sizeof(((Config *)0)->set) == sizeof(((Config *)0)->overridden), "Config.overridden too small");

// The keys of the commands that take a few of them (sample, eval), in the order of their help: the
// argument and meaning shown there, and which commands accept each (bits 1 << KEYS_SAMPLE, ...).
#define SAMPLE (1 << KEYS_SAMPLE)
#define EVAL (1 << KEYS_EVAL)
static const struct {
    const char *name, *arg, *help;
    int users;
} command_keys[] = {
    {"stride", "N", "new tokens scored per window (default 0 = the window length: no overlap)", EVAL},
    {"seq_len", "T", "window length (default: the model's context, block_size)", EVAL},
    {"batch_size", "B", "windows per forward pass (default 8)", EVAL},
    {"max_new_tokens", "N", "tokens to generate (default 200)", SAMPLE},
    {"temperature", "X", "softmax temperature (default 1.0); 0 = greedy", SAMPLE},
    {"top_k", "N", "keep the N most likely tokens (default 0 = all)", SAMPLE},
    {"top_p", "X", "keep the smallest set with probability >= X (default 1.0 = all)", SAMPLE},
    {"greedy", "0|1", "1: always take the most likely token", SAMPLE},
    {"seed", "N", "sampling seed (default 1337)", SAMPLE},
    {"tokenizer", "SPEC", "gpt2 | byte | PATH (default: from the vocabulary size: 257 byte, 50257 gpt2)",
     SAMPLE | EVAL},
    {"device", "SEL", "OpenCL device index or name substring (also --device SEL)", SAMPLE | EVAL},
    {"stop_at_eot", "0|1", "stop at <|endoftext|> (default 1)", SAMPLE},
    {"kv_cache", "0|1", "keep keys and values of past tokens (default 1); 0 = recompute the window per token",
     SAMPLE},
    {"num_samples", "N", "N independent samples in one batch, sample i seeded seed+i (default 1, at most 64)",
     SAMPLE},
    {"beams", "N", "beam search with N beams (default 1 = off), printing the best; at most 64", SAMPLE},
    {"length_penalty", "X", "beam score = sum of log-probs / length^X (default 1.0)", SAMPLE},
};
#undef SAMPLE
#undef EVAL
#define NUM_COMMAND_KEYS ((int)(sizeof command_keys / sizeof command_keys[0]))

_Static_assert(sizeof(OptimizerId) == sizeof(int) && sizeof(ScheduleKind) == sizeof(int) &&
                   sizeof(InverseBiasCorrection) == sizeof(int) && sizeof(DataOrder) == sizeof(int) &&
                   sizeof(Task) == sizeof(int),
               "T_ENUM fields are written as int");

// The key named by the n characters at name, whoever accepts it.
static const Key *find_key(const char *name, size_t n, int *index) {
    for (int i = 0; i < NUM_KEYS; i++)
        if (strlen(keys[i].name) == n && strncmp(keys[i].name, name, n) == 0) {
            if (index) *index = i;
            return &keys[i];
        }
    return NULL;
}

static int accepts(const Key *k, KeyUser user) {
    if (user == KEYS_RUN) return k->help != NULL;
    for (int i = 0; i < NUM_COMMAND_KEYS; i++)
        if (strcmp(command_keys[i].name, k->name) == 0) return (command_keys[i].users >> user) & 1;
    return 0;
}

// The names of an enum's values joined by sep: "a|b|c".
static const char *join_choices(const char *(*choice)(int), const char *sep, char *out, size_t n) {
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; choice(i) && used < n; i++)
        used += (size_t)snprintf(out + used, n - used, "%s%s", i ? sep : "", choice(i));
    return out;
}

// Parses value into the key's field. On failure writes a reason to err and returns 0.
static int set_value(Config *c, const Key *k, const char *value, char *err, size_t errn) {
    char *field = (char *)c + k->offset;
    char why[400];
    switch (k->type) {
        case T_INT:
        case T_LONG: {
            long long v;
            if (!parse_integer(value, (long long)k->min, (long long)k->max, &v, why, sizeof why)) {
                snprintf(err, errn, "%s: %s", k->name, why);
                return 0;
            }
            if (k->type == T_INT) *(int *)field = (int)v;
            else *(long long *)field = v;
            return 1;
        }
        case T_FLOAT:
            if (!parse_double(value, k->min, k->max, (double *)field, why, sizeof why)) {
                snprintf(err, errn, "%s: %s", k->name, why);
                return 0;
            }
            return 1;
        case T_BOOL:
            if (!parse_bool(value, (int *)field, why, sizeof why)) {
                snprintf(err, errn, "%s: %s", k->name, why);
                return 0;
            }
            return 1;
        case T_ENUM:
            for (int i = 0; k->choice(i); i++)
                if (strcmp(k->choice(i), value) == 0) {
                    *(int *)field = i;
                    return 1;
                }
            snprintf(err, errn, "%s: '%s' is not one of %s", k->name, value,
                     join_choices(k->choice, "|", why, sizeof why));
            return 0;
        case T_STR:
        case T_PATH: {
            // Saved as "key = value", a leading ';' would read back as a comment (and the value as empty).
            if (value[0] == ';') {
                snprintf(err, errn, "%s: a value may not start with ';'", k->name);
                return 0;
            }
            char *v;
            if (k->type != T_PATH) v = strdup_check(value);
            else if (expand_path(value, &v)) {
                snprintf(err, errn, "%s", status_message());
                return 0;
            }
            size_t n = strlen(v);
            if (n >= CONFIG_STR) snprintf(err, errn, "%s: value longer than %d characters", k->name, CONFIG_STR - 1);
            else memcpy(field, v, n + 1);
            free(v);
            return n < CONFIG_STR;
        }
    }
    return 0;
}

void config_defaults(Config *c) {
    memset(c, 0, sizeof *c);
    char err[1024];
    for (int i = 0; i < NUM_KEYS; i++)
        if (!set_value(c, &keys[i], keys[i].def, err, sizeof err) && keys[i].def[0] != '\0')
            internal_error("bad default for %s", err);
    for (int i = 0; i < NUM_COMMAND_KEYS; i++)
        if (!find_key(command_keys[i].name, strlen(command_keys[i].name), NULL))
            internal_error("command key %s is not in the key table", command_keys[i].name);
}

// Lines longer than this are an error (naming the line) rather than being
// split, which would turn the tail of a long comment into a live setting.
#define CONFIG_LINE_MAX 65536

typedef struct {
    Config *c;
    const char *text;
    size_t len, pos;
    int line;            // the line the reader handed out last
    int line_of[sizeof keys / sizeof keys[0]];  // where each key was set in this file (0: not yet)
    int err_line;
    char err[700];
} ParseState;

static void parse_error(ParseState *st, const char *msg) {
    if (st->err[0]) return;  // keep only the first error
    st->err_line = st->line;
    snprintf(st->err, sizeof st->err, "%s", msg);
}

// ini_parse_stream's reader: one whole line per call, never a piece of one.
static char *next_line(char *str, int num, void *stream) {
    ParseState *st = stream;
    if (st->err[0] || st->pos >= st->len) return NULL;
    const char *p = st->text + st->pos, *nl = memchr(p, '\n', st->len - st->pos);
    size_t n = nl ? (size_t)(nl - p) + 1 : st->len - st->pos;
    st->line++;
    if (memchr(p, '\0', n)) {
        parse_error(st, "a NUL byte in the line");
        return NULL;
    }
    if (n + 1 > (size_t)num) {  // +1: the terminating NUL
        char msg[64];
        snprintf(msg, sizeof msg, "the line is longer than %d characters", num - 2);
        parse_error(st, msg);
        return NULL;
    }
    memcpy(str, p, n);
    str[n] = '\0';
    st->pos += n;
    return str;
}

static int on_ini_entry(void *user, const char *section, const char *name, const char *value) {
    (void)section;
    ParseState *st = user;
    if (st->err[0]) return 0;
    int idx;
    const Key *k = find_key(name, strlen(name), &idx);
    char msg[600];
    if (!k || !accepts(k, KEYS_RUN)) {
        snprintf(msg, sizeof msg, "unknown key '%s' (`gpt2cl train --help` lists the keys)", name);
        parse_error(st, msg);
        return 0;
    }
    if (st->line_of[idx]) {
        snprintf(msg, sizeof msg, "key '%s' is set twice, on lines %d and %d", name, st->line_of[idx], st->line);
        parse_error(st, msg);
        return 0;
    }
    st->line_of[idx] = st->line;
    if (!set_value(st->c, k, value, msg, sizeof msg)) {
        parse_error(st, msg);
        return 0;
    }
    st->c->set[idx] = 1;
    return 1;
}

Status config_parse_text(Config *c, const char *text, size_t len, int *line) {
#if GPT2CL_INIH_RUNTIME_OPTIONS
    // Debian's libinih takes its build options at run time: a heap line buffer
    // of CONFIG_LINE_MAX, no Python-style continuation lines (an indented
    // `key = value` is a setting of its own), stop at the first error.
    ini_use_stack = false;
    ini_allow_realloc = true;
    ini_initial_alloc = ini_max_line = CONFIG_LINE_MAX;
    ini_allow_multiline = false;
    ini_stop_on_first_error = true;
#endif
    ParseState st = {.c = c, .text = text, .len = len};
    int first = ini_parse_stream(next_line, &st, on_ini_entry, &st);
    *line = 0;
    // inih reports the first failing line, ours or a syntax error of its own.
    if (first > 0 && (!st.err[0] || first < st.err_line)) {
        *line = first;
        return fail(STATUS_INPUT, "syntax error (expected `key = value` or `[section]`)");
    }
    if (st.err[0]) {
        *line = st.err_line;
        return fail(STATUS_INPUT, "%s", st.err);
    }
    if (first < 0) {
        *line = 1;
        return fail(STATUS_INPUT, "out of memory");
    }
    return STATUS_OK;
}

Status config_load(Config *c, const char *path) {
    char why[256];
    size_t len;
    char *text = try_read_file(path, &len, why, sizeof why);
    if (!text) return fail(STATUS_IO, "cannot open config '%s': %s", path, why);
    int line;
    Status s = config_parse_text(c, text, len, &line);
    free(text);
    if (!s) return STATUS_OK;
    char reason[800];
    snprintf(reason, sizeof reason, "%s", status_message());
    return fail(s, "%s:%d: %s", path, line, reason);
}

// Sets the n-character key at name to value for a command of user; arg is the whole "key=value" for messages,
// which keep each command's wording.
static Status override(Config *c, const char *name, size_t n, const char *value, const char *arg, KeyUser user) {
    int idx;
    const Key *k = find_key(name, n, &idx);
    if (user != KEYS_RUN) {
        if (!k || !accepts(k, user))
            return fail(STATUS_INPUT, "unknown key '%.*s' (see `gpt2cl %s --help`)", (int)n, name,
                        user == KEYS_EVAL ? "eval" : "sample");
        if (c->overridden[idx]) return fail(STATUS_INPUT, "key '%s' is given twice", k->name);
    } else {
        if (n >= 128) return fail(STATUS_INPUT, "key too long in '%s'", arg);
        if (!k || !accepts(k, user))
            return fail(STATUS_INPUT, "unknown key '%.*s' in override '%s' (`gpt2cl train --help` lists the keys)",
                        (int)n, name, arg);
        if (c->overridden[idx]) return fail(STATUS_INPUT, "key '%s' is given twice on the command line", k->name);
    }
    c->overridden[idx] = 1;
    char err[600];
    if (!set_value(c, k, value, err, sizeof err))
        return fail(STATUS_INPUT, "%s%s", user == KEYS_RUN ? "command line: " : "", err);
    c->set[idx] = 1;
    return STATUS_OK;
}

Status config_override(Config *c, const char *arg, KeyUser user) {
    const char *eq = strchr(arg, '=');
    if (!eq || (eq == arg && user == KEYS_RUN)) return fail(STATUS_INPUT, "expected key=value, got '%s'", arg);
    return override(c, arg, (size_t)(eq - arg), eq + 1, arg, user);
}

Status config_override_key(Config *c, const char *key, const char *value, KeyUser user) {
    return override(c, key, strlen(key), value, key, user);
}

Status config_set(Config *c, const char *key, const char *value) {
    int idx;
    const Key *k = find_key(key, strlen(key), &idx);
    if (!k) return fail(STATUS_INPUT, "internal: unknown key %s", key);
    char err[600];
    if (!set_value(c, k, value, err, sizeof err)) return fail(STATUS_INPUT, "command line: %s", err);
    c->set[idx] = 1;
    return STATUS_OK;
}

void config_synthetic_data(Config *c) {
    snprintf(c->train_data, sizeof c->train_data, "(synthetic)");
    c->val_data[0] = c->out_dir[0] = '\0';
    c->checkpoint_every = 0;
}

int config_is_set(const Config *c, const char *key) {
    int idx;
    if (!find_key(key, strlen(key), &idx)) internal_error("unknown key %s", key);
    return c->set[idx];
}

// lionar_angle: one of angle_form_name's forms, or a number of radians (ANGLE_NUMBER).
static Status parse_lionar_angle(Config *c) {
    for (int i = 0; angle_form_name(i); i++)
        if (strcmp(c->lionar_angle, angle_form_name(i)) == 0) {
            c->lionar_angle_form = (AngleForm)i;
            return STATUS_OK;
        }
    char why[300], forms[64];
    if (!parse_double(c->lionar_angle, 0, 3.2, &c->lionar_angle_value, why, sizeof why))
        return fail(STATUS_INPUT, "lionar_angle: '%s' is not %s or an angle in radians in [0, 3.2]", c->lionar_angle,
                    join_choices(angle_form_name, ", ", forms, sizeof forms));
    c->lionar_angle_form = ANGLE_NUMBER;
    return STATUS_OK;
}

// The options of the optimizer variants only make sense for some optimizers.
static Status validate_optimizer(Config *c) {
    TRY(parse_lionar_angle(c));
    const OptimizerKind *kind = optimizer_kind(c->optimizer);
    const char *o = kind->name;
    char lion[128], rotational[128];
    optimizer_group_names(OPTIMIZERS_LION, lion, sizeof lion);
    optimizer_group_names(OPTIMIZERS_ROTATIONAL, rotational, sizeof rotational);
    if (c->warmup_frac > 0 && c->warmup_steps > 0)
        return fail(STATUS_INPUT, "give warmup_steps or warmup_frac, not both");
    if (c->nesterov && !kind->lion) return fail(STATUS_INPUT, "nesterov applies to %s, not to %s", lion, o);
    if (c->inverse_bias_correction != IBC_OFF && !kind->rotational)
        return fail(STATUS_INPUT, "inverse_bias_correction applies to %s, not to %s", rotational, o);
    if (c->rrc_correction && !kind->rotational)
        return fail(STATUS_INPUT, "rrc_correction applies to %s, not to %s", rotational, o);
    if (c->rrc_correction && c->grad_accum < 2)
        return fail(STATUS_INPUT,
                    "rrc_correction needs the gradient SNR, which needs grad_accum >= 2 (grad_accum = %d)",
                    c->grad_accum);
    if (c->lionar_zero_mean && !kind->rotational)
        return fail(STATUS_INPUT, "lionar_zero_mean applies to %s, not to %s", rotational, o);
    if (c->lionar_angle_form != ANGLE_LION && c->optimizer != OPTIMIZER_LIONAR)
        return fail(STATUS_INPUT, "lionar_angle applies to %s only (the optimizer is %s)",
                    optimizer_name(OPTIMIZER_LIONAR), o);
    return STATUS_OK;
}

Status config_validate(Config *c) {
    if (!c->train_data[0])
        return fail(STATUS_INPUT, "train_data is not set: give the token shards to train on (file, glob or folder)");
    if (!c->init_from[0]) {
        if (c->n_embd % c->n_head != 0)
            return fail(STATUS_INPUT, "n_embd (%d) must be divisible by n_head (%d)", c->n_embd, c->n_head);
        if (c->seq_len > c->block_size)
            return fail(STATUS_INPUT,
                        "seq_len (%d) is larger than block_size (%d): the model has no position embedding past "
                        "block_size",
                        c->seq_len, c->block_size);
    }
    if (c->min_lr > c->lr) return fail(STATUS_INPUT, "min_lr (%g) is larger than lr (%g)", c->min_lr, c->lr);
    if (c->checkpoint_every > 0 && !c->out_dir[0])
        return fail(STATUS_INPUT, "checkpoint_every is set but out_dir is empty");
    return validate_optimizer(c);
}

void config_write(const Config *c, FILE *f) {
    for (int i = 0; i < NUM_KEYS; i++) {
        const Key *k = &keys[i];
        if (!accepts(k, KEYS_RUN)) continue;
        const char *field = (const char *)c + k->offset;
        switch (k->type) {
            case T_INT: fprintf(f, "%s = %d\n", k->name, *(const int *)field); break;
            case T_LONG: fprintf(f, "%s = %lld\n", k->name, *(const long long *)field); break;
            case T_BOOL: fprintf(f, "%s = %s\n", k->name, *(const int *)field ? "true" : "false"); break;
            case T_FLOAT: fprintf(f, "%s = %.17g\n", k->name, *(const double *)field); break;
            case T_ENUM: fprintf(f, "%s = %s\n", k->name, k->choice(*(const int *)field)); break;
            case T_STR:
            case T_PATH: fprintf(f, "%s = %s\n", k->name, field); break;
        }
    }
}

void config_print_help(FILE *f) {
    fprintf(f, "Config keys (set in the .ini file or as key=value on the command line; in paths a leading ~ is\n"
               "$HOME and a leading $DATA is gpt2cl's data folder, $GPT2CL_DATA or ~/.local/share/gpt2cl):\n");
    for (int i = 0; i < NUM_KEYS; i++) {
        const Key *k = &keys[i];
        if (!accepts(k, KEYS_RUN)) continue;
        char def[64], choices[128];
        snprintf(def, sizeof def, "%s", k->def[0] ? k->def : "\"\"");
        if (k->type == T_BOOL) fprintf(f, "  %-17s %-9s %s (true|false)\n", k->name, def, k->help);
        else if (k->type == T_ENUM)
            fprintf(f, "  %-17s %-9s %s (%s)\n", k->name, def, k->help,
                    join_choices(k->choice, "|", choices, sizeof choices));
        else fprintf(f, "  %-17s %-9s %s\n", k->name, def, k->help);
    }
}

void config_print_command_keys(KeyUser user, FILE *f) {
    for (int i = 0; i < NUM_COMMAND_KEYS; i++) {
        if (!((command_keys[i].users >> user) & 1)) continue;
        char usage[64];
        snprintf(usage, sizeof usage, "%s=%s", command_keys[i].name, command_keys[i].arg);
        fprintf(f, "  %-17s %s\n", usage, command_keys[i].help);
    }
}
