// Shared definitions for every gpt2cl kernel. The whole cl/ folder is compiled
// as one program. Its tunables are the #ifndef defaults below; the host always
// passes all of them as -D options (src/runtime/kernel_params.c holds their defaults
// per device and legal values, tune/ searches them per device).

// Work-group size of the 1-D launches (elementwise kernels, column sums, copies).
#ifndef WG
#define WG 256
#endif
// Elements per work-item of the elementwise kernels (FOR_VECTOR): 1, 2, 4, 8 or 16.
#ifndef VW
#define VW 1
#endif
// Work-group sizes of the one-group-per-row kernels, per kernel family (powers of two).
#ifndef LN_WG
#define LN_WG 256  // LayerNorm forward and input gradient
#endif
#ifndef SOFTMAX_WG
#define SOFTMAX_WG 256  // attention softmax, forward and backward
#endif
// Rows per work-group of those two (the work-group is WG x ROWS items).
#ifndef LN_ROWS
#define LN_ROWS 1
#endif
#ifndef SOFTMAX_ROWS
#define SOFTMAX_ROWS 1
#endif
#ifndef CE_WG
#define CE_WG 256  // fused softmax + cross-entropy, loss sum
#endif
#ifndef ROW_WG
#define ROW_WG 256  // per-row optimizer steps and measurements (lionar.cl, row_delta_stats)
#endif
// The global reductions (gradient norm, measurement sums): NORM_GROUPS
// work-groups of REDUCE_WG items each make one partial sum, then one
// work-group adds the partials.
#ifndef REDUCE_WG
#define REDUCE_WG 256
#endif
#ifndef NORM_GROUPS
#define NORM_GROUPS 64
#endif
// Elements per load of the global reductions (1 ... 16): the grid walks the
// n / REDUCE_VW whole vectors, and work-item 0 adds the last n % REDUCE_VW elements.
#ifndef REDUCE_VW
#define REDUCE_VW 1
#endif

// Column reductions (cl/columns.cl: bias gradients, LayerNorm parameter
// gradients, the fused GELU backward's bias gradient): work-groups of
// COLSUM_WG items, COLSUM_VW adjacent columns per item as one vector, and the
// rows split into COLSUM_CHUNKS chunks summed by separate work-items (1: one
// pass down each column; more: partial sums, then a pass adding them up).
#ifndef COLSUM_WG
#define COLSUM_WG 256
#endif
#ifndef COLSUM_VW
#define COLSUM_VW 1
#endif
#ifndef COLSUM_CHUNKS
#define COLSUM_CHUNKS 1
#endif
// Fused paths, chosen by the host (src/runtime/ops.c, src/model/forward.c), 0 or 1 each:
// LN_FUSED: residual add + projection bias + the next LayerNorm in one row pass;
// GELU_FUSED: fc bias + GELU forward; GELU_BWD_FUSED: GELU backward + the fc
// bias gradient (a column kernel, cl/gelu.cl);
// ATTN_FUSED: attention in two kernels (cl/attention_fused.cl) instead of
// batched GEMMs around a (B, NH, T, T) softmax.
#ifndef LN_FUSED
#define LN_FUSED 0
#endif
#ifndef GELU_FUSED
#define GELU_FUSED 0
#endif
#ifndef GELU_BWD_FUSED
#define GELU_BWD_FUSED 0
#endif
#ifndef ATTN_FUSED
#define ATTN_FUSED 0
#endif
// Fused attention: ATTN_BQ rows (query rows forward, key rows in the key
// gradient) per work-group, one per work-item; ATTN_BK rows of the other side
// per tile in local memory (2 ... 16, the width of the score vectors);
// ATTN_VW floats per vector of a head row (1 ... 16).
#ifndef ATTN_BQ
#define ATTN_BQ 64
#endif
#ifndef ATTN_BK
#define ATTN_BK 16
#endif
#ifndef ATTN_VW
#define ATTN_VW 4
#endif

// The elements a work-item of the NORM_GROUPS x REDUCE_WG grid visits in the
// global reductions. Strided (GPUs): neighbouring work-items read
// neighbouring elements, so loads coalesce. Contiguous (CPUs): each work-item
// reads one chunk, which caches and prefetchers want, since a CPU driver runs
// one work-item's loop to its end before the next one.
#ifndef REDUCE_CONTIGUOUS
#define REDUCE_CONTIGUOUS 0
#endif
#define REDUCE_GRID ((size_t)NORM_GROUPS * REDUCE_WG)
#if REDUCE_CONTIGUOUS
#define FOR_GRID_ELEMENTS(i, n)                                                                     \
    for (size_t chunk_ = ((size_t)(n) + REDUCE_GRID - 1) / REDUCE_GRID, i = get_global_id(0) * chunk_, \
                end_ = min((size_t)(n), i + chunk_);                                                \
         i < end_; i++)
#else
#define FOR_GRID_ELEMENTS(i, n) for (size_t i = get_global_id(0); i < (size_t)(n); i += REDUCE_GRID)
#endif

