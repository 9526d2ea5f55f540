#include "train/run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/forward.h"
#include "train/balance.h"
#include "train/checkpoint.h"
#include "train/classify_train.h"
#include "train/metrics_log.h"
#include "train/run_lock.h"
#include "train/trainer.h"
#include "util/comm.h"
#include "util/util.h"

#define CONFIG_COPY_MARK "# written by gpt2cl train"

// The files train writes in a run folder (their temporaries are its own too).
static int run_file_name(const char *name, const void *ctx) {
    (void)ctx;
    return checkpoint_file_name(name) || classify_file_name(name) || !strcmp(name, "config.ini");
}

Status run_folder_claim(const char *dir) {
    TRY(run_folder_lock(dir));
    remove_stale_temporaries(dir, run_file_name, NULL);
    return STATUS_OK;
}

// Refuses to start a fresh run over the checkpoints of another, or over a config.ini that is not a run's copy.
static Status check_out_dir(const char *dir) {
    if (!dir[0] || comm_rank() > 0) return STATUS_OK;  // rank 0 owns the run folder
    TRY(make_dirs(dir));
    TRY(run_folder_claim(dir));
    int latest = checkpoint_latest(dir);
    if (latest >= 0)
        return fail(STATUS_INPUT,
                    "out_dir '%s' already holds checkpoints (latest step %d): continue with `gpt2cl train --resume "
                    "%s` or choose another out_dir",
                    dir, latest, dir);
    char path[1024], why[256];
    snprintf(path, sizeof path, "%s/config.ini", dir);
    if (!file_exists(path)) return STATUS_OK;
    char *text = try_read_file(path, NULL, why, sizeof why);
    int ours = text && !strncmp(text, CONFIG_COPY_MARK, strlen(CONFIG_COPY_MARK));
    free(text);
    if (!ours)
        return fail(STATUS_INPUT,
                    "out_dir '%s' holds a config.ini that gpt2cl did not write (a run saves its config there): "
                    "choose another out_dir",
                    dir);
    return STATUS_OK;
}

static Status save_config_copy(const Config *cfg) {
    if (!cfg->out_dir[0] || comm_rank() > 0) return STATUS_OK;
    char path[1024];
    snprintf(path, sizeof path, "%s/config.ini", cfg->out_dir);
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem) out_of_memory("writing the config copy");
    fprintf(mem, CONFIG_COPY_MARK "; `gpt2cl train --resume %s` reads it\n", cfg->out_dir);
    config_write(cfg, mem);
    fclose(mem);
    Status s = write_file_atomic(path, buf, len);
    free(buf);
    return s;
}

// What a run holds open between run_open and run_close.
typedef struct {
    const Config *cfg;
    MetricsLog log;
    Trainer t;
    int trainer_open;
    DataLoader train, val;  // task = lm
    int have_val;
    ClassifyTask cls;  // task = classify
    int classify;
    Tokenizer *tok;  // NULL: no samples during training
    RunPosition pos;
    Balance balance;  // the ranks' speeds and shares
    double start;     // when the first step began, for the run's duration
} Run;

static void run_close(Run *r) {
    balance_free(&r->balance);
    if (r->tok) tokenizer_free(r->tok);
    classify_close(&r->cls);
    if (r->have_val && !r->classify) dataloader_free(&r->val);
    dataloader_free(&r->train);
    if (r->trainer_open) trainer_close(&r->t);
    // Only a failed run still has its log open here; the run's failure is the one to report, not the close's.
    if (r->log.f) fclose(r->log.f);
    r->log.f = NULL;
}

// Continues from the checkpoint of opts: model, optimizer state, data position and RNG.
static Status run_resume(Run *r, const RunOptions *opts, int shuffle) {
    TRY(checkpoint_load(opts->resume_dir, opts->resume_step, &r->t.model, &r->t.opt, &r->pos));
    if (r->pos.data_shuffle != shuffle)
        return fail(STATUS_INPUT, "the run in '%s' was trained with data_order = %s; resume it with the same order",
                    opts->resume_dir, data_order_name(r->pos.data_shuffle ? DATA_SHUFFLE : DATA_SEQUENTIAL));
    if (r->classify) TRY(classify_resume(&r->cls, opts->resume_dir, r->pos.step));
    else TRY(dataloader_seek(&r->train, &r->pos.data));
    printf("resumed from %s at step %d\n", opts->resume_dir, r->pos.step);
    return STATUS_OK;
}

