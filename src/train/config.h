// Run configuration: every key, its type, default, valid range and help text
// lives in one table (config.c), which drives the .ini parser, the
// command-line overrides, validation, `--help` and the copy saved with a run.
#pragma once
#include <stddef.h>
#include <stdio.h>

#define CONFIG_STR 512

typedef struct {
    // model
    int n_layer, n_head, n_embd, block_size, vocab_size;
    // batch
    int batch_size, seq_len, grad_accum, steps;
    // optimizer and schedule
    char optimizer[CONFIG_STR];
    double lr, min_lr;
    int warmup_steps;
    char schedule[CONFIG_STR];
    double weight_decay, beta1, beta2, eps, grad_clip;
    long long seed;
    // optimizer variants, schedule shape and update-size measurements
    double warmup_frac, cooldown_frac;
    int adamw_bias_correction1;
    double liona_kappa;
    char lionar_angle[CONFIG_STR];
    int lionar_zero_mean, nesterov;
    double beta;
    char inverse_bias_correction[CONFIG_STR];
    int rrc_correction;
    int metrics_every;
    double snr_ema;
    // data
    char train_data[CONFIG_STR], val_data[CONFIG_STR], data_order[CONFIG_STR];
    int val_every, val_steps;
    // samples during training
    int sample_every, sample_tokens;
    char tokenizer[CONFIG_STR];
    // checkpoints and output
    char init_from[CONFIG_STR], out_dir[CONFIG_STR];
    int checkpoint_every;
    char device[CONFIG_STR], log[CONFIG_STR];
    // which keys were given explicitly (by file or command line), indexed like the key table
    unsigned char set[128];
    unsigned char overridden[128];  // ... and which of them on the command line
} Config;

void config_defaults(Config *c);
// Reads an .ini file (sections are allowed for grouping; their names are ignored). Dies on any error.
void config_load_file(Config *c, const char *path);
// Parses .ini text: returns 0, or the number of the first bad line with the
// reason in err (a syntax error, an unknown or twice-set key, a bad value, a
// NUL byte, a line over the length limit).
int config_parse_text(Config *c, const char *text, size_t len, char *err, size_t n);
// Applies one "key=value" override (a key may be overridden once). Dies on any error.
void config_apply_override(Config *c, const char *arg);
// Sets one key from its text value, as an override would. Dies on any error.
void config_set(Config *c, const char *key, const char *value);
// Checks ranges and cross-key constraints. Dies with the first problem found.
void config_validate(const Config *c);
// For commands that run the model on random tokens (bench, tune): no data
// files, no checkpoints.
void config_synthetic_data(Config *c);
int config_is_set(const Config *c, const char *key);
// Optimizer-option checks of config_validate.
void config_validate_optimizer(const Config *c);
// Parses lionar_angle: 0 lion, 1 adamw, 2 simple, 3 a number (into *value). Dies on anything else.
int config_lionar_angle(const char *v, double *value);
// Writes every key as "key = value", loadable by config_load_file.
void config_write(const Config *c, FILE *f);
// The key reference: name, default and meaning of each key.
void config_print_help(FILE *f);
