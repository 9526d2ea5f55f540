// The JSONL metrics file (one JSON object per line) and the terminal progress line.
#pragma once
#include <stdio.h>

typedef struct {
    FILE *f;  // NULL: no log file
} MetricsLog;

void metrics_log_open(MetricsLog *log, const char *path);  // appends; "" = none
void metrics_log_close(MetricsLog *log);
void metrics_log_step(MetricsLog *log, int step, double loss, double lr, double grad_norm, double ms,
                      double tokens_per_s);
void metrics_log_val(MetricsLog *log, int step, double val_loss);

// "step 12/100 | loss 5.1234 | lr 6.00e-04 | norm 1.23 | 345.1 ms | 742 tok/s | 12.3 GFLOP/s | ETA 1m02s"
void print_progress(int step, int steps, double loss, double lr, double grad_norm, double ms, double tokens_per_s,
                    double flops_per_s, double eta_s);