// The token shards of task = lm or sft (with their loss masks for sft).
static Status open_token_data(Run *r, const Config *cfg, int vocab, int shuffle) {
    TRY(dataloader_init(&r->train, cfg->train_data, cfg->batch_size, cfg->seq_len, vocab, shuffle,
                        (uint64_t)cfg->seed, "train_data"));
    if (cfg->task == TASK_SFT) TRY(dataloader_use_masks(&r->train));
    if (cfg->val_data[0]) {
        TRY(dataloader_init(&r->val, cfg->val_data, cfg->batch_size, cfg->seq_len, vocab, 0, 0, "val_data"));
        r->have_val = 1;
        if (cfg->task == TASK_SFT) TRY(dataloader_use_masks(&r->val));
    }
    const size_t val_tokens = (size_t)cfg->val_steps * cfg->batch_size * cfg->seq_len;
    if (r->have_val && dataloader_total_tokens(&r->val) < val_tokens + 1)
        warn("val_data holds %zu tokens, fewer than val_steps x batch_size x seq_len = %zu: validation repeats batches",
             dataloader_total_tokens(&r->val), val_tokens);
    printf("data: train %zu tokens in %d shard(s)%s; %d x %d tokens per micro-batch, %d micro-batch(es) per step\n",
           dataloader_total_tokens(&r->train), r->train.num_files, r->have_val ? ", validation set" : "",
           cfg->batch_size, cfg->seq_len, cfg->grad_accum);
    if (comm_size() > 1)
        printf("ranks: %d (%s); rank 0 takes %d of the %d sequences of each micro-batch (balance = %s)\n",
               comm_size(), comm_backend(), r->t.share.rows, cfg->batch_size, cfg->balance);
    return STATUS_OK;
}

// Opens everything the run needs, in the order that makes a refusal cheapest.
static Status run_open(Run *r, const Config *cfg, const RunOptions *opts) {
    if (!opts->resume_dir) TRY(check_out_dir(cfg->out_dir));
    // The log is checked before the device opens: a refused log costs no start-up.
    TRY(metrics_log_open(&r->log, comm_rank() == 0 ? cfg->log : NULL));
    TRY(trainer_open(&r->t, cfg, opts->profiling));
    r->trainer_open = 1;
    const int shuffle = cfg->data_order == DATA_SHUFFLE, vocab = r->t.model_config.vocab_size;
    if (cfg->task == TASK_CLASSIFY) {  // the labelled data and the head instead of the token shards
        TRY(classify_open(&r->cls, &r->t, cfg));
        r->classify = 1;
        r->have_val = r->cls.have_val;
    } else {
        TRY(open_token_data(r, cfg, vocab, shuffle));
    }
    // Samples are rank 0's alone: they involve no other rank.
    if (cfg->sample_every > 0 && comm_rank() == 0) TRY(tokenizer_load_for_model(cfg->tokenizer, vocab, &r->tok));
    TRY(balance_open(&r->balance, cfg->balance, comm_size()));
    r->pos = (RunPosition){.step = 0, .data_shuffle = shuffle};
    rng_seed(&r->pos.rng, (uint64_t)cfg->seed);
    if (opts->resume_dir) TRY(run_resume(r, opts, shuffle));
    else if (r->classify && cfg->out_dir[0]) TRY(classify_save_labels(&r->cls, cfg->out_dir));
    return save_config_copy(&r->t.cfg);
}

// The validation, sample and checkpoint due after step (res->val_loss takes the validation loss).
static Status after_step(Run *r, int step, RunResult *res) {
    const Config *cfg = r->cfg;
    if (r->have_val && ((cfg->val_every > 0 && step % cfg->val_every == 0) || step == cfg->steps)) {
        float accuracy = 0;
        if (r->classify) TRY(classify_validate(&r->cls, &r->t, &res->val_loss, &accuracy));
        else TRY(trainer_validate(&r->t, &r->val, cfg->val_steps, &res->val_loss));
        if (!isfinite(res->val_loss)) {
            res->outcome = RUN_DIVERGED;
            res->diverged_in_validation = 1;
            return STATUS_OK;
        }
        if (r->classify) {
            printf("step %d | val_loss %.6f | val_accuracy %.4f\n", step, res->val_loss, accuracy);
            metrics_log_val_accuracy(&r->log, step, res->val_loss, accuracy);
        } else {
            printf("step %d | val_loss %.6f\n", step, res->val_loss);
            metrics_log_val(&r->log, step, res->val_loss);
        }
    }
    if (r->tok && (step % cfg->sample_every == 0 || step == cfg->steps))
        TRY(trainer_sample(&r->t, r->tok, step, cfg->sample_tokens));
    if (cfg->out_dir[0] && ((cfg->checkpoint_every > 0 && step % cfg->checkpoint_every == 0) || step == cfg->steps)) {
        r->pos.step = step;
        r->pos.data = r->train.pos;
        // The head first: a state file (the mark of a complete checkpoint) always has its head.
        if (r->classify) TRY(classify_save(&r->cls, cfg->out_dir, step, cfg->seq_len));
        TRY(checkpoint_save(cfg->out_dir, &r->t.model, &r->t.opt, &r->pos));
        printf("checkpoint: %s/model_%08d.bin\n", cfg->out_dir, step);
    }
    return STATUS_OK;
}

