// Benchmarks our one-work-group-per-row kernels (LayerNorm, attention softmax,
// cross-entropy) at a model's shapes for the WG tunable of cl/common.cl.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "tuner.h"
#include "util.h"

#define ROW_TIME 0.1  // seconds of repetitions per kernel and candidate

struct RowBench {
    const Device *dev;
    TuneModelShape m;
    size_t n_ln, n_att, n_logits;
    cl_mem inp, out, mean, rstd, w, b, dw, db, dinp, att, att0, datt, logits, logits0, losses, targets;
    float *ref_ln, *ref_att, *ref_losses, *host;
    int have_ref;
};

static cl_mem random_buf(const Device *dev, size_t n, unsigned long long *s, float lo, float hi, const char *what) {
    cl_mem m = device_alloc(dev, n * sizeof(float), what);
    float *h = mallocCheck(n * sizeof *h);
    for (size_t i = 0; i < n; i++) {
        *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
        h[i] = lo + (hi - lo) * (float)((double)(*s >> 40) / (double)(1ULL << 24));
    }
    device_write(dev, m, 0, n * sizeof *h, h);
    free(h);
    return m;
}

RowBench *row_bench_create(const Device *dev, const TuneModelShape *m) {
    RowBench *r = callocCheck(1, sizeof *r);
    r->dev = dev;
    r->m = *m;
    unsigned long long s = 42;
    size_t BT = (size_t)m->B * m->T;
    r->n_ln = BT * m->C;
    r->n_att = (size_t)m->B * m->NH * m->T * m->T;
    r->n_logits = BT * m->Vp;
    r->inp = random_buf(dev, r->n_ln, &s, -2, 2, "tune: LayerNorm input");
    r->out = device_alloc(dev, r->n_ln * sizeof(float), "tune: LayerNorm output");
    r->dinp = device_alloc(dev, r->n_ln * sizeof(float), "tune: LayerNorm gradient");
    r->mean = device_alloc(dev, BT * sizeof(float), "tune: mean");
    r->rstd = device_alloc(dev, BT * sizeof(float), "tune: rstd");
    r->w = random_buf(dev, (size_t)m->C, &s, 0.5f, 1.5f, "tune: LayerNorm weight");
    r->b = random_buf(dev, (size_t)m->C, &s, -0.5f, 0.5f, "tune: LayerNorm bias");
    r->dw = device_alloc(dev, (size_t)m->C * sizeof(float), "tune: LayerNorm weight gradient");
    r->db = device_alloc(dev, (size_t)m->C * sizeof(float), "tune: LayerNorm bias gradient");
    r->att0 = random_buf(dev, r->n_att, &s, -4, 4, "tune: attention scores");
    r->att = device_alloc(dev, r->n_att * sizeof(float), "tune: attention");
    r->datt = random_buf(dev, r->n_att, &s, -1, 1, "tune: attention gradient");
    r->logits0 = random_buf(dev, r->n_logits, &s, -4, 4, "tune: logits");
    r->logits = device_alloc(dev, r->n_logits * sizeof(float), "tune: logits copy");
    r->losses = device_alloc(dev, BT * sizeof(float), "tune: losses");
    int *t = mallocCheck(BT * sizeof *t);
    for (size_t i = 0; i < BT; i++) t[i] = (int)(i * 7919 % (size_t)m->V);
    r->targets = device_alloc(dev, BT * sizeof(int), "tune: targets");
    device_write(dev, r->targets, 0, BT * sizeof(int), t);
    free(t);
    r->ref_ln = mallocCheck(r->n_ln * sizeof(float));
    r->ref_att = mallocCheck(r->n_att * sizeof(float));
    r->ref_losses = mallocCheck(BT * sizeof(float));
    size_t most = r->n_ln > r->n_att ? r->n_ln : r->n_att;
    r->host = mallocCheck((most > BT ? most : BT) * sizeof(float));
    return r;
}

static double max_rel_diff(const float *x, const float *ref, size_t n) {
    double err = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)x[i] - (double)ref[i]) / (1.0 + fabs((double)ref[i]));
        if (!(d <= err)) err = isnan(d) ? INFINITY : d;
    }
    return err;
}

// Checks one output against the reference (or makes it the reference).
static int check(RowBench *r, cl_mem buf, float *ref, size_t n) {
    float *x = r->have_ref ? r->host : ref;
    device_read(r->dev, buf, 0, n * sizeof(float), x);
    return !r->have_ref || max_rel_diff(x, ref, n) <= 1e-4;
}

