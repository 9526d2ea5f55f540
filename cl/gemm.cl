// gpt2cl's own row-major SGEMM, a tunable alternative to CLBlast (see tune/):
// C = alpha * op(A) op(B) + beta * C, optionally strided-batched (dimension 2).
// Built as a program of its own, one per parameter set (src/runtime/gemm_cl.c).
//
// Written for CPU devices through POCL: there a work-group is a loop over its
// items, and the loop vectorizer does not reach across a work-item's own k
// loop, so each item computes a register tile with explicit vectors, the k
// loop innermost over contiguous memory. Two forms, by where memory is contiguous:
//   NN, TN: vectors run along n (rows of B); A's values are broadcast.
//   NT:     vectors run along k (rows of both A and B); dot products, summed at the end.
// Edge tiles take a scalar path, so any m, n, k and leading dimension is legal.
// k0 offsets the k range: the host splits a long k into chunks (GemmParams.kc)
// so that a chunk of B stays in cache while every row of A passes over it.

#ifndef GEMM_VW
#define GEMM_VW 16  // vector width: 4, 8 or 16
#endif
#ifndef GEMM_TM
#define GEMM_TM 4  // rows of C per work-item
#endif
#ifndef GEMM_TN
#define GEMM_TN 2  // NN/TN: vectors of columns per work-item; NT: columns per work-item
#endif
#ifndef GEMM_WG0
#define GEMM_WG0 8  // work-group size along n
#endif
#ifndef GEMM_WG1
#define GEMM_WG1 4  // work-group size along m
#endif

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define floatV CAT(float, GEMM_VW)
#define vloadV CAT(vload, GEMM_VW)
#define vstoreV CAT(vstore, GEMM_VW)

// Sum of a vector's lanes.
static float hsum(floatV v) {
#if GEMM_VW == 16
    float8 a = v.lo + v.hi;
    float4 b = a.lo + a.hi;
#elif GEMM_VW == 8
    float4 b = v.lo + v.hi;
#else
    float4 b = v;
#endif
    float2 c = b.lo + b.hi;
    return c.x + c.y;
}

// C (m,n) element store with alpha/beta; beta 0 never reads C (it may hold NaN).
static void store(__global float *c, float v, float alpha, float beta) {
    *c = beta == 0.0f ? alpha * v : alpha * v + beta * *c;
}

// Generic element of op(A) op(B) for the edge tiles: A(r,p) = a[r*sar + p*sap].
static float dot_scalar(__global const float *a, size_t sar, size_t sap, __global const float *b, size_t sbp,
                        size_t sbc, int r, int col, int K) {
    float s = 0.0f;
    for (int p = 0; p < K; p++) s = fma(a[r * sar + p * sap], b[p * sbp + col * sbc], s);
    return s;
}

// NN and TN: C rows r0.. r0+TM-1, columns c0 + j*VW .. (+VW-1) for j < TN.
// A(r,p) = a[r*sar + p*sap] (NN: sar = lda, sap = 1; TN: sar = 1, sap = lda).
static void gemm_rowvec(int M, int N, int K, float alpha, __global const float *a, size_t sar, size_t sap,
                        __global const float *b, int ldb, float beta, __global float *c, int ldc) {
    const int r0 = get_global_id(1) * GEMM_TM;
    const int c0 = get_global_id(0) * (GEMM_TN * GEMM_VW);
    if (r0 >= M || c0 >= N) return;
    if (r0 + GEMM_TM <= M && c0 + GEMM_TN * GEMM_VW <= N) {
        floatV acc[GEMM_TM][GEMM_TN];
        #pragma unroll
        for (int i = 0; i < GEMM_TM; i++)
            #pragma unroll
            for (int j = 0; j < GEMM_TN; j++) acc[i][j] = (floatV)(0.0f);
        __global const float *ap = a + r0 * sar;
        __global const float *bp = b + c0;
        for (int p = 0; p < K; p++) {
            floatV bv[GEMM_TN];
            #pragma unroll
            for (int j = 0; j < GEMM_TN; j++) bv[j] = vloadV(0, bp + j * GEMM_VW);
            #pragma unroll
            for (int i = 0; i < GEMM_TM; i++) {
                const floatV av = (floatV)(ap[i * sar]);
                #pragma unroll
                for (int j = 0; j < GEMM_TN; j++) acc[i][j] = fma(av, bv[j], acc[i][j]);
            }
            ap += sap;
            bp += ldb;
        }
        #pragma unroll
        for (int i = 0; i < GEMM_TM; i++)
            #pragma unroll
            for (int j = 0; j < GEMM_TN; j++) {
                __global float *cp = c + (size_t)(r0 + i) * ldc + c0 + j * GEMM_VW;
                floatV v = alpha * acc[i][j];
                if (beta != 0.0f) v += beta * vloadV(0, cp);
                vstoreV(v, 0, cp);
            }
        return;
    }
    for (int i = 0; i < GEMM_TM && r0 + i < M; i++)
        for (int j = 0; j < GEMM_TN * GEMM_VW && c0 + j < N; j++)
            store(c + (size_t)(r0 + i) * ldc + c0 + j, dot_scalar(a, sar, sap, b, (size_t)ldb, 1, r0 + i, c0 + j, K),
                  alpha, beta);
}

