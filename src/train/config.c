#include "train/config.h"

#include <ini.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "util/parse_num.h"
#include "util/util.h"

typedef enum { T_INT, T_LONG, T_FLOAT, T_STR, T_PATH, T_ENUM, T_BOOL } KeyType;  // T_PATH: ~ and $DATA expanded; T_BOOL: true|false into an int

typedef struct {
    const char *name;
    KeyType type;
    size_t offset;
    const char *def;       // default, as text
    double min, max;       // inclusive range for numbers
    const char *choices;   // for T_ENUM: "a|b|c"
    const char *help;
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
    {"optimizer", T_ENUM, F(optimizer), "adamw", 0, 0, "adamw|lion|liona|lionar|rv_adamw",
     "optimizer (update rules: README, Optimizers and measurements)"},
    {"lr", T_FLOAT, F(lr), "6e-4", 0, 10, NULL, "peak learning rate"},
    {"min_lr", T_FLOAT, F(min_lr), "0", 0, 10, NULL, "final learning rate of the cosine / linear decay"},
    {"warmup_steps", T_INT, F(warmup_steps), "0", 0, 1 << 30, NULL,
     "linear warmup steps (step 1 uses lr/warmup_steps); 0 = none"},
    {"schedule", T_ENUM, F(schedule), "cosine", 0, 0, "constant|cosine|linear|trapezoid",
     "learning-rate schedule after warmup (trapezoid: constant, then linear to min_lr over cooldown_frac)"},
    {"weight_decay", T_FLOAT, F(weight_decay), "0.1", 0, 10, NULL,
     "decoupled weight decay, applied to matrices and embeddings only"},
    {"beta1", T_FLOAT, F(beta1), "0.9", 0, 0.999999, NULL, "AdamW first-moment decay"},
    {"beta2", T_FLOAT, F(beta2), "0.95", 0, 0.999999, NULL,
     "AdamW second-moment decay; Lion momentum decay (lion, liona, lionar: 0.99 unless set)"},
    {"eps", T_FLOAT, F(eps), "1e-8", 0, 1, NULL, "AdamW epsilon, added after the square root"},
    {"grad_clip", T_FLOAT, F(grad_clip), "1.0", 0, 1e30, NULL, "global gradient-norm clip; 0 = off"},
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
    {"inverse_bias_correction", T_ENUM, F(inverse_bias_correction), "off", 0, 0, "off|linear|sqrt",
     "lionar/rv_adamw: scale the angle by 1-beta^t (linear) or sqrt(1-beta^2t) (sqrt)"},
    {"rrc_correction", T_BOOL, F(rrc_correction), "false", 0, 0, NULL,
     "lionar/rv_adamw: scale the angle per tensor by sqrt((1+phi)/(1+B*phi)), phi the gradient SNR (grad_accum>=2)"},
    {"metrics_every", T_INT, F(metrics_every), "0", 0, 1 << 30, NULL,
     "measure update sizes (l2, angle, rrc, snr, cos_gm) every N steps into the log; 0 = off, no cost"},
    {"snr_ema", T_FLOAT, F(snr_ema), "0.9", 0, 0.999999, NULL, "EMA decay of the gradient signal and noise estimates"},
    {"seed", T_LONG, F(seed), "1337", 0, 9.2e18, NULL, "seed of the initialisation, the data order and the samples"},
    // data
    {"train_data", T_PATH, F(train_data), "", 0, 0, NULL,
     "training token shards (llm.c format): a file, a glob pattern or a folder (required)"},
    {"val_data", T_PATH, F(val_data), "", 0, 0, NULL, "validation token shards, as train_data; empty = no validation"},
    {"data_order", T_ENUM, F(data_order), "shuffle", 0, 0, "shuffle|sequential",
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
     "llm.c fp32 checkpoint to start from (its shape overrides the model keys); empty = random init"},
    {"out_dir", T_PATH, F(out_dir), "", 0, 0, NULL,
     "folder for checkpoints, resume state and config copy; empty = no checkpoints"},
    {"checkpoint_every", T_INT, F(checkpoint_every), "0", 0, 1 << 30, NULL,
     "write a checkpoint every N steps (and at the end); 0 = only at the end (needs out_dir)"},
    {"device", T_STR, F(device), "", 0, 0, NULL,
     "OpenCL device: index or name substring (see `gpt2cl devices`); empty = first GPU, else first device"},
    {"log", T_PATH, F(log), "", 0, 0, NULL,
     "JSONL metrics file (one object per step and per validation): created, or appended to if it is a gpt2cl log"},
};
#undef F
#define NUM_KEYS ((int)(sizeof keys / sizeof keys[0]))
_Static_assert(sizeof keys / sizeof keys[0] <= sizeof(((Config *)0)->set), "Config.set too small");
_Static_assert(sizeof(((Config *)0)->set) == sizeof(((Config *)0)->overridden), "Config.overridden too small");

