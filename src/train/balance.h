// balance = auto: the ranks' compute time per step, gathered every step, and
// shares of the micro-batch that follow their speed. Re-split after steps 3
// and 10 (step 1 holds one-time costs), then every 50 steps from the steps
// since the last change. The split changes only the summation order, never
// the global batch, so the optimisation stays the same.
#pragma once
#include <stddef.h>

#include "util/status.h"

typedef struct {
    int ranks;
    int automatic;    // balance = auto with several ranks
    double *last;     // (ranks) compute seconds of each rank's last step
    double *sum;      // (ranks) ... summed since the last re-split
    int summed;       // steps in sum
} Balance;

Status balance_open(Balance *b, const char *balance, int ranks);
void balance_free(Balance *b);
// After step (a collective): gathers every rank's compute seconds; with auto,
// when a re-split is due, writes the rows proportional to each rank's speed
// (rows[r] / seconds) into new_rows and returns 1 in *changed if they differ.
Status balance_after_step(Balance *b, int step, double my_seconds, const int *rows, int batch_size, int *new_rows,
                          int *changed);
// " | ranks 6:2 seq, 1150:380 tok/s" for the progress line (rows, tokens per row and step).
void balance_summary(const Balance *b, const int *rows, double tokens_per_row, char *buf, size_t n);
