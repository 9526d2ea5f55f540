#include "runtime/ops_launch.h"

size_t round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }

void launch(Ops *o, KernelId id, cl_uint dims, const size_t *global, const size_t *local) {
    if (o->rec.dry_run) return;
    double t0 = profiler_begin(&o->prof, o->dev->queue);
    CL_CHECK(clEnqueueNDRangeKernel(o->dev->queue, o->ks.k[id], dims, NULL, global, local, 0, NULL, NULL));
    profiler_end(&o->prof, o->dev->queue, kernel_name(id), t0);
}

void launch_1d(Ops *o, KernelId id, size_t n) {
    if (n == 0) return;
    size_t local = (size_t)o->kp.v[KP_WG], global = round_up(n, local);
    launch(o, id, 1, &global, &local);
}

void launch_vec(Ops *o, KernelId id, size_t n) {
    const size_t vw = (size_t)o->kp.v[KP_VW];
    launch_1d(o, id, round_up(n, vw) / vw);
}

void launch_rows(Ops *o, KernelId id, size_t rows) {
    if (rows == 0) return;
    KernelParamId wg, per_group;
    kernel_family(id, &wg, &per_group);
    if (per_group == KP_COUNT) {
        size_t local = (size_t)o->kp.v[wg], global = rows * local;
        launch(o, id, 1, &global, &local);
        return;
    }
    // ROWS rows per work-group of WG x ROWS items
    size_t r = (size_t)o->kp.v[per_group], local[2] = {(size_t)o->kp.v[wg], r};
    size_t global[2] = {local[0], round_up(rows, r)};
    launch(o, id, 2, global, local);
}

void launch_columns(Ops *o, KernelId id, int C, int chunks) {
    const size_t wg = (size_t)o->kp.v[KP_COLSUM_WG], vw = (size_t)o->kp.v[KP_COLSUM_VW];
    size_t local[2] = {wg, 1}, global[2] = {round_up(((size_t)C + vw - 1) / vw, wg), (size_t)chunks};
    launch(o, id, 2, global, local);
}

void launch_attention(Ops *o, KernelId id, int B, int T, int NH) {
    size_t bq = (size_t)o->kp.v[KP_ATTN_BQ], local[2] = {bq, 1}, global[2] = {round_up((size_t)T, bq), (size_t)B * NH};
    launch(o, id, 2, global, local);
}
