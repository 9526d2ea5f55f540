// Column reductions over the N rows of an (N, C) row-major matrix: bias
// gradients, the position-embedding gradient, and the partial-sum pass that
// the LayerNorm parameter gradient (layernorm.cl) and the fused GELU backward
// (gelu.cl) share. Each is a 2-D launch: dimension 0 over the columns
// (FOR_COLUMNS), dimension 1 over chunks of `rows` rows (CHUNK_ROWS).
//   add = 1 (one chunk, COLSUM_CHUNKS = 1): out[c] += the column's sum; one pass,
//           what CPUs want.
//   add = 0: out[k*C + c] = chunk k's sum, and column_partials_add then adds the
//           chunks into the output in order: two passes, but N*C/rows
//           work-items fill a GPU where C of them do not.
// Every sum runs in a fixed order either way: results are deterministic.

#define COLUMN_SUM(T, LOAD, STORE, c)                                           \
    {                                                                           \
        T acc = 0.0f;                                                           \
        for (int n = first; n < end; n++) acc += LOAD(src, (size_t)n * C + c);  \
        __global float *o_ = out + (size_t)get_global_id(1) * C;                \
        STORE(add ? LOAD(o_, c) + acc : acc, o_, c);                            \
    }
__kernel void column_sum(__global float *out, __global const float *src, int N, int C, int rows, int add) {
    CHUNK_ROWS(first, end, N, rows);
    FOR_COLUMNS(C, COLUMN_SUM);
}

// dst_j[c] += sum over k < chunks of partials[(j*chunks + k)*C + c], for the
// one or two outputs j = get_global_id(1) (dst0, dst1).
#define PARTIALS_ADD(T, LOAD, STORE, c)                                         \
    {                                                                           \
        T acc = 0.0f;                                                           \
        for (int k = 0; k < chunks; k++) acc += LOAD(p, (size_t)k * C + c);     \
        STORE(LOAD(dst, c) + acc, dst, c);                                      \
    }
__kernel void column_partials_add(__global float *dst0, __global float *dst1, __global const float *partials,
                                  int chunks, int C) {
    const int j = get_global_id(1);
    __global float *dst = j ? dst1 : dst0;
    __global const float *p = partials + (size_t)j * chunks * C;
    FOR_COLUMNS(C, PARTIALS_ADD);
}
