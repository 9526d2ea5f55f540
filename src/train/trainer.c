#include "train/trainer.h"

#include <math.h>
#include <string.h>

#include "model/forward.h"
#include "model/freeze.h"
#include "model/generate.h"
#include "model/weights_file.h"
#include "runtime/tune_apply.h"
#include "util/comm.h"
#include "util/util.h"

Status resolve_model_config(const Config *cfg, GPT2Config *mc) {
    if (cfg->init_from[0]) {
        TRY(checkpoint_read_config(cfg->init_from, mc));
        struct {
            const char *key;
            int cfg_value, ckpt_value;
        } keys[] = {{"n_layer", cfg->n_layer, mc->num_layers},   {"n_head", cfg->n_head, mc->num_heads},
                    {"n_embd", cfg->n_embd, mc->channels},       {"block_size", cfg->block_size, mc->max_seq_len},
                    {"vocab_size", cfg->vocab_size, mc->vocab_size}};
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
            if (config_is_set(cfg, keys[i].key) && keys[i].cfg_value != keys[i].ckpt_value)
                return fail(STATUS_INPUT, "%s = %d is set, but init_from '%s' has %s = %d", keys[i].key,
                            keys[i].cfg_value, cfg->init_from, keys[i].key, keys[i].ckpt_value);
    } else {
        *mc = (GPT2Config){.max_seq_len = cfg->block_size, .vocab_size = cfg->vocab_size,
                           .num_layers = cfg->n_layer, .num_heads = cfg->n_head, .channels = cfg->n_embd};
    }
    TRY(gpt2_config_check(mc));
    if (cfg->seq_len > mc->max_seq_len)
        return fail(STATUS_INPUT, "seq_len (%d) is larger than the model's block_size (%d)", cfg->seq_len,
                    mc->max_seq_len);
    return STATUS_OK;
}

// Context of a sample of n_tokens after <|endoftext|>: the generation workspace's T.
static int sample_context(const GPT2Config *mc, int n_tokens) {
    return n_tokens + 1 < mc->max_seq_len ? n_tokens + 1 : mc->max_seq_len;
}

// The workspaces a run of cfg creates on a rank of rows sequences: training,
// then validation and sampling when it does them.
static int run_workspaces(const Config *cfg, const GPT2Config *mc, int rows, WorkspaceShape shapes[3]) {
    int n = 0;
    shapes[n++] = (WorkspaceShape){rows, cfg->seq_len, WS_TRAIN};
    if (cfg->val_data[0]) shapes[n++] = (WorkspaceShape){rows, cfg->seq_len, WS_FORWARD};
    if (cfg->sample_every > 0) shapes[n++] = (WorkspaceShape){1, sample_context(mc, cfg->sample_tokens), WS_FORWARD};
    return n;
}

// The device memory the run needs (into *need), which must fit the device's.
static Status check_device_memory(const Trainer *t, const Config *cfg, double param_copies, double *need) {
    WorkspaceShape shapes[3];
    int num_ws = run_workspaces(cfg, &t->model_config, t->share.rows, shapes);
    *need = gpt2_memory_needed(&t->model_config, param_copies, shapes, num_ws, &t->dev);
    if (*need <= (double)t->dev.global_mem) return STATUS_OK;
    char a[32], b[32];
    return fail(STATUS_INPUT,
                "not enough device memory: this run needs %s (model %zu parameters, batch_size %d x seq_len %d) but "
                "%s has %s; lower batch_size or seq_len",
                format_bytes(*need, a, sizeof a), gpt2_param_count(&t->model_config), cfg->batch_size, cfg->seq_len,
                t->dev.name, format_bytes((double)t->dev.global_mem, b, sizeof b));
}

// The starting weights: init_from's, else GPT-2's random initialisation.
static Status init_weights(GPT2 *m, const Config *cfg) {
    if (cfg->init_from[0]) return gpt2_load_checkpoint(m, cfg->init_from);
    gpt2_init_random(m, (uint64_t)cfg->seed);
    return STATUS_OK;
}

// The freeze list, checked against the model's layers before the device opens.
static Status check_freeze(const Config *cfg, const GPT2Config *mc) {
    unsigned char *frozen = mallocCheck((size_t)NUM_PARAM_TENSORS * (size_t)mc->num_layers);
    Status s = freeze_parse(cfg->freeze, mc->num_layers, cfg->task == TASK_CLASSIFY, frozen);
    free(frozen);
    return s;
}

Status trainer_open(Trainer *t, const Config *cfg, int profiling) {
    return trainer_open_ex(t, cfg, profiling, TUNE_DATABASE);
}