// NN/TN: k runs along rows of B (and columns of A for NN, rows for TN); NT: along both rows.
#define BATCH_OFFSETS(a_k, b_k)                              \
    const size_t bi = get_global_id(2);                      \
    a += bi * stride_a + (size_t)k0 * (a_k);                 \
    b += bi * stride_b + (size_t)k0 * (b_k);                 \
    c += bi * stride_c;

// C (M,N) = alpha * A (M,K) B (K,N) + beta * C
__kernel __attribute__((reqd_work_group_size(GEMM_WG0, GEMM_WG1, 1))) void gemm_nn(
    int M, int N, int K, int k0, float alpha, __global const float *a, int lda, ulong stride_a, __global const float *b,
    int ldb, ulong stride_b, float beta, __global float *c, int ldc, ulong stride_c) {
    BATCH_OFFSETS(1, ldb)
    gemm_rowvec(M, N, K, alpha, a, (size_t)lda, 1, b, ldb, beta, c, ldc);
}

// C (M,N) = alpha * A^T B + beta * C, A is (K,M)
__kernel __attribute__((reqd_work_group_size(GEMM_WG0, GEMM_WG1, 1))) void gemm_tn(
    int M, int N, int K, int k0, float alpha, __global const float *a, int lda, ulong stride_a, __global const float *b,
    int ldb, ulong stride_b, float beta, __global float *c, int ldc, ulong stride_c) {
    BATCH_OFFSETS(lda, ldb)
    gemm_rowvec(M, N, K, alpha, a, 1, (size_t)lda, b, ldb, beta, c, ldc);
}

// C (M,N) = alpha * A B^T + beta * C, B is (N,K): rows r0.., columns c0.. c0+TN-1,
// vectors along k, the k tail (K % VW) done in scalars.
__kernel __attribute__((reqd_work_group_size(GEMM_WG0, GEMM_WG1, 1))) void gemm_nt(
    int M, int N, int K, int k0, float alpha, __global const float *a, int lda, ulong stride_a, __global const float *b,
    int ldb, ulong stride_b, float beta, __global float *c, int ldc, ulong stride_c) {
    BATCH_OFFSETS(1, 1)
    const int r0 = get_global_id(1) * GEMM_TM;
    const int c0 = get_global_id(0) * GEMM_TN;
    if (r0 >= M || c0 >= N) return;
    if (r0 + GEMM_TM <= M && c0 + GEMM_TN <= N) {
        floatV acc[GEMM_TM][GEMM_TN];
        #pragma unroll
        for (int i = 0; i < GEMM_TM; i++)
            #pragma unroll
            for (int j = 0; j < GEMM_TN; j++) acc[i][j] = (floatV)(0.0f);
        __global const float *ap = a + (size_t)r0 * lda;
        __global const float *bp = b + (size_t)c0 * ldb;
        const int kv = K - K % GEMM_VW;
        for (int p = 0; p < kv; p += GEMM_VW) {
            floatV bv[GEMM_TN];
            #pragma unroll
            for (int j = 0; j < GEMM_TN; j++) bv[j] = vloadV(0, bp + (size_t)j * ldb + p);
            #pragma unroll
            for (int i = 0; i < GEMM_TM; i++) {
                const floatV av = vloadV(0, ap + (size_t)i * lda + p);
                #pragma unroll
                for (int j = 0; j < GEMM_TN; j++) acc[i][j] = fma(av, bv[j], acc[i][j]);
            }
        }
        #pragma unroll
        for (int i = 0; i < GEMM_TM; i++)
            #pragma unroll
            for (int j = 0; j < GEMM_TN; j++) {
                float s = hsum(acc[i][j]);
                for (int p = kv; p < K; p++) s = fma(ap[(size_t)i * lda + p], bp[(size_t)j * ldb + p], s);
                store(c + (size_t)(r0 + i) * ldc + c0 + j, s, alpha, beta);
            }
        return;
    }
    for (int i = 0; i < GEMM_TM && r0 + i < M; i++)
        for (int j = 0; j < GEMM_TN && c0 + j < N; j++)
            store(c + (size_t)(r0 + i) * ldc + c0 + j,
                  dot_scalar(a, (size_t)lda, 1, b, 1, (size_t)ldb, r0 + i, c0 + j, K), alpha, beta);
}
