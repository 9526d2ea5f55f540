// Shared definitions for every gpt2cl kernel. The whole cl/ folder is compiled
// as one program; tunables are #ifndef defaults that the host (and later the
// tuner) may override with -D options.

// Work-group size of the row-reduction kernels (one work-group per row).
#ifndef WG
#define WG 256
#endif
// Number of partial sums of the global gradient-norm reduction.
#ifndef NORM_GROUPS
#define NORM_GROUPS 64
#endif

// The elements a work-item of the NORM_GROUPS x WG grid visits in the global
// reductions (gradient norm, measurements). Strided (GPUs): neighbouring
// work-items read neighbouring elements, so loads coalesce. Contiguous (CPUs):
// each work-item reads one chunk, which caches and prefetchers want, since a
// CPU driver runs one work-item's loop to its end before the next one.
#ifndef REDUCE_CONTIGUOUS
#define REDUCE_CONTIGUOUS 0
#endif
#if REDUCE_CONTIGUOUS
#define FOR_GRID_ELEMENTS(i, n)                                                               \
    for (size_t chunk_ = ((size_t)(n) + (size_t)NORM_GROUPS * WG - 1) / ((size_t)NORM_GROUPS * WG), \
                i = get_global_id(0) * chunk_, end_ = min((size_t)(n), i + chunk_);            \
         i < end_; i++)
#else
#define FOR_GRID_ELEMENTS(i, n) for (size_t i = get_global_id(0); i < (size_t)(n); i += (size_t)NORM_GROUPS * WG)
#endif

// Tree reductions of one value per work-item over a work-group of WG items.
// Every work-item gets the total back. `scratch` must hold WG values.
#define WG_REDUCE(NAME, TYPE, COMBINE)                                       \
    inline TYPE NAME(TYPE x, __local TYPE *scratch) {                        \
        const int lid = get_local_id(0);                                     \
        scratch[lid] = x;                                                    \
        barrier(CLK_LOCAL_MEM_FENCE);                                        \
        for (int s = WG / 2; s > 0; s >>= 1) {                               \
            if (lid < s) scratch[lid] = COMBINE(scratch[lid], scratch[lid + s]); \
            barrier(CLK_LOCAL_MEM_FENCE);                                    \
        }                                                                    \
        TYPE total = scratch[0];                                             \
        barrier(CLK_LOCAL_MEM_FENCE);                                        \
        return total;                                                        \
    }
#define WG_ADD(a, b) ((a) + (b))
WG_REDUCE(wg_sum, float, WG_ADD)
WG_REDUCE(wg_max, float, fmax)
// Four sums in one tree: one float4 tree costs about as much as one float
// tree, and on CPU devices the tree's barriers dominate row kernels.
WG_REDUCE(wg_sum4, float4, WG_ADD)

// dst[c] += sum over rows n of src[n, c]  (src is (N, C), row-major).
// Used for bias gradients, LayerNorm bias gradients and the position-embedding
// gradient. One work-item per column keeps the sum order fixed (deterministic).
__kernel void column_sum(__global float *dst, __global const float *src, int N, int C) {
    const int c = get_global_id(0);
    if (c >= C) return;
    float acc = 0.0f;
    for (int n = 0; n < N; n++) acc += src[(size_t)n * C + c];
    dst[c] += acc;
}

// dst[i] += src[i]
__kernel void accumulate(__global float *dst, __global const float *src, int n) {
    const int i = get_global_id(0);
    if (i < n) dst[i] += src[i];
}