Status trainer_open_ex(Trainer *t, const Config *cfg, int profiling, TuneLevel tuning) {
    memset(t, 0, sizeof *t);
    t->cfg = *cfg;
    TRY(resolve_model_config(cfg, &t->model_config));
    TRY(check_freeze(cfg, &t->model_config));
    // Record the shape actually trained, so the config copy saved with a run describes it.
    t->cfg.n_layer = t->model_config.num_layers;
    t->cfg.n_head = t->model_config.num_heads;
    t->cfg.n_embd = t->model_config.channels;
    t->cfg.block_size = t->model_config.max_seq_len;
    t->cfg.vocab_size = t->model_config.vocab_size;
    const OptimizerKind *kind = optimizer_kind(cfg->optimizer);
    t->rank_rows = mallocCheck((size_t)comm_size() * sizeof(int));
    TRY(batch_rows(cfg->balance, cfg->batch_size, comm_size(), t->rank_rows));
    t->share = batch_share_of(t->rank_rows, comm_rank());
    MeasureOptions mo = measure_options_from_config(cfg);
    TRY(measure_options_for_ranks(cfg, &t->share, &mo));
    TRY(device_open(&t->dev, cfg->device, profiling));
    char name[600];
    snprintf(name, sizeof name, "%s (%s, %s)", t->dev.name, device_type_name(t->dev.type), t->dev.platform_name);
    printf("device: %d: %s\n", t->dev.index, name);
    Tuned tuned;
    Status s = tuned_load_with_peak(&tuned, &t->dev, tuning, stdout, &t->peak_flops);
    double need = 0;
    // ZeRO-1 holds 1/N of the state (about: shards are cut between slices).
    const int shards = cfg->zero ? comm_size() : 1;
    if (!s) s = check_device_memory(t, cfg, (double)kind->num_state / shards + measure_param_copies(&mo), &need);
    if (!s) s = ops_init(&t->ops, &t->dev, &tuned);
    if (!s) s = gpt2_create(&t->model, &t->model_config, &t->dev);
    if (!s) s = workspace_create(&t->train_ws, &t->model, t->share.rows, cfg->seq_len, WS_TRAIN);
    if (!s) s = init_weights(&t->model, cfg);
    if (!s) s = gpt2_freeze(&t->model, cfg->freeze, cfg->task == TASK_CLASSIFY);
    // Lion's beta2 default goes into the config the run saves, so --resume (which sets every key) keeps it.
    if (kind->lion && !config_is_set(cfg, "beta2")) t->cfg.beta2 = 0.99;
    OptimizerHyper hyper = optimizer_hyper_from_config(&t->cfg);
    if (!s) s = optimizer_create_sharded(&t->opt, kind, &hyper, &t->model, comm_rank(), shards);
    int warmup = cfg->warmup_frac > 0 ? (int)lround(cfg->warmup_frac * cfg->steps) : cfg->warmup_steps;
    t->sched = (Schedule){.kind = cfg->schedule, .lr = cfg->lr, .min_lr = cfg->min_lr,
                          .warmup_steps = warmup, .total_steps = cfg->steps, .cooldown_frac = cfg->cooldown_frac};
    if (!s) s = measure_create(&t->meas, &t->model, &t->train_ws, &mo);
    if (s) {
        trainer_close(t);  // releases what was opened: every part tolerates never having been created
        return s;
    }
    char mem[32];
    const GPT2Config *mc = &t->model_config;
    printf("model: %zu parameters (n_layer %d, n_head %d, n_embd %d, block_size %d, vocab %d padded to %d); device "
           "memory %s\n",
           t->model.num_parameters, mc->num_layers, mc->num_heads, mc->channels, mc->max_seq_len, mc->vocab_size,
           mc->padded_vocab_size, format_bytes(need, mem, sizeof mem));
    if (comm_size() > 1)
        printf("optimizer state: %s on rank 0%s\n",
               format_bytes((double)optimizer_state_bytes(&t->opt, &t->model), mem, sizeof mem),
               t->opt.shard ? " (zero = 1: its shard)" : " (each rank holds all of it)");
    if (cfg->freeze[0])
        printf("freeze: %zu of %zu parameters frozen (%s); backward pass from block %d up\n",
               gpt2_frozen_params(&t->model), t->model.num_parameters, cfg->freeze, gpt2_backward_floor(&t->model));
    return STATUS_OK;
}