// Vectors of N floats, N one of 1, 2, 4, 8, 16 (a vector tunable's value;
// N = 1 is plain float): the type FLOATN(N), and VLOADN(N)(j, p) /
// VSTOREN(N)(x, j, p), the j-th N-wide vector of p, as vloadN / vstoreN.
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define FLOATN(N) CAT(FLOAT_, N)
#define VLOADN(N) CAT(VLOAD_, N)
#define VSTOREN(N) CAT(VSTORE_, N)
#define FLOAT_1 float
#define VLOAD_1(j, p) ((p)[j])
#define VSTORE_1(x, j, p) ((p)[j] = (x))
#define FLOAT_2 float2
#define VLOAD_2 vload2
#define VSTORE_2 vstore2
#define FLOAT_4 float4
#define VLOAD_4 vload4
#define VSTORE_4 vstore4
#define FLOAT_8 float8
#define VLOAD_8 vload8
#define VSTORE_8 vstore8
#define FLOAT_16 float16
#define VLOAD_16 vload16
#define VSTORE_16 vstore16

// Elementwise kernels: work-item g handles elements [g*VW, g*VW + VW).
// FOR_VECTOR(n, BODY) expands BODY(T, LOAD, STORE, i) with T = floatVW over
// the whole span when it lies below n, else (the tail) element by element
// with T = float. Explicit vectors let CPU drivers use SIMD math (tanh, sqrt)
// that their work-item vectorizer may not reach; GPUs usually want VW 1.
#define LOAD1(p, i) ((p)[i])
#define STORE1(x, p, i) ((p)[i] = (x))
#define floatVW FLOATN(VW)
#define LOADVW(p, i) VLOADN(VW)(0, (p) + (i))
#define STOREVW(x, p, i) VSTOREN(VW)((x), 0, (p) + (i))
#define FOR_VECTOR(n, BODY)                                                                \
    do {                                                                                   \
        const size_t first_ = get_global_id(0) * VW;                                       \
        if (first_ + VW <= (size_t)(n)) {                                                  \
            BODY(floatVW, LOADVW, STOREVW, first_)                                         \
        } else {                                                                           \
            for (size_t e_ = first_; e_ < (size_t)(n); e_++) { BODY(float, LOAD1, STORE1, e_) } \
        }                                                                                  \
    } while (0)

// Column kernels (cl/columns.cl): work-item g of dimension 0 handles columns
// [g*COLSUM_VW, g*COLSUM_VW + COLSUM_VW) of an (N, C) matrix. FOR_COLUMNS(C,
// BODY) expands BODY(T, LOAD, STORE, c) once with T = floatCV over the whole
// span when it lies below C, else column by column with T = float.
#define floatCV FLOATN(COLSUM_VW)
#define LOADCV(p, i) VLOADN(COLSUM_VW)(0, (p) + (i))
#define STORECV(x, p, i) VSTOREN(COLSUM_VW)((x), 0, (p) + (i))
#define FOR_COLUMNS(C, BODY)                                                               \
    do {                                                                                   \
        const int c0_ = get_global_id(0) * COLSUM_VW;                                      \
        if (c0_ + COLSUM_VW <= (C)) {                                                      \
            BODY(floatCV, LOADCV, STORECV, c0_)                                            \
        } else {                                                                           \
            for (int c_ = c0_; c_ < (C); c_++) { BODY(float, LOAD1, STORE1, c_) }          \
        }                                                                                  \
    } while (0)
// The rows [first, end) of chunk k = get_global_id(1) of a column kernel, `rows` per chunk.
#define CHUNK_ROWS(first, end, N, rows)                   \
    const int first = (int)get_global_id(1) * (rows);     \
    const int end = min((int)(N), first + (rows))

// Tree reductions of one value per work-item over a work-group of n items
// (n is the kernel family's work-group define, so the loop is unrolled).
// Every work-item gets the total back. `scratch` must hold n values.
#define WG_REDUCE(NAME, TYPE, COMBINE)                                       \
    inline TYPE NAME(TYPE x, __local TYPE *scratch, const int n) {                        \
        const int lid = get_local_id(0);                                     \
        scratch[lid] = x;                                                    \
        barrier(CLK_LOCAL_MEM_FENCE);                                        \
        for (int s = n / 2; s > 0; s >>= 1) {                                \
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

// NAME(v): the lanes of a vector of N floats combined into one (through
// private memory; N is a define, so the loop unrolls).
#define LANES_REDUCE(NAME, TYPE, N, COMBINE, INIT)                             \
    inline float NAME(TYPE v) {                                              \
        float r = INIT;                                                      \
        for (int i = 0; i < N; i++) r = COMBINE(r, ((float *)&v)[i]);        \
        return r;                                                            \
    }

// The vectors of the global reductions.
#define floatRV FLOATN(REDUCE_VW)
#define LOADRV(p, j) VLOADN(REDUCE_VW)((j), (p))
LANES_REDUCE(lanes_sum_rv, floatRV, REDUCE_VW, WG_ADD, 0.0f)
// i over the elements of [0, n) past the whole vectors, on work-item 0 only.
#define FOR_VECTOR_TAIL(i, n) \
    for (size_t i = get_global_id(0) ? (size_t)(n) : (size_t)(n) / REDUCE_VW * REDUCE_VW; i < (size_t)(n); i++)

// dst[i] += src[i]
#define ACCUMULATE(T, LOAD, STORE, i) STORE(LOAD(dst, i) + LOAD(src, i), dst, i);
__kernel void accumulate(__global float *dst, __global const float *src, int n) { FOR_VECTOR(n, ACCUMULATE); }
