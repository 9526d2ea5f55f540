// Benchmarks our kernels per family (tune_space_families) at a model's shapes:
// a training step's worth of each family's calls, after checking its outputs
// against those of the first run (the device's default parameters).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/ops.h"
#include "runtime/tunables.h"
#include "runtime/tune_apply.h"
#include "tune/tuner.h"
#include "util/rng.h"
#include "util/util.h"

#define KERNEL_TIME 0.1          // seconds of repetitions per kernel and candidate
#define MAX_REL_ERROR 1e-4       // vs the reference outputs, relative to 1 + |ref|
#define OPT_MAX ((size_t)1 << 24)  // optimizer / reduction buffers: at most this many elements, times scaled to P

// The families, in the order of tune_space_families.
enum { F_ELEMENTWISE, F_LAYERNORM, F_SOFTMAX, F_CROSSENTROPY, F_ROWS, F_REDUCTIONS, F_COLUMNS, F_FUSION, F_ATTENTION };

// The reference outputs of one family (the defaults').
typedef struct {
    int have;
    float *out[3];
} Ref;

struct KernelBench {
    const Device *dev;
    const DeviceClass *cls;  // its GEMM rules route the unfused paths' GEMMs as a run would
    TuneModelShape m;
    size_t n_ln, n_ew, n_att, n_logits, n_opt, rows;
    double opt_scale;  // P / n_opt
    // LayerNorm
    cl_mem inp, out, mean, rstd, w, b, dw, db, dinp;
    // attention softmax, cross-entropy
    cl_mem att, att0, datt, logits, logits0, losses, targets;
    // elementwise: GELU and residual on (B, T, 4C), the optimizer on n_opt
    cl_mem x, y, dy, dx;
    cl_mem p, p0, g, m1, m0, v1, v0, stats, target, partials;
    // column sums (4C wide), the fused paths: projection / fc pre-activation copies, biases, results
    cl_mem csum, res, proj, proj0, pre, pre0, gout, dpre, bias4, dbias;
    // attention, forward and backward
    cl_mem qkv, aout, aatt, q, kk, v, yh, dqkv, dout, adatt, dq, dk, dv, dyh;
    Ref ref[TUNE_NUM_FAMILIES];
    float *host;
};

static void fill_random(float *h, size_t n, Rng *s, float lo, float hi) {
    for (size_t i = 0; i < n; i++) h[i] = lo + (hi - lo) * rng_uniform(s);
}

// A buffer of n floats; one that cannot be made is NULL with the failure kept
// for device_status (kernel_bench_create checks it once, at its end).
static cl_mem buf(const Device *dev, size_t n, const char *what) {
    cl_mem m;
    device_keep_failure(device_alloc(dev, n * sizeof(float), what, &m));
    return m;
}

static cl_mem random_buf(const Device *dev, size_t n, Rng *s, float lo, float hi, const char *what) {
    cl_mem m = buf(dev, n, what);
    if (!m) return NULL;
    float *h = mallocCheck(n * sizeof *h);
    fill_random(h, n, s, lo, hi);
    device_write(dev, m, 0, n * sizeof *h, h);
    free(h);
    return m;
}