static const Key *find_key(const char *name, int *index) {
    for (int i = 0; i < NUM_KEYS; i++)
        if (strcmp(keys[i].name, name) == 0) {
            if (index) *index = i;
            return &keys[i];
        }
    return NULL;
}

static int choice_ok(const char *choices, const char *v) {
    size_t n = strlen(v);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, v, n) == 0 && n > 0) return 1;
        if (!bar) break;
        p = bar + 1;
    }
    return 0;
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
            if (!choice_ok(k->choices, value)) {
                snprintf(err, errn, "%s: '%s' is not one of %s", k->name, value, k->choices);
                return 0;
            }
            /* fall through */
        case T_STR:
        case T_PATH: {
            // Saved as "key = value", a leading ';' would read back as a comment (and the value as empty).
            if (value[0] == ';') {
                snprintf(err, errn, "%s: a value may not start with ';'", k->name);
                return 0;
            }
            char *v = k->type == T_PATH ? expand_path(value) : strdup_check(value);
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
    char err[256];
    for (int i = 0; i < NUM_KEYS; i++)
        if (!set_value(c, &keys[i], keys[i].def, err, sizeof err) && keys[i].def[0] != '\0')
            die("internal: bad default for %s", err);
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
    const Key *k = find_key(name, &idx);
    char msg[600];
    if (!k) {
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

int config_parse_text(Config *c, const char *text, size_t len, char *err, size_t n) {
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
    // inih reports the first failing line, ours or a syntax error of its own.
    if (first > 0 && (!st.err[0] || first < st.err_line)) {
        snprintf(err, n, "syntax error (expected `key = value` or `[section]`)");
        return first;
    }
    if (st.err[0]) {
        snprintf(err, n, "%s", st.err);
        return st.err_line;
    }
    if (first < 0) {
        snprintf(err, n, "out of memory");
        return 1;
    }
    return 0;
}

void config_load_file(Config *c, const char *path) {
    char why[256];
    size_t len;
    char *text = try_read_file(path, &len, why, sizeof why);
    if (!text) die("cannot open config '%s': %s", path, why);
    char err[800];
    int line = config_parse_text(c, text, len, err, sizeof err);
    free(text);
    if (line) die("%s:%d: %s", path, line, err);
}

void config_apply_override(Config *c, const char *arg) {
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg) die("expected key=value, got '%s'", arg);
    char name[128];
    size_t n = (size_t)(eq - arg);
    if (n >= sizeof name) die("key too long in '%s'", arg);
    memcpy(name, arg, n);
    name[n] = '\0';
    int idx;
    if (!find_key(name, &idx)) die("unknown key '%s' in override '%s' (`gpt2cl train --help` lists the keys)", name, arg);
    if (c->overridden[idx]) die("key '%s' is given twice on the command line", name);
    c->overridden[idx] = 1;
    config_set(c, name, eq + 1);
}

void config_set(Config *c, const char *key, const char *value) {
    int idx;
    const Key *k = find_key(key, &idx);
    if (!k) die("internal: unknown key %s", key);
    char err[600];
    if (!set_value(c, k, value, err, sizeof err)) die("command line: %s", err);
    c->set[idx] = 1;
}

void config_synthetic_data(Config *c) {
    snprintf(c->train_data, sizeof c->train_data, "(synthetic)");
    c->val_data[0] = c->out_dir[0] = '\0';
    c->checkpoint_every = 0;
}

int config_is_set(const Config *c, const char *key) {
    int idx;
    if (!find_key(key, &idx)) die("internal: unknown key %s", key);
    return c->set[idx];
}

void config_validate(const Config *c) {
    if (!c->train_data[0]) die("train_data is not set: give the token shards to train on (file, glob or folder)");
    if (!c->init_from[0]) {
        if (c->n_embd % c->n_head != 0) die("n_embd (%d) must be divisible by n_head (%d)", c->n_embd, c->n_head);
        if (c->seq_len > c->block_size)
            die("seq_len (%d) is larger than block_size (%d): the model has no position embedding past block_size",
                c->seq_len, c->block_size);
    }
    if (c->min_lr > c->lr) die("min_lr (%g) is larger than lr (%g)", c->min_lr, c->lr);
    if (c->checkpoint_every > 0 && !c->out_dir[0]) die("checkpoint_every is set but out_dir is empty");
    config_validate_optimizer(c);
}

int config_lionar_angle(const char *v, double *value) {
    if (!strcmp(v, "lion")) return 0;
    if (!strcmp(v, "adamw")) return 1;
    if (!strcmp(v, "simple")) return 2;
    char why[300];
    if (!parse_double(v, 0, 3.2, value, why, sizeof why))
        die("lionar_angle: '%s' is not lion, adamw, simple or an angle in radians in [0, 3.2]", v);
    return 3;
}

// The options of the optimizer variants only make sense for some optimizers.
void config_validate_optimizer(const Config *c) {
    double angle;
    config_lionar_angle(c->lionar_angle, &angle);
    const char *o = c->optimizer;
    int rotational = !strcmp(o, "lionar") || !strcmp(o, "rv_adamw"), lion_family = !strncmp(o, "lion", 4);
    if (c->warmup_frac > 0 && c->warmup_steps > 0) die("give warmup_steps or warmup_frac, not both");
    if (c->nesterov && !lion_family) die("nesterov applies to lion, liona and lionar, not to %s", o);
    if (strcmp(c->inverse_bias_correction, "off") != 0 && !rotational)
        die("inverse_bias_correction applies to lionar and rv_adamw, not to %s", o);
    if (c->rrc_correction && !rotational) die("rrc_correction applies to lionar and rv_adamw, not to %s", o);
    if (c->rrc_correction && c->grad_accum < 2)
        die("rrc_correction needs the gradient SNR, which needs grad_accum >= 2 (grad_accum = %d)", c->grad_accum);
    if (c->lionar_zero_mean && !rotational) die("lionar_zero_mean applies to lionar and rv_adamw, not to %s", o);
    if (strcmp(c->lionar_angle, "lion") != 0 && strcmp(o, "lionar") != 0)
        die("lionar_angle applies to lionar only (the optimizer is %s)", o);
}

void config_write(const Config *c, FILE *f) {
    for (int i = 0; i < NUM_KEYS; i++) {
        const Key *k = &keys[i];
        const char *field = (const char *)c + k->offset;
        switch (k->type) {
            case T_INT: fprintf(f, "%s = %d\n", k->name, *(const int *)field); break;
            case T_LONG: fprintf(f, "%s = %lld\n", k->name, *(const long long *)field); break;
            case T_BOOL: fprintf(f, "%s = %s\n", k->name, *(const int *)field ? "true" : "false"); break;
            case T_FLOAT: fprintf(f, "%s = %.17g\n", k->name, *(const double *)field); break;
            case T_STR:
            case T_PATH:
            case T_ENUM: fprintf(f, "%s = %s\n", k->name, field); break;
        }
    }
}

void config_print_help(FILE *f) {
    fprintf(f, "Config keys (set in the .ini file or as key=value on the command line; in paths a leading ~ is\n"
               "$HOME and a leading $DATA is gpt2cl's data folder, $GPT2CL_DATA or ~/.local/share/gpt2cl):\n");
    for (int i = 0; i < NUM_KEYS; i++) {
        const Key *k = &keys[i];
        char def[64];
        snprintf(def, sizeof def, "%s", k->def[0] ? k->def : "\"\"");
        if (k->type == T_BOOL) fprintf(f, "  %-17s %-9s %s (true|false)\n", k->name, def, k->help);
        else if (k->type == T_ENUM) fprintf(f, "  %-17s %-9s %s (%s)\n", k->name, def, k->help, k->choices);
        else fprintf(f, "  %-17s %-9s %s\n", k->name, def, k->help);
    }
}
