// Layer train (src/train/): a training run: config keys, data loading, the schedule, this trainer
// (the step, validation, samples), the run loop (run.h), resume checkpoints, the metrics log and
// the run-folder lock. It uses model, runtime, text and util.
//
// What `train` and `bench` share: the device, the model and its optimizer,
// and the training step itself.
#pragma once
#include "model/measure.h"
#include "model/model.h"
#include "model/optimizer.h"
#include "model/workspace.h"
#include "runtime/ops.h"
#include "runtime/tune_apply.h"
#include "text/tokenizer.h"
#include "train/config.h"
#include "train/dataloader.h"
#include "train/schedule.h"
#include "train/shares.h"

typedef struct {
    Config cfg;
    GPT2Config model_config;
    Device dev;
    Ops ops;
    GPT2 model;
    int *rank_rows;      // (ranks) every rank's rows of each micro-batch: all batch_size of them with one rank
    BatchShare share;    // this rank's rows
    Workspace train_ws;  // (share.rows, seq_len), forward and backward
    Workspace val_ws;    // (share.rows, seq_len), forward only; created by the first trainer_validate
    Workspace gen_ws;    // (1, sample context), forward only; created by the first trainer_sample
    Optimizer opt;
    Schedule sched;
    Measure meas;  // update-size measurements and gradient SNR
    int measured;  // the last trainer_step filled meas.t
    double peak_flops;  // the device's measured FP32 peak (FLOP/s), for MFU
    double compute_s, comm_s;  // with several ranks, the last step's time on the device and in the gradient sum
    int *step_inputs, *step_targets;  // task = sft: the step's micro-batches, all ranks' rows, read first
} Trainer;

// The optimizer's hyperparameters from a validated config (trainer_open has put Lion's beta2 default in).
OptimizerHyper optimizer_hyper_from_config(const Config *cfg);
// What to measure, from metrics_every, rrc_correction, grad_accum, batch_size and snr_ema.
MeasureOptions measure_options_from_config(const Config *cfg);
// ... adjusted for several ranks, whose shares of a micro-batch are the SNR's small batches.
Status measure_options_for_ranks(const Config *cfg, const BatchShare *share, MeasureOptions *mo);

// The model shape: from init_from's header when set (explicit model keys must agree), else from the keys.
Status resolve_model_config(const Config *cfg, GPT2Config *mc);
// Opens the device, checks it has the memory the run needs (with the
// validation and sampling workspaces when cfg validates or samples), builds the
// kernels, creates the model (random init or init_from), its training workspace
// and the optimizer. On failure t holds nothing to close.
Status trainer_open(Trainer *t, const Config *cfg, int profiling);
// As trainer_open, which applies TUNE_DATABASE (src/runtime/tune_apply.h), with the tuning level given.
Status trainer_open_ex(Trainer *t, const Config *cfg, int profiling, TuneLevel tuning);
void trainer_close(Trainer *t);
// The GEMM shapes one training step issues (with their calls per step), from a
// step of the real model code with nothing enqueued. Returns their number
// (<= GEMM_LOG_MAX), written to shapes.
int trainer_gemm_shapes(Trainer *t, GemmShape *shapes);
// One optimizer step over grad_accum micro-batches from d. The loss and
// gradient norm are the only values read back from the device. Fails when a
// shard read on the way is bad. The loss is the mean over the step's targets:
// every token (task = lm), or with task = sft the targets the loss masks keep
// (the step's micro-batches are read first to count them; a step without any
// leaves the gradient zero). Frozen parameters (freeze) get no update. With
// several ranks each runs its share of every micro-batch, and the gradients
// are summed over the ranks before the update.
Status trainer_step(Trainer *t, DataLoader *d, int step, float lr, float *loss, float *grad_norm);
// Gives the ranks new rows of each micro-batch (rows[ranks], from balance = auto):
// the training workspace is made anew for this rank's share.
Status trainer_reshare(Trainer *t, const int *rows);
// Mean loss over val_steps micro-batches read from the start of d, into loss (task = sft: over
// the targets the masks keep).
Status trainer_validate(Trainer *t, DataLoader *d, int val_steps, float *loss);
// Prints "step N | sample: ..." with n_tokens generated after <|endoftext|>
// (later end-of-text tokens are printed as text)
// (top-k 40, seeded by seed and step, so training itself is unaffected).
Status trainer_sample(Trainer *t, Tokenizer *tok, int step, int n_tokens);
