// How the ranks of a data-parallel run split each global micro-batch: rank r
// takes rows [first, first + rows) of the batch_size sequences every rank's
// loader reads, so N ranks train on the same sequence of global batches as one
// process, and the optimisation is the same whatever the split.
#pragma once
#include "util/status.h"

typedef struct {
    int first, rows;
} BatchShare;

// The rows of every rank (rows[size]) from balance: "equal" or "auto" (equal
// until measured), or one positive weight per rank ("3,1"). Fails when
// batch_size < size or the weights do not fit.
Status batch_rows(const char *balance, int batch_size, int size, int *rows);
// rows[size] proportional to the weights w (largest remainder), each at least one, summing to batch_size.
void batch_rows_weighted(const double *w, int size, int batch_size, int *rows);
// The share of rank within rows[size].
BatchShare batch_share_of(const int *rows, int rank);
// 1 when balance gives every rank the same number of rows, for good (not auto).
int batch_shares_equal(const char *balance, int batch_size, int size);
