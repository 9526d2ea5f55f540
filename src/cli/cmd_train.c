// `gpt2cl train`: the training loop.
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "model/forward.h"
#include "train/checkpoint.h"
#include "train/metrics_log.h"
#include "train/run_lock.h"
#include "train/trainer.h"
#include "util/util.h"

typedef struct {
    const char *config, *resume, *device;
    int profile;
} TrainArgs;

#define A(x) offsetof(TrainArgs, x)
static const Option train_options[] = {
    {"--config", OPT_STRING, A(config), "FILE", "a file", 0, 0, "run configuration (see configs/)"},
    {"--resume", OPT_STRING, A(resume), "DIR", "the out_dir of a run", 0, 0,
     "continue the run whose out_dir is DIR from its latest checkpoint, bit-identically;\n"
     "DIR/config.ini is the configuration, key=value overrides it"},
    {"--profile", OPT_FLAG, A(profile), NULL, NULL, 0, 0,
     "time every device operation and print the share of CLBlast vs our kernels"},
    {"--device", OPT_STRING, A(device), "SEL", "an index or a name (see `gpt2cl devices`)", 0, 0,
     "same as device=SEL: an index or a name substring (see `gpt2cl devices`)"},
};
#undef A
static const OptionTable train_table = OPTION_TABLE("train", train_options, 15);

static void usage(FILE *f) {
    fprintf(f, "usage: gpt2cl train --config FILE.ini [key=value ...]\n"
               "       gpt2cl train --resume DIR [key=value ...]\n\n"
               "Trains GPT-2 on llm.c token shards on one OpenCL device.\n");
    options_print_help(&train_table, f);
    fprintf(f,
            "One train per out_dir: a run locks out_dir/train.lock until it exits. A key may be overridden once.\n\n");
    config_print_help(f);
}

#define CONFIG_COPY_MARK "# written by gpt2cl train"

// The files train writes in a run folder (their temporaries are its own too).
static int run_file_name(const char *name, const void *ctx) {
    (void)ctx;
    return checkpoint_file_name(name) || !strcmp(name, "config.ini");
}

// Takes the run folder for this process: its lock, then the leftovers of killed runs.
static void claim_run_folder(const char *dir) {
    run_folder_lock(dir);
    remove_stale_temporaries(dir, run_file_name, NULL);
}

// Refuses to start a fresh run over the checkpoints of another, or over a config.ini that is not a run's copy.
static void check_out_dir(const char *dir) {
    if (!dir[0]) return;
    make_dirs(dir);
    claim_run_folder(dir);
    int latest = checkpoint_latest(dir);
    if (latest >= 0)
        die("out_dir '%s' already holds checkpoints (latest step %d): continue with `gpt2cl train --resume %s` or "
            "choose another out_dir",
            dir, latest, dir);
    char path[1024], why[256];
    snprintf(path, sizeof path, "%s/config.ini", dir);
    if (!file_exists(path)) return;
    char *text = try_read_file(path, NULL, why, sizeof why);
    int ours = text && !strncmp(text, CONFIG_COPY_MARK, strlen(CONFIG_COPY_MARK));
    free(text);
    if (!ours)
        die("out_dir '%s' holds a config.ini that gpt2cl did not write (a run saves its config there): choose another "
            "out_dir",
            dir);
}

static void save_config_copy(const Config *cfg) {
    if (!cfg->out_dir[0]) return;
    char path[1024];
    snprintf(path, sizeof path, "%s/config.ini", cfg->out_dir);
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem) die("out of memory writing the config copy");
    fprintf(mem, CONFIG_COPY_MARK "; `gpt2cl train --resume %s` reads it\n", cfg->out_dir);
    config_write(cfg, mem);
    fclose(mem);
    write_file_atomic(path, buf, len);
    free(buf);
}