OptimizerHyper optimizer_hyper_from_config(const Config *cfg) {
    OptimizerHyper h = {.beta1 = cfg->beta1, .beta2 = cfg->beta2, .eps = cfg->eps, .weight_decay = cfg->weight_decay,
                        .grad_clip = cfg->grad_clip, .lr_peak = cfg->lr,
                        .skip_bias_correction1 = !cfg->adamw_bias_correction1, .kappa = cfg->liona_kappa,
                        .zero_mean = cfg->lionar_zero_mean, .nesterov = cfg->nesterov, .beta = cfg->beta,
                        .rrc = cfg->rrc_correction, .angle_form = cfg->lionar_angle_form,
                        .angle_value = cfg->lionar_angle_value, .ibc = cfg->inverse_bias_correction};
    return h;
}

MeasureOptions measure_options_from_config(const Config *cfg) {
    return (MeasureOptions){.every = cfg->metrics_every, .rrc_correction = cfg->rrc_correction,
                            .accum = cfg->grad_accum, .b = cfg->batch_size, .snr_ema = cfg->snr_ema};
}

// With several ranks, the gradient SNR's small batches are the ranks' shares of
// each micro-batch: grad_accum x ranks of them, of share.rows sequences, which
// the estimator needs equal.
Status measure_options_for_ranks(const Config *cfg, const BatchShare *share, MeasureOptions *mo) {
    const int ranks = comm_size();
    if (ranks == 1) return STATUS_OK;
    mo->b = share->rows;
    mo->accum = cfg->grad_accum * ranks;
    if ((cfg->metrics_every > 0 || cfg->rrc_correction) && !batch_shares_equal(cfg->balance, cfg->batch_size, ranks))
        return fail(STATUS_INPUT,
                    "the measurements (metrics_every, rrc_correction) take the ranks' shares as the gradient SNR's "
                    "small batches, which must be equal and fixed: batch_size %d over %d ranks with balance = %s are "
                    "not",
                    cfg->batch_size, ranks, cfg->balance);
    return STATUS_OK;
}

void trainer_close(Trainer *t) {
    free(t->rank_rows);
    t->rank_rows = NULL;
    free(t->step_inputs);
    free(t->step_targets);
    t->step_inputs = t->step_targets = NULL;
    measure_free(&t->meas);
    optimizer_free(&t->opt);
    workspace_free(&t->gen_ws);
    workspace_free(&t->val_ws);
    workspace_free(&t->train_ws);
    gpt2_free(&t->model);
    ops_free(&t->ops);
    device_close(&t->dev);
}

// task = sft: reads the step's micro-batches into t->step_inputs/targets and returns the loss
// scale, 1 / (the targets the masks keep), 0 when there are none.
static Status read_step_batches(Trainer *t, DataLoader *d, float *scale) {
    const size_t BT = (size_t)t->cfg.batch_size * t->train_ws.T, accum = (size_t)t->cfg.grad_accum;  // all ranks' rows
    if (!t->step_inputs) {
        t->step_inputs = mallocCheck(accum * BT * sizeof(int));
        t->step_targets = mallocCheck(accum * BT * sizeof(int));
    }
    size_t count = 0;
    for (size_t micro = 0; micro < accum; micro++) {
        TRY(dataloader_next(d));
        memcpy(t->step_inputs + micro * BT, d->inputs, BT * sizeof(int));
        memcpy(t->step_targets + micro * BT, d->targets, BT * sizeof(int));
        count += d->num_targets;
    }
    *scale = count ? 1.0f / (float)count : 0.0f;
    return STATUS_OK;
}

Status trainer_step(Trainer *t, DataLoader *d, int step, float lr, float *loss, float *grad_norm) {
    GPT2 *m = &t->model;
    Workspace *ws = &t->train_ws;
    const int accum = t->cfg.grad_accum, T = ws->T, sft = t->cfg.task == TASK_SFT;
    // The mean over all tokens of the step, all ranks' shares together (task = sft: over the
    // targets the masks keep, counted in the whole step).
    float scale = 1.0f / ((float)t->cfg.batch_size * (float)T * (float)accum);
    if (sft) TRY(read_step_batches(t, d, &scale));
    device_zero(&t->dev, m->grads.parent, 0, m->padded_elems * sizeof(float));
    device_zero(&t->dev, m->stats, 0, sizeof(float));
    // Measurements: with metrics_every = 0 and no rrc_correction both flags are 0 and the step is unchanged.
    const int full = measure_due(&t->meas, step), snr = measure_snr_due(&t->meas, step);
    t->measured = full;
    double t0 = now_seconds();
    const size_t first = (size_t)t->share.first * T, global = (size_t)t->cfg.batch_size * T;
    for (int micro = 0; micro < accum && scale != 0.0f; micro++) {
        if (sft) {
            gpt2_set_batch(ws, t->step_inputs + micro * global + first, t->step_targets + micro * global + first);
        } else {
            TRY(dataloader_next(d));
            gpt2_set_batch(ws, d->inputs + first, d->targets + first);
        }
        if (snr) measure_micro_begin(&t->meas, m);
        gpt2_forward(m, ws, &t->ops, scale, scale);
        gpt2_backward(m, ws, &t->ops);
        if (snr) measure_micro_end(&t->meas, m, &t->ops, micro);
    }
    if (comm_size() > 1) {
        device_finish(&t->dev);
        double t1 = now_seconds();
        t->compute_s = t1 - t0;
        TRY(gpt2_sum_grads(m));
        if (snr) TRY(measure_sum_micro(&t->meas, m));
        t->comm_s = now_seconds() - t1;
    }
    gpt2_zero_frozen_grads(m);
    if (full || snr) TRY(measure_before_update(&t->meas, m, &t->ops, &t->opt, snr, full));
    optimizer_step(&t->opt, m, &t->ops, step, lr);
    TRY(optimizer_gather_params(&t->opt, m));
    float stats[3];
    device_read(&t->dev, m->stats, 0, sizeof stats, stats);
    *loss = stats[0];
    *grad_norm = stats[1];
    if (full)
        TRY(measure_after_update(&t->meas, m, ws, &t->ops, &t->opt, d->inputs + (size_t)t->share.first * T, step, lr,
                                 stats[2]));
    return device_status(&t->dev);
}