Status kernel_bench_create(const Device *dev, const DeviceClass *cls, const TuneModelShape *m, KernelBench **out) {
    KernelBench *k = callocCheck(1, sizeof *k);
    k->dev = dev;
    k->cls = cls;
    k->m = *m;
    Rng s;
    rng_seed(&s, 42);
    size_t BT = (size_t)m->B * m->T;
    k->n_ln = BT * m->C;
    k->n_ew = 4 * k->n_ln;
    k->n_att = (size_t)m->B * m->NH * m->T * m->T;
    k->n_logits = BT * m->Vp;
    size_t P = m->P ? m->P : k->n_ln;
    k->rows = (P < OPT_MAX ? P : OPT_MAX) / (size_t)m->C;
    if (k->rows == 0) k->rows = 1;
    k->n_opt = k->rows * (size_t)m->C;  // whole rows, for the row kernels
    k->opt_scale = (double)P / (double)k->n_opt;

    k->inp = random_buf(dev, k->n_ln, &s, -2, 2, "tune: LayerNorm input");
    k->out = buf(dev, k->n_ln, "tune: LayerNorm output");
    k->dinp = buf(dev, k->n_ln, "tune: LayerNorm gradient");
    k->mean = buf(dev, BT, "tune: mean");
    k->rstd = buf(dev, BT, "tune: rstd");
    k->w = random_buf(dev, (size_t)m->C, &s, 0.5f, 1.5f, "tune: LayerNorm weight");
    k->b = random_buf(dev, (size_t)m->C, &s, -0.5f, 0.5f, "tune: LayerNorm bias");
    k->dw = buf(dev, (size_t)m->C, "tune: LayerNorm weight gradient");
    k->db = buf(dev, (size_t)m->C, "tune: LayerNorm bias gradient");
    k->att0 = random_buf(dev, k->n_att, &s, -4, 4, "tune: attention scores");
    k->att = buf(dev, k->n_att, "tune: attention");
    k->datt = random_buf(dev, k->n_att, &s, -1, 1, "tune: attention gradient");
    k->logits0 = random_buf(dev, k->n_logits, &s, -4, 4, "tune: logits");
    k->logits = buf(dev, k->n_logits, "tune: logits copy");
    k->losses = buf(dev, BT, "tune: losses");
    int *t = mallocCheck(BT * sizeof *t);
    for (size_t i = 0; i < BT; i++) t[i] = (int)(i * 7919 % (size_t)m->V);
    k->targets = buf(dev, BT, "tune: targets");  // ints, of a float's size
    if (k->targets) device_write(dev, k->targets, 0, BT * sizeof(int), t);
    free(t);

    k->x = random_buf(dev, k->n_ew, &s, -6, 6, "tune: GELU input");
    k->dy = random_buf(dev, k->n_ew, &s, -1, 1, "tune: GELU output gradient");
    k->y = buf(dev, k->n_ew, "tune: GELU output");
    k->dx = buf(dev, k->n_ew, "tune: GELU input gradient");
    float *h = mallocCheck(k->n_opt * sizeof *h);
    fill_random(h, k->n_opt, &s, -0.1f, 0.1f);
    k->p0 = buf(dev, k->n_opt, "tune: parameters");
    device_write(dev, k->p0, 0, k->n_opt * sizeof *h, h);
    // Row norms of the parameters: the rotational update's targets.
    float *norms = mallocCheck(k->rows * sizeof *norms);
    for (size_t r = 0; r < k->rows; r++) {
        double ss = 0;
        for (int c = 0; c < m->C; c++) ss += (double)h[r * (size_t)m->C + (size_t)c] * h[r * (size_t)m->C + (size_t)c];
        norms[r] = (float)sqrt(ss);
    }
    k->target = buf(dev, k->rows, "tune: row norms");
    device_write(dev, k->target, 0, k->rows * sizeof *norms, norms);
    free(norms);
    fill_random(h, k->n_opt, &s, -0.01f, 0.01f);
    k->m0 = buf(dev, k->n_opt, "tune: first moments");
    device_write(dev, k->m0, 0, k->n_opt * sizeof *h, h);
    fill_random(h, k->n_opt, &s, 0.0f, 1e-4f);
    k->v0 = buf(dev, k->n_opt, "tune: second moments");
    device_write(dev, k->v0, 0, k->n_opt * sizeof *h, h);
    free(h);
    k->g = random_buf(dev, k->n_opt, &s, -0.01f, 0.01f, "tune: gradients");
    k->p = buf(dev, k->n_opt, "tune: parameters copy");
    k->m1 = buf(dev, k->n_opt, "tune: first moments copy");
    k->v1 = buf(dev, k->n_opt, "tune: second moments copy");
    const float stats[4] = {0, 0, 1, 0};  // clip factor 1
    k->stats = buf(dev, 4, "tune: gradient stats");
    device_write(dev, k->stats, 0, sizeof stats, stats);
    k->partials = buf(dev, NORM_GROUPS_MAX, "tune: partial sums");
    const size_t C4 = 4 * (size_t)m->C;
    k->csum = buf(dev, C4, "tune: column sums");
    k->res = buf(dev, k->n_ln, "tune: residual");
    k->proj0 = random_buf(dev, k->n_ln, &s, -1, 1, "tune: projection");
    k->proj = buf(dev, k->n_ln, "tune: projection copy");
    k->pre0 = random_buf(dev, k->n_ew, &s, -4, 4, "tune: fc pre-activation");
    k->pre = buf(dev, k->n_ew, "tune: fc pre-activation copy");
    k->gout = buf(dev, k->n_ew, "tune: fc activation");
    k->dpre = buf(dev, k->n_ew, "tune: fc pre-activation gradient");
    k->bias4 = random_buf(dev, C4, &s, -0.5f, 0.5f, "tune: fc bias");
    k->dbias = buf(dev, C4, "tune: fc bias gradient");
    k->qkv = random_buf(dev, 3 * k->n_ln, &s, -2, 2, "tune: qkv");
    k->dout = random_buf(dev, k->n_ln, &s, -1, 1, "tune: attention output gradient");
    k->dqkv = buf(dev, 3 * k->n_ln, "tune: qkv gradient");
    k->aout = buf(dev, k->n_ln, "tune: attention output");
    k->aatt = buf(dev, k->n_att, "tune: attention matrix");
    k->adatt = buf(dev, k->n_att, "tune: attention matrix gradient");
    cl_mem *heads[] = {&k->q, &k->kk, &k->v, &k->yh, &k->dq, &k->dk, &k->dv, &k->dyh};
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) *heads[i] = buf(dev, k->n_ln, "tune: attention heads");
    size_t most = k->n_ew > k->n_att ? k->n_ew : k->n_att;
    if (k->n_opt > most) most = k->n_opt;
    k->host = mallocCheck(most * sizeof(float));
    Status st = device_status(dev);
    if (st) kernel_bench_free(k);
    *out = st ? NULL : k;
    return st;
}