// With several ranks, after the n-th step of this process: every rank's speed for
// the progress line (into summary), and balance = auto's new shares when due.
static Status ranks_after_step(Run *r, int n, char *summary, size_t len) {
    Trainer *t = &r->t;
    const Config *cfg = r->cfg;
    int *rows = mallocCheck((size_t)comm_size() * sizeof(int)), changed;
    Status s = balance_after_step(&r->balance, n, t->compute_s, t->rank_rows, cfg->batch_size, rows, &changed);
    size_t used = strlen(summary);
    balance_summary(&r->balance, t->rank_rows, (double)cfg->seq_len * cfg->grad_accum, summary + used, len - used);
    used = strlen(summary);
    snprintf(summary + used, len - used, ", sum %.0f ms", t->comm_s * 1e3);
    if (!s && changed) {
        s = trainer_reshare(t, rows);
        printf("balance: each micro-batch's %d sequences now split", cfg->batch_size);
        for (int k = 0; k < comm_size(); k++) printf("%s%d", k ? ":" : " ", rows[k]);
        printf(" by the ranks' measured speed\n");
    }
    free(rows);
    return s;
}

// Trains steps pos.step+1 .. cfg->steps, printing and logging each; stops at the first divergence or failure.
static void run_steps(Run *r, RunResult *res) {
    const Config *cfg = r->cfg;
    Trainer *t = &r->t;
    // task = classify computes every position of the window, but not the LM head
    const double tokens_per_step = (double)cfg->batch_size * cfg->seq_len * cfg->grad_accum;
    const double flops_per_token = r->classify ? gpt2_trunk_flops_per_token(&t->model_config, cfg->seq_len)
                                               : gpt2_flops_per_token(&t->model_config, cfg->seq_len);
    const double flops_per_step = flops_per_token * tokens_per_step;
    double time_sum = 0.0;
    int timed_steps = 0;
    r->start = now_seconds();
    for (int step = r->pos.step + 1; step <= cfg->steps; step++) {
        double t0 = now_seconds();
        float lr = (float)schedule_lr(&t->sched, step);
        res->status = r->classify ? classify_step(&r->cls, t, step, lr, &res->loss, &res->grad_norm)
                                  : trainer_step(t, &r->train, step, lr, &res->loss, &res->grad_norm);
        if (res->status) return;
        double dt = now_seconds() - t0;
        res->step = step;
        const int too_high = cfg->diverge_loss > 0 && res->loss > cfg->diverge_loss;
        if (!isfinite(res->loss) || !isfinite(res->grad_norm) || too_high) {
            res->outcome = RUN_DIVERGED;
            return;
        }
        if (step > r->pos.step + 1 || cfg->steps == step) {  // the first step includes one-time warm-up costs
            time_sum += dt;
            timed_steps++;
        }
        double mean = timed_steps ? time_sum / timed_steps : dt;
        char summary[256] = "";
        if (t->measured) measure_summary(&t->meas, summary, sizeof summary);
        if (comm_size() > 1 && (res->status = ranks_after_step(r, step - r->pos.step, summary, sizeof summary)))
            return;
        double mfu = flops_per_step / dt / t->peak_flops;
        print_progress(step, cfg->steps, res->loss, lr, res->grad_norm, dt * 1e3, tokens_per_step / dt,
                       flops_per_step / dt, mfu, mean * (cfg->steps - step), summary);
        metrics_log_step(&r->log, step, res->loss, lr, res->grad_norm, dt * 1e3, tokens_per_step / dt, mfu);
        if (t->measured) metrics_log_measure(&r->log, step, &t->meas, &t->model);
        res->status = after_step(r, step, res);
        if (res->status || res->outcome == RUN_DIVERGED) return;
    }
}

RunResult train_run(const Config *cfg, const RunOptions *opts) {
    RunResult res = {.outcome = RUN_FINISHED, .loss = NAN, .grad_norm = NAN, .val_loss = NAN};
    Run r = {.cfg = cfg};
    res.status = run_open(&r, cfg, opts);
    if (!res.status) run_steps(&r, &res);
    if (res.status) res.outcome = RUN_FAILED;
    if (res.outcome == RUN_FINISHED) {
        if (opts->profiling) ops_profile_print(&r.t.ops, cfg->steps - r.pos.step, stdout);
        char took[32];
        printf("done: step %d, loss %.4f", cfg->steps, res.loss);
        if (r.have_val) printf(", val_loss %.4f", res.val_loss);
        printf(", %s", format_duration(now_seconds() - r.start, took, sizeof took));
        if (cfg->out_dir[0] && r.classify) printf("; classify with `gpt2cl classify --checkpoint %s`", cfg->out_dir);
        else if (cfg->out_dir[0]) printf("; sample with `gpt2cl sample --checkpoint %s`", cfg->out_dir);
        printf("\n");
        res.status = metrics_log_close(&r.log);
        if (res.status) res.outcome = RUN_FAILED;
    }
    run_close(&r);
    return res;
}
