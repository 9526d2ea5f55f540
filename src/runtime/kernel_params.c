#include "runtime/kernel_params.h"

#include <stdio.h>
#include <string.h>

static const char *const names[KP_COUNT] = {
    "WG", "VW", "LN_WG", "LN_ROWS", "SOFTMAX_WG", "SOFTMAX_ROWS", "CE_WG", "CE_VW", "ROW_WG", "REDUCE_WG",
    "NORM_GROUPS", "REDUCE_CONTIGUOUS", "REDUCE_VW", "COLSUM_WG", "COLSUM_VW", "COLSUM_CHUNKS", "LN_FUSED",
    "GELU_FUSED", "GELU_BWD_FUSED", "ATTN_FUSED", "ATTN_BQ", "ATTN_BK", "ATTN_VW"};

const char *kernel_param_name(KernelParamId id) { return names[id]; }

int kernel_param_find(const char *name) {
    for (int i = 0; i < KP_COUNT; i++)
        if (!strcmp(names[i], name)) return i;
    return -1;
}

static int is_pow2(int x) { return x > 0 && (x & (x - 1)) == 0; }

// The __local scratch arrays of cl/*.cl, per work-item of the work-group define
// that sizes them (times its rows per group, where it has them): one float, or
// a float4 for the row kernels' four-sum trees. A new __local array adds its
// row here; ops_init's check of each compiled kernel's CL_KERNEL_LOCAL_MEM_SIZE
// catches one that is missing.
static const struct {
    KernelParamId wg, rows;  // rows: KP_COUNT for one row per group
    int bytes;
} local_scratch[] = {{KP_LN_WG, KP_LN_ROWS, 4}, {KP_SOFTMAX_WG, KP_SOFTMAX_ROWS, 4}, {KP_CE_WG, KP_COUNT, 4},
                     {KP_ROW_WG, KP_COUNT, 16}, {KP_REDUCE_WG, KP_COUNT, 4}};

static int local_fits(const KernelParams *p, const Device *dev, KernelParamId id) {
    for (size_t i = 0; i < sizeof local_scratch / sizeof local_scratch[0]; i++) {
        if (local_scratch[i].wg != id && local_scratch[i].rows != id) continue;
        size_t items = (size_t)p->v[local_scratch[i].wg];
        if (local_scratch[i].rows != KP_COUNT) items *= (size_t)p->v[local_scratch[i].rows];
        if ((cl_ulong)items * (cl_ulong)local_scratch[i].bytes > dev->local_mem) return 0;
    }
    return 1;
}

KernelParams kernel_params_default(const Device *dev) {
    // Row kernels reduce in local memory with a power-of-two work-group.
    int wg = 256;
    while ((size_t)wg > dev->max_wg) wg /= 2;
    KernelParams p;
    for (int i = 0; i < KP_COUNT; i++) p.v[i] = wg;
    p.v[KP_VW] = p.v[KP_CE_VW] = p.v[KP_REDUCE_VW] = p.v[KP_LN_ROWS] = p.v[KP_SOFTMAX_ROWS] = 1;
    p.v[KP_NORM_GROUPS] = 64;
    // Global reductions read contiguous chunks per work-item on CPUs (see FOR_GRID_ELEMENTS in cl/common.cl).
    const int cpu = (dev->type & CL_DEVICE_TYPE_CPU) != 0;
    p.v[KP_REDUCE_CONTIGUOUS] = cpu;
    // Column reductions: a GPU needs the rows split to fill itself (C work-items
    // are a few thousand at most); a CPU wants one pass, vectors of adjacent
    // columns (POCL does not vectorize these loops across work-items) and
    // small groups, so that C / 16 items still make a group per core.
    p.v[KP_COLSUM_WG] = cpu && wg > 8 ? 8 : wg;
    p.v[KP_COLSUM_VW] = cpu ? 16 : 1;
    p.v[KP_COLSUM_CHUNKS] = cpu ? 1 : 64;
    // The fused paths save passes over memory and launches. Measured on the
    // 2-core POCL CPU at GPT-2 124M, B 4 x T 64 (tuned): the GELU backward is
    // slower as a column kernel than elementwise (its tanh and cosh, not memory,
    // bound it there); fused attention is about twice as slow as the batched
    // GEMMs and copies. Neither is measured on GPUs yet.
    p.v[KP_LN_FUSED] = 1;
    p.v[KP_GELU_FUSED] = 1;
    p.v[KP_GELU_BWD_FUSED] = !cpu;
    p.v[KP_ATTN_FUSED] = 0;
    p.v[KP_ATTN_BQ] = wg < 64 ? wg : 64;
    p.v[KP_ATTN_BK] = 16;
    p.v[KP_ATTN_VW] = cpu ? 16 : 4;
    // Smaller groups where a device's local memory cannot hold their scratch.
    for (size_t i = 0; i < sizeof local_scratch / sizeof local_scratch[0]; i++)
        kernel_params_fit(&p, local_scratch[i].wg, local_scratch[i].rows, dev->local_mem / local_scratch[i].bytes);
    return p;
}

int kernel_params_valid(const KernelParams *p, const Device *dev, const char **bad) {
    for (int i = 0; i < KP_COUNT; i++) {
        int x = p->v[i], ok;
        if (i == KP_VW || i == KP_CE_VW || i == KP_REDUCE_VW || i == KP_COLSUM_VW || i == KP_ATTN_VW)
            ok = is_pow2(x) && x <= 16;
        else if (i == KP_NORM_GROUPS) ok = is_pow2(x) && x <= NORM_GROUPS_MAX;
        else if (i == KP_COLSUM_CHUNKS) ok = is_pow2(x) && x <= COLSUM_CHUNKS_MAX;
        else if (i == KP_ATTN_BK) ok = is_pow2(x) && x >= 2 && x <= ATTN_BK_MAX;
        else if (i == KP_REDUCE_CONTIGUOUS || i == KP_LN_FUSED || i == KP_GELU_FUSED || i == KP_GELU_BWD_FUSED ||
                 i == KP_ATTN_FUSED)
            ok = x == 0 || x == 1;
        else if (i == KP_LN_ROWS) ok = is_pow2(x) && (size_t)x * (size_t)p->v[KP_LN_WG] <= dev->max_wg;
        else if (i == KP_SOFTMAX_ROWS) ok = is_pow2(x) && (size_t)x * (size_t)p->v[KP_SOFTMAX_WG] <= dev->max_wg;
        else ok = is_pow2(x) && (size_t)x <= dev->max_wg;
        ok = ok && local_fits(p, dev, (KernelParamId)i);
        if (!ok) {
            if (bad) *bad = names[i];
            return 0;
        }
    }
    return 1;
}

int kernel_params_fit(KernelParams *p, KernelParamId wg, KernelParamId rows, size_t limit) {
    for (;;) {
        size_t r = rows == KP_COUNT ? 1 : (size_t)p->v[rows];
        if ((size_t)p->v[wg] * r <= limit) return 1;
        if (r > 1) p->v[rows] /= 2;  // fewer rows first: each row keeps its work-items
        else if (p->v[wg] > 1) p->v[wg] /= 2;
        else return 0;
    }
}

void kernel_params_options(const KernelParams *p, char *buf, size_t n) {
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < KP_COUNT && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s-D%s=%d", i ? " " : "", names[i], p->v[i]);
}
