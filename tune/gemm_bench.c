#include "tune/gemm_bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/rng.h"
#include "util/util.h"

static size_t batched(const GemmShape *s, size_t stride, size_t last) {
    return (s->batch > 1 ? stride * (s->batch - 1) : 0) + last;
}

size_t gemm_a_elems(const GemmShape *s) { return batched(s, s->stride_a, (s->trans_a ? s->k : s->m) * s->lda); }
size_t gemm_b_elems(const GemmShape *s) { return batched(s, s->stride_b, (s->trans_b ? s->n : s->k) * s->ldb); }
size_t gemm_c_elems(const GemmShape *s) { return batched(s, s->stride_c, s->m * s->ldc); }

double gemm_flops(const GemmShape *s) {
    return 2.0 * (double)s->m * (double)s->n * (double)s->k * (double)(s->batch ? s->batch : 1);
}

const char *gemm_shape_name(const GemmShape *s, char *buf, size_t n) {
    int len = snprintf(buf, n, "%c%c %zux%zux%zu", s->trans_a ? 'T' : 'N', s->trans_b ? 'T' : 'N', s->m, s->n, s->k);
    if (s->batch && len > 0 && (size_t)len < n) snprintf(buf + len, n - (size_t)len, " x%zu", s->batch);
    return buf;
}

static void fill_random(const Device *dev, cl_mem buf, size_t n, Rng *rng) {
    float *h = mallocCheck(n * sizeof *h);
    for (size_t i = 0; i < n; i++) h[i] = rng_uniform(rng) * 2.0f - 1.0f;
    device_write(dev, buf, 0, n * sizeof *h, h);
    free(h);
}

Status gemm_bufs_alloc(GemmBufs *g, const Device *dev, const GemmShape *shapes, int n, unsigned long long seed) {
    *g = (GemmBufs){0};
    for (int i = 0; i < n; i++) {
        if (gemm_a_elems(&shapes[i]) > g->a_elems) g->a_elems = gemm_a_elems(&shapes[i]);
        if (gemm_b_elems(&shapes[i]) > g->b_elems) g->b_elems = gemm_b_elems(&shapes[i]);
        if (gemm_c_elems(&shapes[i]) > g->c_elems) g->c_elems = gemm_c_elems(&shapes[i]);
    }
    Status s = device_alloc(dev, g->a_elems * sizeof(float), "GEMM benchmark A", &g->a);
    if (!s) s = device_alloc(dev, g->b_elems * sizeof(float), "GEMM benchmark B", &g->b);
    if (!s) s = device_alloc(dev, g->c_elems * sizeof(float), "GEMM benchmark C", &g->c);
    if (s) {
        gemm_bufs_free(g);
        return s;
    }
    Rng rng;
    rng_seed(&rng, seed);
    fill_random(dev, g->a, g->a_elems, &rng);
    fill_random(dev, g->b, g->b_elems, &rng);
    return device_status(dev);
}

void gemm_bufs_free(GemmBufs *g) {
    if (g->a) CL_CHECK(clReleaseMemObject(g->a));
    if (g->b) CL_CHECK(clReleaseMemObject(g->b));
    if (g->c) CL_CHECK(clReleaseMemObject(g->c));
    *g = (GemmBufs){0};
}

CLBlastStatusCode gemm_run(const Device *dev, const GemmShape *s, const GemmBufs *g) {
    cl_command_queue q = dev->queue;
    CLBlastTranspose ta = s->trans_a ? CLBlastTransposeYes : CLBlastTransposeNo;
    CLBlastTranspose tb = s->trans_b ? CLBlastTransposeYes : CLBlastTransposeNo;
    if (s->batch)
        return CLBlastSgemmStridedBatched(CLBlastLayoutRowMajor, ta, tb, s->m, s->n, s->k, 1.0f, g->a, 0, s->lda,
                                          s->stride_a, g->b, 0, s->ldb, s->stride_b, 0.0f, g->c, 0, s->ldc,
                                          s->stride_c, s->batch, &q, NULL);
    return CLBlastSgemm(CLBlastLayoutRowMajor, ta, tb, s->m, s->n, s->k, 1.0f, g->a, 0, s->lda, g->b, 0, s->ldb, 0.0f,
                        g->c, 0, s->ldc, &q, NULL);
}

// One call of the GEMM being timed: CLBlast (ours NULL) or our kernel; 0 on success.
static int run_one(const Device *dev, const GemmShape *s, const GemmBufs *g, const GemmKernels *ours) {
    if (!ours) return gemm_run(dev, s, g) != CLBlastSuccess;
    return gemm_cl_enqueue(ours, dev->queue, s->trans_a, s->trans_b, s->m, s->n, s->k, 1.0f, g->a, s->lda,
                           s->stride_a, g->b, s->ldb, s->stride_b, 0.0f, g->c, s->ldc, s->stride_c,
                           s->batch) != CL_SUCCESS;
}

static double time_runs(const Device *dev, const GemmShape *s, const GemmBufs *g, const GemmKernels *ours,
                        double min_seconds, float *out) {
    // NaN-filled C first, so a kernel that skips part of C cannot pass as correct.
    const float nan = NAN;
    CL_CHECK(clEnqueueFillBuffer(dev->queue, g->c, &nan, sizeof nan, 0, gemm_c_elems(s) * sizeof(float), 0, NULL,
                                 NULL));
    if (run_one(dev, s, g, ours)) return -1.0;  // also compiles the kernels: not timed
    if (clFinish(dev->queue) != CL_SUCCESS) return -1.0;
    if (out) device_read(dev, g->c, 0, gemm_c_elems(s) * sizeof(float), out);
    int reps = 0;
    double t0 = now_seconds(), dt;
    do {
        if (run_one(dev, s, g, ours)) return -1.0;
        CL_CHECK(clFinish(dev->queue));
        reps++;
        dt = now_seconds() - t0;
    } while (dt < min_seconds);
    return dt * 1e3 / reps;
}

double gemm_time(const Device *dev, const GemmShape *s, const GemmBufs *g, double min_seconds, float *out) {
    return time_runs(dev, s, g, NULL, min_seconds, out);
}

double gemm_time_cl(const Device *dev, const GemmShape *s, const GemmBufs *g, const GemmKernels *k,
                    double min_seconds, float *out) {
    return time_runs(dev, s, g, k, min_seconds, out);
}

double gemm_rel_error(const float *x, const float *ref, size_t n) {
    double scale = 1.0, err = 0.0;
    for (size_t i = 0; i < n; i++)
        if (fabs((double)ref[i]) > scale) scale = fabs((double)ref[i]);
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)x[i] - (double)ref[i]);
        if (!(d <= err)) err = isnan(d) ? INFINITY : d;  // NaN counts as the worst error
    }
    return err / scale;
}
