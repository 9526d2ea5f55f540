// What the op_* launchers share (not for callers of ops.h): kernel arguments,
// launch geometry, the GEMM dispatch and the column reductions.
#pragma once
#include "runtime/kernels.h"
#include "runtime/ops.h"
#include "util/util.h"

// set_args(o, K_add_bias, ARG(out), ARG(bias), ...): sets the kernel's arguments in order.
#define set_args(o, id, ...) CL_CHECK(kernel_args((o)->ks.k[id], KERNEL_ARGS(__VA_ARGS__)))

size_t round_up(size_t n, size_t m);
// Enqueues kernel id over global (local) items, timed by the profiler; nothing in a dry run.
void launch(Ops *o, KernelId id, cl_uint dims, const size_t *global, const size_t *local);
// One work-item per element, n elements, in work-groups of WG.
void launch_1d(Ops *o, KernelId id, size_t n);
// Elementwise kernels (FOR_VECTOR in cl/common.cl): one work-item per VW elements.
void launch_vec(Ops *o, KernelId id, size_t n);
// One row per work-group of the kernel family's size, or its family's rows per
// group (a WG x ROWS group, cl/layernorm.cl, cl/attention.cl) where it has them.
void launch_rows(Ops *o, KernelId id, size_t rows);
// A column kernel (cl/columns.cl) over C columns and `chunks` row chunks.
void launch_columns(Ops *o, KernelId id, int C, int chunks);
// The fused attention kernels' grid: work-items over T rows (in groups of ATTN_BQ) x B*NH heads.
void launch_attention(Ops *o, KernelId id, int B, int T, int NH);

// Row-major C (m,n) = alpha * op(A) op(B) + beta * C, A is (m,k) or (k,m) when transposed;
// through our kernel where the router chose it for the shape, else CLBlast.
void gemm(Ops *o, int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha, cl_mem a, size_t lda,
          cl_mem b, size_t ldb, float beta, cl_mem c, size_t ldc);
// The same over batch matrices at the given strides.
void gemm_batched(Ops *o, int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha, cl_mem a, size_t lda,
                  size_t stride_a, cl_mem b, size_t ldb, size_t stride_b, float beta, cl_mem c, size_t ldc,
                  size_t stride_c, size_t batch);

// How a column reduction over N rows runs: in `chunks` chunks of `rows` rows,
// straight into its outputs (add, one chunk) or into `partials` (`outputs`
// arrays of chunks x C floats, one after the other) added up by column_finish.
typedef struct {
    int chunks, rows, add;
    cl_mem partials;
} ColumnPlan;

// one_pass keeps one chunk (where C alone fills the device).
ColumnPlan column_plan(Ops *o, int N, int C, int outputs, int one_pass);
// dst0 (and dst1 when it differs) += the chunks' partial sums, if the reduction made any.
void column_finish(Ops *o, const ColumnPlan *pl, cl_mem dst0, cl_mem dst1, int C);
// dst (C) += column sums of src (N, C).
void column_sum(Ops *o, cl_mem dst, cl_mem src, int N, int C, int one_pass);
