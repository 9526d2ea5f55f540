// How the ranks of a data-parallel run split each global micro-batch: rank r
// takes rows [first, first + rows) of the batch_size sequences every rank's
// loader reads, so N ranks train on the same sequence of global batches as one
// process, and the optimisation is the same whatever the split.
#pragma once
#include "util/status.h"

typedef struct {
    int first, rows;
} BatchShare;

// The share of rank of size ranks from balance: "equal", or one positive weight
// per rank ("3,1"); rows proportional to the weights (largest remainder), each
// rank at least one. Fails when batch_size < size or the weights do not fit.
Status batch_share(const char *balance, int batch_size, int rank, int size, BatchShare *out);
// 1 when every rank has the same number of rows.
int batch_shares_equal(const char *balance, int batch_size, int size);
