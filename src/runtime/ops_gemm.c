// GEMMs of the launchers: recorded, then through our kernel where the router
// chose it for the shape, else CLBlast.
#include "runtime/ops_launch.h"

// Runs s through our kernel if it was chosen for s; 1 if it did.
static int gemm_cl_run(Ops *o, const GemmShape *s, float alpha, cl_mem a, cl_mem b, float beta, cl_mem c) {
    const GemmKernels *g = ops_gemm_cl_for(o, s);
    if (!g) return 0;
    double t0 = profiler_begin(&o->prof, o->dev->queue);
    CL_CHECK(gemm_cl_enqueue(g, o->dev->queue, s->trans_a, s->trans_b, s->m, s->n, s->k, alpha, a, s->lda,
                             s->stride_a, b, s->ldb, s->stride_b, beta, c, s->ldc, s->stride_c, s->batch));
    profiler_end(&o->prof, o->dev->queue, "gemm_cl", t0);
    return 1;
}

void gemm(Ops *o, int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha, cl_mem a, size_t lda,
          cl_mem b, size_t ldb, float beta, cl_mem c, size_t ldc) {
    GemmShape s = {.trans_a = trans_a, .trans_b = trans_b, .m = m, .n = n, .k = k, .lda = lda, .ldb = ldb, .ldc = ldc};
    if (o->rec.on) gemm_record(&o->rec, &s);
    if (o->rec.dry_run || gemm_cl_run(o, &s, alpha, a, b, beta, c)) return;
    cl_command_queue q = o->dev->queue;
    double t0 = profiler_begin(&o->prof, q);
    CLBLAST_CHECK(CLBlastSgemm(CLBlastLayoutRowMajor, trans_a ? CLBlastTransposeYes : CLBlastTransposeNo,
                               trans_b ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k, alpha, a, 0, lda, b, 0, ldb,
                               beta, c, 0, ldc, &q, NULL));
    profiler_end(&o->prof, q, "gemm", t0);
}

void gemm_batched(Ops *o, int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha, cl_mem a, size_t lda,
                  size_t stride_a, cl_mem b, size_t ldb, size_t stride_b, float beta, cl_mem c, size_t ldc,
                  size_t stride_c, size_t batch) {
    GemmShape s = {.trans_a = trans_a, .trans_b = trans_b, .m = m, .n = n, .k = k, .lda = lda, .ldb = ldb, .ldc = ldc,
                   .stride_a = stride_a, .stride_b = stride_b, .stride_c = stride_c, .batch = batch};
    if (o->rec.on) gemm_record(&o->rec, &s);
    if (o->rec.dry_run || gemm_cl_run(o, &s, alpha, a, b, beta, c)) return;
    cl_command_queue q = o->dev->queue;
    double t0 = profiler_begin(&o->prof, q);
    CLBLAST_CHECK(CLBlastSgemmStridedBatched(CLBlastLayoutRowMajor, trans_a ? CLBlastTransposeYes : CLBlastTransposeNo,
                                             trans_b ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k, alpha, a, 0,
                                             lda, stride_a, b, 0, ldb, stride_b, beta, c, 0, ldc, stride_c, batch, &q,
                                             NULL));
    profiler_end(&o->prof, q, "gemm_batched", t0);
}