// Repeats a launch for ROW_TIME seconds; returns ms per launch. One untimed
// launch first: POCL compiles a kernel for each new work-group size on first use.
#define TIMED(ms, call)                                      \
    do {                                                     \
        call;                                                \
        CL_CHECK(clFinish(r->dev->queue));                   \
        int reps_ = 0;                                       \
        double t0_ = now_seconds(), dt_;                     \
        do {                                                 \
            call;                                            \
            CL_CHECK(clFinish(r->dev->queue));               \
            reps_++;                                         \
            dt_ = now_seconds() - t0_;                       \
        } while (dt_ < ROW_TIME);                            \
        (ms) = dt_ * 1e3 / reps_;                            \
    } while (0)

double row_bench_time(RowBench *r, size_t wg) {
    const Device *dev = r->dev;
    const TuneModelShape *m = &r->m;
    int BT = m->B * m->T, rows_att = m->B * m->NH * m->T;
    Ops o;
    ops_init_wg(&o, dev, wg);
    if (o.wg != wg) {
        ops_free(&o);
        return -1;
    }
    // Correctness first, from pristine inputs.
    device_zero(dev, r->dinp, 0, r->n_ln * sizeof(float));
    op_layernorm_forward(&o, r->out, r->mean, r->rstd, r->inp, r->w, r->b, BT, m->C);
    CL_CHECK(clEnqueueCopyBuffer(dev->queue, r->att0, r->att, 0, 0, r->n_att * sizeof(float), 0, NULL, NULL));
    CL_CHECK(clEnqueueCopyBuffer(dev->queue, r->logits0, r->logits, 0, 0, r->n_logits * sizeof(float), 0, NULL, NULL));
    // The softmax input is a (B*NH*T, T) block of scores; op_attention_* also runs GEMMs, so launch the kernel directly.
    CL_CHECK(clSetKernelArg(o.attention_softmax, 0, sizeof(cl_mem), &r->att));
    CL_CHECK(clSetKernelArg(o.attention_softmax, 1, sizeof(int), &m->T));
    size_t local = o.wg, global = (size_t)rows_att * local;
    CL_CHECK(clEnqueueNDRangeKernel(dev->queue, o.attention_softmax, 1, NULL, &global, &local, 0, NULL, NULL));
    op_crossentropy(&o, r->logits, r->losses, r->targets, BT, m->V, m->Vp, 1.0f / (float)BT);
    CL_CHECK(clFinish(dev->queue));
    int ok = check(r, r->out, r->ref_ln, r->n_ln) && check(r, r->att, r->ref_att, r->n_att) &&
             check(r, r->losses, r->ref_losses, (size_t)BT);
    r->have_ref = 1;
    if (!ok) {
        ops_free(&o);
        return -1;
    }
    // Then the time of a step's worth of calls (inputs are not restored: the
    // in-place kernels then work on their own finite outputs, at the same cost).
    double ln_f, ln_b, sm_f, sm_b, ce;
    TIMED(ln_f, op_layernorm_forward(&o, r->out, r->mean, r->rstd, r->inp, r->w, r->b, BT, m->C));
    TIMED(ln_b, op_layernorm_backward(&o, r->dinp, r->dw, r->db, r->out, r->inp, r->w, r->mean, r->rstd, BT, m->C));
    TIMED(sm_f, CL_CHECK(clEnqueueNDRangeKernel(dev->queue, o.attention_softmax, 1, NULL, &global, &local, 0, NULL,
                                                NULL)));
    CL_CHECK(clSetKernelArg(o.attention_softmax_backward, 0, sizeof(cl_mem), &r->datt));
    CL_CHECK(clSetKernelArg(o.attention_softmax_backward, 1, sizeof(cl_mem), &r->att));
    CL_CHECK(clSetKernelArg(o.attention_softmax_backward, 2, sizeof(int), &m->T));
    TIMED(sm_b, CL_CHECK(clEnqueueNDRangeKernel(dev->queue, o.attention_softmax_backward, 1, NULL, &global, &local, 0,
                                                NULL, NULL)));
    TIMED(ce, op_crossentropy(&o, r->logits, r->losses, r->targets, BT, m->V, m->Vp, 1.0f / (float)BT));
    ops_free(&o);
    int nln = 2 * m->L + 1;
    return nln * (ln_f + ln_b) + m->L * (sm_f + sm_b) + ce;
}

void row_bench_free(RowBench *r) {
    cl_mem all[] = {r->inp, r->out, r->mean, r->rstd, r->w, r->b, r->dw, r->db, r->dinp, r->att, r->att0, r->datt,
                    r->logits, r->logits0, r->losses, r->targets};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) CL_CHECK(clReleaseMemObject(all[i]));
    free(r->ref_ln);
    free(r->ref_att);
    free(r->ref_losses);
    free(r->host);
    free(r);
}
