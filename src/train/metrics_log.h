// The JSONL metrics file (one JSON object per line) and the terminal progress line.
#pragma once
#include <stdio.h>

#include "model/measure.h"
#include "util/status.h"

typedef struct {
    FILE *f;  // NULL: no log file
} MetricsLog;

// Creates path, or appends to it if it is empty or a gpt2cl log (its first
// line a JSON record starting with "step"); anything else is refused, so a log
// never writes into a checkpoint, a shard or another program's file. "" = none.
Status metrics_log_open(MetricsLog *log, const char *path);
Status metrics_log_close(MetricsLog *log);
// mfu: model FLOP utilisation, the step's model FLOP/s over the device's measured peak.
void metrics_log_step(MetricsLog *log, int step, double loss, double lr, double grad_norm, double ms,
                      double tokens_per_s, double mfu);
void metrics_log_val(MetricsLog *log, int step, double val_loss);
// A classifier's validation (task = classify): {"step", "val_loss", "val_accuracy"}.
void metrics_log_val_accuracy(MetricsLog *log, int step, double val_loss, double val_accuracy);
// One object per measured step: {"step", "angle_configured", "mean_angle_rows", "tensors": {name: {l2, rel, angle,
// angle_rows, rrc, cos_gm, m_over_g[, phi, b_noise]}} for the matrix tensors pooled over the layers,
// "vector_tensors": {name: {l2, rel, angle, cos_gm, m_over_g}} the same for the vector tensors, and
// "layers": {name: [per layer: the same fields plus norm, norm_new, g_norm (and out_norm with rrc)]} for every
// tensor (a one-element list for wte, wpe, lnfw, lnfb), with the per-layer gradient SNR (phi, b_noise).
void metrics_log_measure(MetricsLog *log, int step, const Measure *ms, const GPT2 *m);
// The progress-line summary of a measured step: " | angle 1.23e-03 (eq 1.10e-03)".
void measure_summary(const Measure *ms, char *buf, size_t n);

// "step 12/100 | loss 5.1234 | lr 6.00e-04 | norm 1.23 | 345.1 ms | 742 tok/s | 12.3 GFLOP/s | MFU 6.1% | ETA 1m02s"
// extra (may be NULL) is appended before the ETA, e.g. the measurement summary.
void print_progress(int step, int steps, double loss, double lr, double grad_norm, double ms, double tokens_per_s,
                    double flops_per_s, double mfu, double eta_s, const char *extra);
