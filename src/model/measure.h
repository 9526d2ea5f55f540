// Update-size measurements (metrics_every = K: every K steps; 0 = off, and the
// training step then does no extra work) and the gradient signal-to-noise
// estimate (also every step under rrc_correction). Per matrix tensor:
//   l2, rel      ||w' - w||, ||w' - w|| / ||w||
//   angle        angle between the flattened w and w', angle_rows the RMS over
//                nonzero rows of each row's angle; 2*asin(chord/2) in double
//   rrc          ||X (W'-W)^T|| / ||X W^T|| over the layer inputs X of the last
//                micro-batch (embeddings: the rows of the batch's tokens / positions)
//   phi, b_noise gradient SNR G2/S and S/G2 from the two-batch-size estimator
//   cos_gm, m_over_g  cosine of g_t and the momentum entering step t, and their norm ratio
// The device does the reductions; the host reads back per-tensor and per-row
// sums on measured steps only and finishes them in double.
#pragma once
#include "model/model.h"
#include "model/optimizer.h"
#include "model/workspace.h"
#include "runtime/ops.h"

// What to measure: every K steps (0: never), the SNR for rrc_correction, over
// accum micro-batches of b sequences, its EMA factor.
typedef struct {
    int every, rrc_correction, accum, b;
    double snr_ema;
} MeasureOptions;

typedef struct {
    double l2, rel, angle, angle_rows, rrc, phi, b_noise, cos_gm, m_over_g;
    // the ingredients of the ratios, so that per-layer values can be pooled again:
    // ||w||, ||w'||, the clipped ||g||, ||X W^T|| (rrc's denominator)
    double norm, norm_new, g_norm, out_norm;
    int have_rrc, have_snr;
} TensorMeasure;

typedef struct {
    int every, rrc_correction, accum, b;
    double snr_ema;
    size_t num_rows;
    cl_mem prev;      // parameters before the update (parent layout); metrics only
    cl_mem gprev;     // accumulated gradient before the current micro-batch; SNR only
    cl_mem rows;      // (num_rows, 3) per-row sums, see op_row_delta_stats
    cl_mem tstats;    // (NUM_PARAM_TENSORS, 4): |g|^2, g.m, |m|^2 before the update
    cl_mem micro;     // (NUM_PARAM_TENSORS, 4): [3] = sum over micro-batches of |their gradient share|^2
    cl_mem rrc;       // (NUM_PARAM_TENSORS * L * 2, 4): ||X W^T||^2 and ||X dW^T||^2 at [0]
    cl_mem partials;  // (NORM_GROUPS_MAX, 4)
    // per layer (slot i*L + l for slice l of tensor i), measured steps only:
    cl_mem vrows;     // (NUM_PARAM_TENSORS * L, 3) the vector slices' sums, as rows (op_row_delta_stats)
    cl_mem lstats;    // (NUM_PARAM_TENSORS * L, 4) |g|^2, g.m, |m|^2 of each slice
    cl_mem lmicro;    // (NUM_PARAM_TENSORS * L, 4) as micro, per slice (SNR only)
    cl_mem lsnr;      // (NUM_PARAM_TENSORS * L, 4) as the optimizer's snr, per slice (SNR only)
    cl_mem wscratch;  // (4C*C) the change of one weight slice
    cl_mem yscratch;  // (B*T*4C) a layer output
    // results of the last measured step: pooled over the layers (t; vector tensors without
    // angle_rows, rrc and SNR) and per layer (layer[i][l], every tensor)
    TensorMeasure t[NUM_PARAM_TENSORS];
    TensorMeasure *layer[NUM_PARAM_TENSORS];
    double angle_configured;  // optimizer_angle at this step
    double mean_angle_rows;   // mean over matrix tensors of angle_rows
} Measure;

// ws: the training workspace, whose shape sizes the output scratch.
Status measure_create(Measure *ms, GPT2 *m, const Workspace *ws, const MeasureOptions *mo);
void measure_free(Measure *ms);
// Extra parameter-sized buffers measuring with mo allocates (for the memory estimate).
int measure_param_copies(const MeasureOptions *mo);
int measure_due(const Measure *ms, int step);      // full measurement at this step
int measure_snr_due(const Measure *ms, int step);  // gradient SNR at this step
// Around micro-batch k of a step that computes the SNR.
void measure_micro_begin(Measure *ms, GPT2 *m);
void measure_micro_end(Measure *ms, GPT2 *m, Ops *o, int k);
// With several ranks: sums the micro-batch statistics over them, so the ranks'
// shares of each micro-batch are the SNR's small batches. Before measure_before_update.
Status measure_sum_micro(Measure *ms, const GPT2 *m);
// After the gradients are complete, before optimizer_step.
Status measure_before_update(Measure *ms, GPT2 *m, Ops *o, Optimizer *opt, int snr, int full);
// After optimizer_step on a measured step: computes and reads back everything.
// ws holds the last micro-batch's activations, inputs (B,T) its tokens; clip
// is the step's clipping factor. rrc's sums are summed over the ranks.
Status measure_after_update(Measure *ms, GPT2 *m, const Workspace *ws, Ops *o, Optimizer *opt, const int *inputs,
                            int step, float lr, float clip);
