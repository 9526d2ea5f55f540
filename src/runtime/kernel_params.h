// The tunables of our kernels in cl/ (the -D defines behind the #ifndef
// defaults of cl/common.cl): their names, per-device defaults and legality.
// src/runtime/tunables.c lists the values the tuner tries; src/runtime/tune_apply.c reads
// the chosen ones from the tuning database.
#pragma once
#include <stddef.h>

#include "runtime/cl_device.h"

typedef enum {
    KP_WG,                 // 1-D launches' work-group size
    KP_VW,                 // elements per work-item of the elementwise kernels
    KP_LN_WG,              // LayerNorm: work-items per row
    KP_LN_ROWS,            // LayerNorm: rows per work-group
    KP_SOFTMAX_WG,         // attention softmax: work-items per row
    KP_SOFTMAX_ROWS,       // attention softmax: rows per work-group
    KP_CE_WG,              // cross-entropy rows' work-group size
    KP_CE_VW,              // cross-entropy: vector width of each work-item's loads
    KP_ROW_WG,             // optimizer / measurement rows' work-group size
    KP_REDUCE_WG,          // global reductions' work-group size
    KP_NORM_GROUPS,        // global reductions' number of partial sums
    KP_REDUCE_CONTIGUOUS,  // global reductions' layout: 1 contiguous chunks (CPUs), 0 strided (GPUs)
    KP_REDUCE_VW,          // global reductions' elements per load
    KP_COLSUM_WG,          // column reductions' work-group size
    KP_COLSUM_VW,          // column reductions: adjacent columns per work-item
    KP_COLSUM_CHUNKS,      // column reductions: row chunks (1 = one pass)
    KP_LN_FUSED,           // 1: projection bias + residual add + LayerNorm in one kernel
    KP_GELU_FUSED,         // 1: fc bias + GELU forward in one kernel
    KP_GELU_BWD_FUSED,     // 1: GELU backward + fc bias gradient in one kernel
    KP_ATTN_FUSED,         // 1: fused attention kernels instead of batched GEMMs and softmax
    KP_ATTN_BQ,            // fused attention: rows per work-group
    KP_ATTN_BK,            // fused attention: rows per tile in local memory
    KP_ATTN_VW,            // fused attention: floats per vector of a head row
    KP_COUNT
} KernelParamId;

typedef struct {
    int v[KP_COUNT];
} KernelParams;

// Partial-sum buffers of the global reductions are sized for the largest NORM_GROUPS.
#define NORM_GROUPS_MAX 1024
// The largest COLSUM_CHUNKS and ATTN_BK.
#define COLSUM_CHUNKS_MAX 256
#define ATTN_BK_MAX 16
// Room for kernel_params_options' string.
#define KERNEL_PARAMS_OPTIONS_MAX 1024

// The define's name ("LN_WG"), as in cl/common.cl and the tuning database.
const char *kernel_param_name(KernelParamId id);
// The id of a define's name, or -1.
int kernel_param_find(const char *name);
// Defaults for dev: work-groups of 256 (or the device's maximum), one row per
// group, vectors of 1, 64 partial sums; by device type the reduction layout,
// the column reductions' work-group, chunks and vectors, the fused GELU
// backward and the fused attention's vectors.
KernelParams kernel_params_default(const Device *dev);
// 1 when p is legal on dev: work-group sizes (including WG x ROWS), rows per
// group, NORM_GROUPS, COLSUM_CHUNKS and ATTN_BK powers of two within the
// device's (and the partial buffers') limits, vector widths 1/2/4/8/16, the
// fused-path switches 0 or 1, and every kernel's __local scratch within the
// device's local memory.
// Otherwise 0, with the offending define's name in *bad (if bad is not NULL).
int kernel_params_valid(const KernelParams *p, const Device *dev, const char **bad);
// Makes the work-group define wg (times rows, its rows per group; KP_COUNT for
// none) at most limit work-items by halving rows first, then wg; a legal set
// stays legal. 0 when even one work-item is over the limit.
int kernel_params_fit(KernelParams *p, KernelParamId wg, KernelParamId rows, size_t limit);
// "-DWG=256 -DVW=1 ..." for the kernel program's build.
void kernel_params_options(const KernelParams *p, char *buf, size_t n);