static double max_rel_diff(const float *x, const float *ref, size_t n) {
    double err = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)x[i] - (double)ref[i]) / (1.0 + fabs((double)ref[i]));
        if (!(d <= err)) err = isnan(d) ? INFINITY : d;
    }
    return err;
}

// Checks output slot i of family f against the reference, or makes it the reference.
static int check(KernelBench *k, int f, int i, cl_mem b, size_t n) {
    Ref *r = &k->ref[f];
    if (!r->have) {
        r->out[i] = mallocCheck(n * sizeof(float));
        device_read(k->dev, b, 0, n * sizeof(float), r->out[i]);
        return 1;
    }
    device_read(k->dev, b, 0, n * sizeof(float), k->host);
    return max_rel_diff(k->host, r->out[i], n) <= MAX_REL_ERROR;
}

static void copy(KernelBench *k, cl_mem dst, cl_mem src, size_t n) {
    CL_CHECK(clEnqueueCopyBuffer(k->dev->queue, src, dst, 0, 0, n * sizeof(float), 0, NULL, NULL));
}

// Repeats a launch for KERNEL_TIME seconds into ms (per launch). One untimed
// launch first: POCL compiles a kernel for each new work-group size on first use.
#define TIMED(ms, call)                                      \
    do {                                                     \
        call;                                                \
        CL_CHECK(clFinish(k->dev->queue));                   \
        int reps_ = 0;                                       \
        double t0_ = now_seconds(), dt_;                     \
        do {                                                 \
            call;                                            \
            CL_CHECK(clFinish(k->dev->queue));               \
            reps_++;                                         \
            dt_ = now_seconds() - t0_;                       \
        } while (dt_ < KERNEL_TIME);                         \
        (ms) = dt_ * 1e3 / reps_;                            \
    } while (0)