int cmd_train(int argc, char **argv) {
    TrainArgs args = {0};
    int first_override = options_parse(&train_table, &args, argc, argv, 1);
    if (first_override < 0) {
        usage(stdout);
        return 0;
    }
    const char *config_path = args.config, *resume_dir = args.resume;
    const int profiling = args.profile;
    Config cfg;
    config_defaults(&cfg);
    if (config_path && resume_dir) die("give either --config or --resume, not both");
    if (!config_path && !resume_dir) die("train needs --config FILE or --resume DIR (see `gpt2cl train --help`)");
    int resume_step = -1;
    if (resume_dir) {
        struct stat st;
        if (stat(resume_dir, &st) != 0 || !S_ISDIR(st.st_mode))
            die("nothing to resume: '%s' is not a folder holding a run", resume_dir);
        claim_run_folder(resume_dir);
        resume_step = checkpoint_latest(resume_dir);
        if (resume_step < 0) die("nothing to resume: '%s' holds no checkpoint (model_*.bin + state_*.bin)", resume_dir);
        char path[1024], state_path[1024];
        snprintf(path, sizeof path, "%s/config.ini", resume_dir);
        check_status(config_load(&cfg, path));
        // The model now comes from the checkpoint, not from init_from.
        checkpoint_paths(resume_dir, resume_step, path, state_path, sizeof path);
        if (strlen(path) >= sizeof cfg.init_from) die("resume folder path too long: '%s'", resume_dir);
        memcpy(cfg.init_from, path, strlen(path) + 1);
        snprintf(cfg.out_dir, sizeof cfg.out_dir, "%s", resume_dir);
    } else {
        check_status(config_load(&cfg, config_path));
    }
    for (int i = first_override; i < argc; i++) {
        if (argv[i][0] == '-') die("options go before key=value overrides ('%s')", argv[i]);
        check_status(config_override(&cfg, argv[i], KEYS_RUN));
    }
    if (args.device) check_status(config_set(&cfg, "device", args.device));
    check_status(config_validate(&cfg));
    if (resume_dir && resume_step >= cfg.steps)
        die("the run in '%s' is already at step %d of steps = %d; raise steps to train further", resume_dir,
            resume_step, cfg.steps);
    if (!resume_dir) check_out_dir(cfg.out_dir);
    // The log is checked before the device opens: a refused log costs no start-up.
    MetricsLog log;
    metrics_log_open(&log, cfg.log);

    Trainer t;
    trainer_open(&t, &cfg, profiling);
    DataLoader train, val;
    const int shuffle = cfg.data_order == DATA_SHUFFLE;
    dataloader_init(&train, cfg.train_data, cfg.batch_size, cfg.seq_len, t.model_config.vocab_size, shuffle,
                    (uint64_t)cfg.seed, "train_data");
    int have_val = cfg.val_data[0] != '\0';
    if (have_val)
        dataloader_init(&val, cfg.val_data, cfg.batch_size, cfg.seq_len, t.model_config.vocab_size, 0, 0, "val_data");
    if (have_val && dataloader_total_tokens(&val) < (size_t)cfg.val_steps * cfg.batch_size * cfg.seq_len + 1)
        warn("val_data holds %zu tokens, fewer than val_steps x batch_size x seq_len = %zu: validation repeats batches",
             dataloader_total_tokens(&val), (size_t)cfg.val_steps * cfg.batch_size * cfg.seq_len);
    Tokenizer *tok = cfg.sample_every > 0 ? tokenizer_load_for_model(cfg.tokenizer, t.model_config.vocab_size) : NULL;
    printf("data: train %zu tokens in %d shard(s)%s; %d x %d tokens per micro-batch, %d micro-batch(es) per step\n",
           dataloader_total_tokens(&train), train.num_files, have_val ? ", validation set" : "", cfg.batch_size,
           cfg.seq_len, cfg.grad_accum);

    RunPosition pos = {.step = 0, .data_shuffle = shuffle};
    rng_seed(&pos.rng, (uint64_t)cfg.seed);
    if (resume_dir) {
        checkpoint_load(resume_dir, resume_step, &t.model, &t.opt, &pos);
        if (pos.data_shuffle != shuffle)
            die("the run in '%s' was trained with data_order = %s; resume it with the same order", resume_dir,
                data_order_name(pos.data_shuffle ? DATA_SHUFFLE : DATA_SEQUENTIAL));
        dataloader_seek(&train, &pos.data);
        printf("resumed from %s at step %d\n", resume_dir, pos.step);
    }
    save_config_copy(&t.cfg);

    const double tokens_per_step = (double)cfg.batch_size * cfg.seq_len * cfg.grad_accum;
    const double flops_per_step = gpt2_flops_per_token(&t.model_config, cfg.seq_len) * tokens_per_step;
    double time_sum = 0.0, run_start = now_seconds();
    int timed_steps = 0;
    float last_loss = NAN, last_val = NAN;
    for (int step = pos.step + 1; step <= cfg.steps; step++) {
        double t0 = now_seconds();
        float lr = (float)schedule_lr(&t.sched, step), loss, norm;
        trainer_step(&t, &train, step, lr, &loss, &norm);
        double dt = now_seconds() - t0;
        if (!isfinite(loss) || !isfinite(norm))
            die("training diverged at step %d: loss %g, gradient norm %g (try a lower lr or a longer warmup)", step,
                loss, norm);
        if (step > pos.step + 1 || cfg.steps == step) {  // the first step includes one-time warm-up costs
            time_sum += dt;
            timed_steps++;
        }
        double mean = timed_steps ? time_sum / timed_steps : dt;
        char summary[96] = "";
        if (t.measured) measure_summary(&t.meas, summary, sizeof summary);
        double mfu = flops_per_step / dt / t.peak_flops;
        print_progress(step, cfg.steps, loss, lr, norm, dt * 1e3, tokens_per_step / dt, flops_per_step / dt, mfu,
                       mean * (cfg.steps - step), summary);
        metrics_log_step(&log, step, loss, lr, norm, dt * 1e3, tokens_per_step / dt, mfu);
        last_loss = loss;
        if (t.measured) metrics_log_measure(&log, step, &t.meas, &t.model);
        if (have_val && ((cfg.val_every > 0 && step % cfg.val_every == 0) || step == cfg.steps)) {
            float vl = trainer_validate(&t, &val, cfg.val_steps);
            if (!isfinite(vl)) die("validation loss is %g at step %d", vl, step);
            printf("step %d | val_loss %.6f\n", step, vl);
            last_val = vl;
            metrics_log_val(&log, step, vl);
        }
        if (tok && (step % cfg.sample_every == 0 || step == cfg.steps)) trainer_sample(&t, tok, step, cfg.sample_tokens);
        if (cfg.out_dir[0] && ((cfg.checkpoint_every > 0 && step % cfg.checkpoint_every == 0) || step == cfg.steps)) {
            pos.step = step;
            pos.data = train.pos;
            checkpoint_save(cfg.out_dir, &t.model, &t.opt, &pos);
            printf("checkpoint: %s/model_%08d.bin\n", cfg.out_dir, step);
        }
    }
    if (profiling) ops_profile_print(&t.ops, cfg.steps - pos.step, stdout);
    char took[32];
    printf("done: step %d, loss %.4f", cfg.steps, last_loss);
    if (have_val) printf(", val_loss %.4f", last_val);
    printf(", %s", format_duration(now_seconds() - run_start, took, sizeof took));
    if (cfg.out_dir[0]) printf("; sample with `gpt2cl sample --checkpoint %s`", cfg.out_dir);
    printf("\n");
    metrics_log_close(&log);
    if (tok) tokenizer_free(tok);
    if (have_val) dataloader_free(&val);
    dataloader_free(&train);
    trainer_close(&t);
    return 0;
}