Status trainer_reshare(Trainer *t, const int *rows) {
    memcpy(t->rank_rows, rows, (size_t)comm_size() * sizeof(int));
    t->share = batch_share_of(rows, comm_rank());
    workspace_free(&t->val_ws);  // made again by the next validation
    workspace_free(&t->train_ws);
    return workspace_create(&t->train_ws, &t->model, t->share.rows, t->cfg.seq_len, WS_TRAIN);
}

Status trainer_validate(Trainer *t, DataLoader *d, int val_steps, float *loss) {
    GPT2 *m = &t->model;
    Workspace *ws = &t->val_ws;
    if (!ws->dev) TRY(workspace_create(ws, m, t->share.rows, t->cfg.seq_len, WS_FORWARD));
    TRY(dataloader_reset(d));
    device_zero(&t->dev, m->stats, 0, sizeof(float));
    // sft: the sum of the kept targets' losses, divided by their count at the end
    const int sft = t->cfg.task == TASK_SFT;
    const size_t first = (size_t)t->share.first * ws->T;
    const float scale = sft ? 1.0f : 1.0f / ((float)t->cfg.batch_size * (float)ws->T * (float)val_steps);
    size_t count = 0;
    for (int i = 0; i < val_steps; i++) {
        TRY(dataloader_next(d));
        count += d->num_targets;
        gpt2_set_batch(ws, d->inputs + first, d->targets + first);
        gpt2_forward(m, ws, &t->ops, 0.0f, scale);
    }
    TRY(gpt2_sum_over_ranks(m, m->stats, 1));
    device_read(&t->dev, m->stats, 0, sizeof *loss, loss);
    if (sft && count == 0)
        return fail(STATUS_INPUT, "validation: the %d micro-batches of val_data hold no target token of the loss masks",
                    val_steps);
    if (sft) *loss /= (float)count;
    return device_status(&t->dev);
}

Status trainer_sample(Trainer *t, Tokenizer *tok, int step, int n_tokens) {
    Workspace *ws = &t->gen_ws;
    int ctx = sample_context(&t->model_config, n_tokens);
    if (ws->dev && ws->T != ctx) workspace_free(ws);  // kept for samples of the same length only
    if (!ws->dev) TRY(workspace_create(ws, &t->model, 1, ctx, WS_FORWARD));
    SamplerParams sp = {.temperature = 1.0f, .top_k = 40, .top_p = 1.0f};
    Rng rng;
    rng_seed(&rng, (uint64_t)t->cfg.seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)step));
    int eot = tokenizer_eot(tok);
    printf("step %d | sample: ", step);
    fflush(stdout);
    // An <|endoftext|> shows, not stops.
    Status s = gpt2_generate(&t->model, ws, &t->ops, &eot, 1, n_tokens, -1, &sp, &rng, emit_to_stdout, tok);
    printf("\n");
    return s;
}

int trainer_gemm_shapes(Trainer *t, GemmShape *shapes) {
    DataLoader data;
    dataloader_init_synthetic(&data, t->cfg.batch_size, t->cfg.seq_len, t->model_config.vocab_size,
                              (uint64_t)t->cfg.seed);
    ops_record_begin(&t->ops, 1);
    float loss, norm;
    (void)trainer_step(t, &data, 1, 0.0f, &loss, &norm);  // in-memory data cannot fail
    dataloader_free(&data);
    return ops_record_end(&t->ops, shapes);
}