static void adamw(KernelBench *k, Ops *o) {
    op_adamw(o, k->p, k->g, k->m1, k->v1, k->stats, 0, k->n_opt, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 0.5f, 0.1f);
}

static void rot_update(KernelBench *k, Ops *o) {
    RotArgs a = {.mode = 1, .rho_index = -1, .theta = 1e-3f, .beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f,
                 .bc1 = 0.5f, .bc2 = 0.1f};
    op_rot_update_rows(o, k->p, k->g, k->m1, k->v1, k->stats, k->target, k->stats, 0, k->rows, k->m.C, 0, &a);
}

static void restore_optimizer(KernelBench *k) {
    copy(k, k->p, k->p0, k->n_opt);
    copy(k, k->m1, k->m0, k->n_opt);
    copy(k, k->v1, k->v0, k->n_opt);
}

// The four bias gradients of a layer.
static void bias_sums(KernelBench *k, Ops *o) {
    const int BT = k->m.B * k->m.T, C = k->m.C;
    op_column_sum(o, k->csum, k->x, BT, 3 * C);
    op_column_sum(o, k->csum, k->x, BT, C);
    op_column_sum(o, k->csum, k->x, BT, 4 * C);
    op_column_sum(o, k->csum, k->x, BT, C);
}

// A projection's bias, the residual add and the LayerNorm after it: fused (LN_FUSED) or not.
static void residual_norm(KernelBench *k, Ops *o) {
    const int BT = k->m.B * k->m.T, C = k->m.C;
    if (o->kp.v[KP_LN_FUSED]) {
        op_residual_layernorm_forward(o, k->res, k->out, k->mean, k->rstd, k->inp, k->proj, k->w, k->w, k->b, BT, C);
    } else {
        op_add_bias(o, k->proj, k->w, BT, C);
        op_residual_forward(o, k->res, k->inp, k->proj, BT * C);
        op_layernorm_forward(o, k->out, k->mean, k->rstd, k->res, k->w, k->b, BT, C);
    }
}

// The fc layer's bias and GELU, forward (fwd = 1) or backward with the bias gradient: fused
// (GELU_FUSED, GELU_BWD_FUSED) or not.
static void bias_gelu(KernelBench *k, Ops *o, int fwd) {
    const int BT = k->m.B * k->m.T, C4 = 4 * k->m.C;
    const int fused = o->kp.v[fwd ? KP_GELU_FUSED : KP_GELU_BWD_FUSED];
    if (fwd && fused) {
        op_bias_gelu_forward(o, k->gout, k->pre, k->bias4, BT, C4);
    } else if (fwd) {
        op_add_bias(o, k->pre, k->bias4, BT, C4);
        op_gelu_forward(o, k->gout, k->pre, BT * C4);
    } else if (fused) {
        op_gelu_backward_bias(o, k->dpre, k->dbias, k->pre, k->dy, BT, C4);
    } else {
        op_gelu_backward(o, k->dpre, k->pre, k->dy, BT * C4);
        op_column_sum(o, k->dbias, k->dpre, BT, C4);
    }
}

// One layer's attention, forward and backward, on the path o takes.
static void attention(KernelBench *k, Ops *o) {
    const TuneModelShape *m = &k->m;
    if (ops_attention_fused(o, m->C / m->NH)) {
        op_attention_fused_forward(o, k->aout, k->aatt, k->qkv, m->B, m->T, m->C, m->NH);
        op_attention_fused_backward(o, k->dqkv, k->adatt, k->dout, k->aout, k->qkv, k->aatt, m->B, m->T, m->C, m->NH);
    } else {
        op_attention_forward(o, k->aout, k->aatt, k->qkv, NULL, k->q, k->kk, k->v, k->yh, m->B, m->T, m->C, m->NH);
        op_attention_backward(o, k->dqkv, k->dout, k->qkv, k->aatt, k->q, k->kk, k->v, k->adatt, k->dq, k->dk, k->dv,
                              k->dyh, m->B, m->T, m->C, m->NH);
    }
}

