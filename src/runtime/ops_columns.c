// Column reductions (cl/columns.cl): sums over rows, in row chunks where the
// columns alone would leave the device idle, then a second pass over the chunks.
#include "runtime/ops_launch.h"

// The row chunks of a column reduction over N >= 1 rows: COLSUM_CHUNKS, fewer
// where N is smaller (every chunk has rows); *rows per chunk.
static int column_chunks(const Ops *o, int N, int *rows) {
    const int chunks = o->kp.v[KP_COLSUM_CHUNKS];
    *rows = (N + chunks - 1) / chunks;
    return (N + *rows - 1) / *rows;
}

// The partial-sum scratch for n floats. A smaller one is released (OpenCL
// keeps it until the kernels queued on it have run) and a larger one made.
static cl_mem col_partials(Ops *o, size_t n) {
    if (n > o->col_partials_floats) {
        if (o->col_partials) CL_CHECK(clReleaseMemObject(o->col_partials));
        Status s = device_alloc(o->dev, n * sizeof(float), "column partial sums", &o->col_partials);
        device_keep_failure(s);  // launchers report through device_status
        o->col_partials_floats = s ? 0 : n;
    }
    return o->col_partials;
}

ColumnPlan column_plan(Ops *o, int N, int C, int outputs, int one_pass) {
    ColumnPlan pl = {.chunks = 1, .rows = N, .add = 1};
    if (!one_pass) pl.chunks = column_chunks(o, N, &pl.rows);
    if (pl.chunks == 1) {
        pl.rows = N;
        return pl;
    }
    pl.add = 0;
    pl.partials = col_partials(o, (size_t)outputs * (size_t)pl.chunks * (size_t)C);
    return pl;
}

void column_finish(Ops *o, const ColumnPlan *pl, cl_mem dst0, cl_mem dst1, int C) {
    if (pl->add) return;
    // dst0 (and dst1, the second array of partials) += the partials' chunk sums
    const int chunks = pl->chunks;
    set_args(o, K_column_partials_add, ARG(dst0), ARG(dst1), ARG(pl->partials), ARG(chunks), ARG(C));
    const size_t wg = (size_t)o->kp.v[KP_COLSUM_WG], vw = (size_t)o->kp.v[KP_COLSUM_VW];
    size_t local[2] = {wg, 1}, global[2] = {round_up(((size_t)C + vw - 1) / vw, wg), dst1 != dst0 ? 2 : 1};
    launch(o, K_column_partials_add, 2, global, local);
}

void column_sum(Ops *o, cl_mem dst, cl_mem src, int N, int C, int one_pass) {
    if (o->rec.dry_run || N <= 0 || C <= 0) return;
    ColumnPlan pl = column_plan(o, N, C, 1, one_pass);
    cl_mem out = pl.add ? dst : pl.partials;
    set_args(o, K_column_sum, ARG(out), ARG(src), ARG(N), ARG(C), ARG(pl.rows), ARG(pl.add));
    launch_columns(o, K_column_sum, C, pl.chunks);
    column_finish(o, &pl, dst, dst, C);
}

void op_column_sum(Ops *o, cl_mem dst, cl_mem src, int N, int C) { column_sum(o, dst, src, N, C, 0); }
