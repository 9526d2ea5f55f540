// Run configuration: every key, its type, default, valid range, help text and
// the commands that accept it live in one table (config.c), which drives the
// .ini parser, the command-line overrides, validation, the key references of
// `--help` and the copy saved with a run. Errors come back as a Status with
// the message in status_message() (util/status.h).
#pragma once
#include <stddef.h>
#include <stdio.h>

#include "model/optimizer.h"
#include "train/schedule.h"
#include "util/status.h"

#define CONFIG_STR 512

typedef enum { DATA_SHUFFLE, DATA_SEQUENTIAL } DataOrder;
// What a run trains (the config key task; names in task_name): the language model on every
// token, supervised fine-tuning on the tokens the shards' loss masks mark, or a sequence
// classifier on labelled JSONL.
typedef enum { TASK_LM, TASK_SFT, TASK_CLASSIFY } Task;

typedef struct {
    // model
    int n_layer, n_head, n_embd, block_size, vocab_size;
    // batch
    int batch_size, seq_len, grad_accum, steps;
    // optimizer and schedule
    OptimizerId optimizer;
    double lr, min_lr;
    int warmup_steps;
    ScheduleKind schedule;
    double weight_decay, beta1, beta2, eps, grad_clip;
    double diverge_loss;  // a training loss above it ends the run as diverged; 0 = only a non-finite one
    long long seed;
    // optimizer variants, schedule shape and update-size measurements
    double warmup_frac, cooldown_frac;
    int adamw_bias_correction1;
    double liona_kappa;
    char lionar_angle[CONFIG_STR];  // as given (a name or a number), written back unchanged
    AngleForm lionar_angle_form;    // lionar_angle parsed by config_validate
    double lionar_angle_value;      // ... its number of radians (ANGLE_NUMBER)
    int lionar_zero_mean, nesterov;
    double beta;
    InverseBiasCorrection inverse_bias_correction;
    int rrc_correction;
    int metrics_every;
    double snr_ema;
    // task and fine-tuning
    Task task;
    char freeze[CONFIG_STR];  // model/freeze.h; empty = train everything
    // data
    char train_data[CONFIG_STR], val_data[CONFIG_STR];
    DataOrder data_order;
    int val_every, val_steps;
    // samples during training
    int sample_every, sample_tokens;
    char tokenizer[CONFIG_STR];
    // checkpoints and output
    char init_from[CONFIG_STR], out_dir[CONFIG_STR];
    int checkpoint_every;
    char device[CONFIG_STR], log[CONFIG_STR];
    char balance[CONFIG_STR];  // ranks' shares of each micro-batch (train/shares.h)
    int zero;                  // 1: the optimizer state sharded over the ranks (ZeRO-1)
    // generation by `gpt2cl sample`
    int max_new_tokens, top_k, greedy, stop_at_eot;
    double temperature, top_p;
    int kv_cache, num_samples, beams;
    double length_penalty;
    // evaluation by `gpt2cl eval`
    int stride;
    // which keys were given explicitly (by file or command line), indexed like the key table
    unsigned char set[128];
    unsigned char overridden[128];  // ... and which of them on the command line
} Config;

// The commands that read keys: train, bench and tune (a run's keys, also in
// .ini files), sample (its generation keys) or eval (its keys), the last two on the command line only.
typedef enum { KEYS_RUN, KEYS_SAMPLE, KEYS_EVAL } KeyUser;

void config_defaults(Config *c);
// Reads an .ini file of run keys (sections are allowed for grouping; their names are ignored).
Status config_load(Config *c, const char *path);
// Parses .ini text. On failure *line is the number of the first bad line and the
// message the reason (a syntax error, an unknown or twice-set key, a bad value,
// a NUL byte, a line over the length limit).
Status config_parse_text(Config *c, const char *text, size_t len, int *line);
// Applies one "key=value" from the command line of a command of `user` (a key may be given once).
Status config_override(Config *c, const char *arg, KeyUser user);
// The same for a key and value given apart (an option such as sample's --device SEL).
Status config_override_key(Config *c, const char *key, const char *value, KeyUser user);
// Sets one key from its text value, as an override would, without the once-only check.
Status config_set(Config *c, const char *key, const char *value);
// Checks ranges and cross-key constraints (the first problem found), and parses lionar_angle.
Status config_validate(Config *c);
// For commands that run the model on random tokens (bench, tune): no data
// files, no checkpoints.
void config_synthetic_data(Config *c);
int config_is_set(const Config *c, const char *key);
// The name of each data order (the values of the config key data_order), NULL past the last.
const char *data_order_name(int order);
// The name of each task (the values of the config key task), NULL past the last.
const char *task_name(int task);
// Writes every run key as "key = value", loadable by config_load.
void config_write(const Config *c, FILE *f);
// The key reference of train, bench and tune: name, default and meaning of each key.
void config_print_help(FILE *f);
// The key lines of `gpt2cl sample --help` (KEYS_SAMPLE) or `gpt2cl eval --help` (KEYS_EVAL).
void config_print_command_keys(KeyUser user, FILE *f);