// ms per training step of family f's calls with the kernels of o, or -1 when its outputs are wrong.
static double family_time(KernelBench *k, Ops *o, int f) {
    const TuneModelShape *m = &k->m;
    int BT = m->B * m->T, L = m->L, n_ew = (int)k->n_ew, n_ln = (int)k->n_ln, rows_att = m->B * m->NH * m->T;
    double a = 0, b = 0, c = 0, d = 0;
    switch (f) {
    case F_ELEMENTWISE:
        restore_optimizer(k);
        op_gelu_forward(o, k->y, k->x, n_ew);
        op_gelu_backward(o, k->dx, k->x, k->dy, n_ew);
        adamw(k, o);
        if (!check(k, f, 0, k->y, k->n_ew) || !check(k, f, 1, k->dx, k->n_ew) || !check(k, f, 2, k->p, k->n_opt))
            return -1;
        TIMED(a, op_gelu_forward(o, k->y, k->x, n_ew));
        TIMED(b, op_gelu_backward(o, k->dx, k->x, k->dy, n_ew));
        TIMED(c, op_residual_forward(o, k->dx, k->x, k->dy, n_ln));
        TIMED(d, adamw(k, o));
        return L * (a + b + 2 * c) + k->opt_scale * d;
    case F_LAYERNORM:
        // The input gradient alone: op_layernorm_backward also runs the parameter
        // gradient, a 1-D kernel of the elementwise family's WG.
        device_zero(k->dev, k->dinp, 0, k->n_ln * sizeof(float));
        op_layernorm_forward(o, k->out, k->mean, k->rstd, k->inp, k->w, k->b, BT, m->C);
        op_layernorm_backward_input(o, k->dinp, k->out, k->inp, k->w, k->mean, k->rstd, BT, m->C);
        if (!check(k, f, 0, k->out, k->n_ln) || !check(k, f, 1, k->dinp, k->n_ln)) return -1;
        TIMED(a, op_layernorm_forward(o, k->out, k->mean, k->rstd, k->inp, k->w, k->b, BT, m->C));
        TIMED(b, op_layernorm_backward_input(o, k->dinp, k->out, k->inp, k->w, k->mean, k->rstd, BT, m->C));
        return (2 * L + 1) * (a + b);
    case F_SOFTMAX:
        // On a (B*NH*T, T) block of scores (op_attention_* would also run GEMMs).
        copy(k, k->att, k->att0, k->n_att);
        op_attention_softmax(o, k->att, rows_att, m->T);
        if (!check(k, f, 0, k->att, k->n_att)) return -1;
        TIMED(a, op_attention_softmax(o, k->att, rows_att, m->T));
        TIMED(b, op_attention_softmax_backward(o, k->datt, k->att, rows_att, m->T));
        return L * (a + b);
    case F_CROSSENTROPY:
        copy(k, k->logits, k->logits0, k->n_logits);
        op_crossentropy(o, k->logits, k->losses, k->targets, BT, m->V, m->Vp, 1.0f / (float)BT);
        if (!check(k, f, 0, k->losses, (size_t)BT)) return -1;
        // In place: later repetitions work on their own finite outputs, at the same cost.
        TIMED(a, op_crossentropy(o, k->logits, k->losses, k->targets, BT, m->V, m->Vp, 1.0f / (float)BT));
        return a;
    case F_ROWS:
        restore_optimizer(k);
        rot_update(k, o);
        if (!check(k, f, 0, k->p, k->n_opt)) return -1;
        TIMED(a, rot_update(k, o));
        return k->opt_scale * a;
    case F_COLUMNS:
        // The bias gradients of the linear layers and the LayerNorm parameter gradients.
        op_layernorm_forward(o, k->out, k->mean, k->rstd, k->inp, k->w, k->b, BT, m->C);
        device_zero(k->dev, k->csum, 0, 4 * (size_t)m->C * sizeof(float));
        device_zero(k->dev, k->dw, 0, (size_t)m->C * sizeof(float));
        device_zero(k->dev, k->db, 0, (size_t)m->C * sizeof(float));
        op_column_sum(o, k->csum, k->x, BT, 4 * m->C);
        op_layernorm_backward_params(o, k->dw, k->db, k->dy, k->inp, k->mean, k->rstd, BT, m->C);
        if (!check(k, f, 0, k->csum, 4 * (size_t)m->C) || !check(k, f, 1, k->dw, (size_t)m->C) ||
            !check(k, f, 2, k->db, (size_t)m->C))
            return -1;
        TIMED(a, bias_sums(k, o));
        TIMED(b, op_layernorm_backward_params(o, k->dw, k->db, k->dy, k->inp, k->mean, k->rstd, BT, m->C));
        return L * a + (2 * L + 1) * b;
    case F_FUSION:
        // Each switch against the operations it replaces (repetitions add the biases again: same cost).
        copy(k, k->proj, k->proj0, k->n_ln);
        copy(k, k->pre, k->pre0, k->n_ew);
        device_zero(k->dev, k->dbias, 0, 4 * (size_t)m->C * sizeof(float));
        residual_norm(k, o);
        bias_gelu(k, o, 1);
        bias_gelu(k, o, 0);
        if (!check(k, f, 0, k->out, k->n_ln) || !check(k, f, 1, k->gout, k->n_ew) ||
            !check(k, f, 2, k->dbias, 4 * (size_t)m->C))
            return -1;
        TIMED(a, residual_norm(k, o));
        TIMED(b, bias_gelu(k, o, 1));
        TIMED(c, bias_gelu(k, o, 0));
        return L * (2 * a + b + c);
    case F_ATTENTION:
        // With the unfused path's GEMMs as this process runs them (CLBlast, unless tuned before).
        attention(k, o);
        if (!check(k, f, 0, k->aout, k->n_ln) || !check(k, f, 1, k->dqkv, 3 * k->n_ln)) return -1;
        TIMED(a, attention(k, o));
        return L * a;
    case F_REDUCTIONS:
        op_grad_norm(o, k->stats, k->partials, k->g, k->n_opt, 0.0f);  // max_norm 0: the clip factor stays 1
        if (!check(k, f, 0, k->stats, 4)) return -1;
        TIMED(a, op_grad_norm(o, k->stats, k->partials, k->g, k->n_opt, 0.0f));
        return k->opt_scale * a;
    }
    return -1;
}

int kernel_bench_run(KernelBench *k, const KernelParams *kp, const int *want, double *ms) {
    Tuned tuned = {.kp = *kp};
    if (k->cls) tuned_add_class_rules(&tuned, k->cls);
    Ops o;
    if (!ops_try_init(&o, k->dev, &tuned)) return 0;
    for (int f = 0; f < TUNE_NUM_FAMILIES; f++) {
        if (!want[f]) continue;
        ms[f] = family_time(k, &o, f);
        k->ref[f].have = 1;
    }
    ops_free(&o);
    return 1;
}

void kernel_bench_free(KernelBench *k) {
    cl_mem all[] = {k->inp,  k->out,  k->mean, k->rstd,    k->w,       k->b,       k->dw,     k->db,
                    k->dinp, k->att,  k->att0, k->datt,    k->logits,  k->logits0, k->losses, k->targets,
                    k->x,    k->y,    k->dy,   k->dx,      k->p,       k->p0,      k->g,      k->m1,
                    k->m0,   k->v1,   k->v0,   k->stats,   k->target,  k->partials, k->csum, k->res,
                    k->proj, k->proj0, k->pre, k->pre0,   k->gout,    k->dpre,    k->bias4,  k->dbias,
                    k->qkv,  k->aout, k->aatt, k->q,      k->kk,      k->v,       k->yh,     k->dqkv,
                    k->dout, k->adatt, k->dq,  k->dk,     k->dv,      k->dyh};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (all[i]) CL_CHECK(clReleaseMemObject(all[i]));
    for (int f = 0; f < TUNE_NUM_FAMILIES; f++)
        for (int i = 0; i < 3; i++) free(k->ref[f].out[i]);
    free(k->host);
    free(k);
}
