// Benchmarks our kernels per family (tune_space_families) at a model's shapes:
// a training step's worth of each family's calls, after checking its outputs
// against those of the first run (the device's default parameters).
#include <math.h>
#include <stddef.h>
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

// A bench buffer's length in floats, by what it holds.
typedef enum {
    N_LN,        // (B, T, C)
    N_QKV,       // (B, T, 3C)
    N_EW,        // (B, T, 4C)
    N_ATT,       // (B, NH, T, T)
    N_LOGITS,    // (B, T, Vp)
    N_OPT,       // (rows, C)
    N_ROWS,      // (rows,)
    N_BT,        // (B, T)
    N_C,         // (C,)
    N_C4,        // (4C,)
    N_STATS,     // gradient stats: 4
    N_PARTIALS,  // NORM_GROUPS_MAX
    N_LENGTHS
} Length;

typedef struct {
    size_t field;  // offsetof(KernelBench, ...)
    Length len;
    int random;  // filled uniformly in [lo, hi), else left as allocated or written by write_fixed_inputs
    float lo, hi;
    const char *what;  // named in an allocation failure
} BenchBuffer;

#define F(field) offsetof(KernelBench, field)
#define RANDOM(lo, hi) 1, lo, hi
#define EMPTY 0, 0, 0
// Every buffer of the bench: allocation, random fills (one generator, in this order) and release read this table.
static const BenchBuffer bench_buffers[] = {
    // LayerNorm on (B, T, C)
    {F(inp), N_LN, RANDOM(-2, 2), "tune: LayerNorm input"},
    {F(out), N_LN, EMPTY, "tune: LayerNorm output"},
    {F(dinp), N_LN, EMPTY, "tune: LayerNorm gradient"},
    {F(mean), N_BT, EMPTY, "tune: mean"},
    {F(rstd), N_BT, EMPTY, "tune: rstd"},
    {F(w), N_C, RANDOM(0.5f, 1.5f), "tune: LayerNorm weight"},
    {F(b), N_C, RANDOM(-0.5f, 0.5f), "tune: LayerNorm bias"},
    {F(dw), N_C, EMPTY, "tune: LayerNorm weight gradient"},
    {F(db), N_C, EMPTY, "tune: LayerNorm bias gradient"},
    // softmax on (B, NH, T, T), cross-entropy on (B, T, Vp)
    {F(att0), N_ATT, RANDOM(-4, 4), "tune: attention scores"},
    {F(att), N_ATT, EMPTY, "tune: attention"},
    {F(datt), N_ATT, RANDOM(-1, 1), "tune: attention gradient"},
    {F(logits0), N_LOGITS, RANDOM(-4, 4), "tune: logits"},
    {F(logits), N_LOGITS, EMPTY, "tune: logits copy"},
    {F(losses), N_BT, EMPTY, "tune: losses"},
    {F(targets), N_BT, EMPTY, "tune: targets"},  // ints, of a float's size
    // elementwise on (B, T, 4C)
    {F(x), N_EW, RANDOM(-6, 6), "tune: GELU input"},
    {F(dy), N_EW, RANDOM(-1, 1), "tune: GELU output gradient"},
    {F(y), N_EW, EMPTY, "tune: GELU output"},
    {F(dx), N_EW, EMPTY, "tune: GELU input gradient"},
    // the optimizer and reductions on (rows, C)
    {F(p0), N_OPT, RANDOM(-0.1f, 0.1f), "tune: parameters"},
    {F(target), N_ROWS, EMPTY, "tune: row norms"},
    {F(m0), N_OPT, RANDOM(-0.01f, 0.01f), "tune: first moments"},
    {F(v0), N_OPT, RANDOM(0.0f, 1e-4f), "tune: second moments"},
    {F(g), N_OPT, RANDOM(-0.01f, 0.01f), "tune: gradients"},
    {F(p), N_OPT, EMPTY, "tune: parameters copy"},
    {F(m1), N_OPT, EMPTY, "tune: first moments copy"},
    {F(v1), N_OPT, EMPTY, "tune: second moments copy"},
    {F(stats), N_STATS, EMPTY, "tune: gradient stats"},
    {F(partials), N_PARTIALS, EMPTY, "tune: partial sums"},
    // column sums and the fused paths
    {F(csum), N_C4, EMPTY, "tune: column sums"},
    {F(res), N_LN, EMPTY, "tune: residual"},
    {F(proj0), N_LN, RANDOM(-1, 1), "tune: projection"},
    {F(proj), N_LN, EMPTY, "tune: projection copy"},
    {F(pre0), N_EW, RANDOM(-4, 4), "tune: fc pre-activation"},
    {F(pre), N_EW, EMPTY, "tune: fc pre-activation copy"},
    {F(gout), N_EW, EMPTY, "tune: fc activation"},
    {F(dpre), N_EW, EMPTY, "tune: fc pre-activation gradient"},
    {F(bias4), N_C4, RANDOM(-0.5f, 0.5f), "tune: fc bias"},
    {F(dbias), N_C4, EMPTY, "tune: fc bias gradient"},
    // attention, forward and backward
    {F(qkv), N_QKV, RANDOM(-2, 2), "tune: qkv"},
    {F(dout), N_LN, RANDOM(-1, 1), "tune: attention output gradient"},
    {F(dqkv), N_QKV, EMPTY, "tune: qkv gradient"},
    {F(aout), N_LN, EMPTY, "tune: attention output"},
    {F(aatt), N_ATT, EMPTY, "tune: attention matrix"},
    {F(adatt), N_ATT, EMPTY, "tune: attention matrix gradient"},
    {F(q), N_LN, EMPTY, "tune: attention heads"},
    {F(kk), N_LN, EMPTY, "tune: attention heads"},
    {F(v), N_LN, EMPTY, "tune: attention heads"},
    {F(yh), N_LN, EMPTY, "tune: attention heads"},
    {F(dq), N_LN, EMPTY, "tune: attention heads"},
    {F(dk), N_LN, EMPTY, "tune: attention heads"},
    {F(dv), N_LN, EMPTY, "tune: attention heads"},
    {F(dyh), N_LN, EMPTY, "tune: attention heads"},
};
#undef F
#undef RANDOM
#undef EMPTY

static cl_mem *bench_field(KernelBench *k, const BenchBuffer *b) { return (cl_mem *)((char *)k + b->field); }

// The sizes of the model's shapes; the optimizer's buffers are whole rows of at most OPT_MAX elements.
static void set_lengths(KernelBench *k) {
    const TuneModelShape *m = &k->m;
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
}

static size_t buffer_length(const KernelBench *k, Length len) {
    const size_t BT = (size_t)k->m.B * k->m.T, C = (size_t)k->m.C;
    const size_t lengths[N_LENGTHS] = {
        [N_LN] = k->n_ln, [N_QKV] = 3 * k->n_ln, [N_EW] = k->n_ew, [N_ATT] = k->n_att,
        [N_LOGITS] = k->n_logits, [N_OPT] = k->n_opt, [N_ROWS] = k->rows, [N_BT] = BT,
        [N_C] = C, [N_C4] = 4 * C, [N_STATS] = 4, [N_PARTIALS] = NORM_GROUPS_MAX,
    };
    return lengths[len];
}

static void fill_random(float *h, size_t n, Rng *s, float lo, float hi) {
    for (size_t i = 0; i < n; i++) h[i] = lo + (hi - lo) * rng_uniform(s);
}

// Allocates every buffer of the table and fills the random ones. One that cannot
// be made is NULL with the failure kept for device_status (kernel_bench_create
// checks it once, at its end).
static void make_buffers(KernelBench *k) {
    Rng s;
    rng_seed(&s, 42);
    for (size_t i = 0; i < sizeof bench_buffers / sizeof bench_buffers[0]; i++) {
        const BenchBuffer *b = &bench_buffers[i];
        const size_t n = buffer_length(k, b->len);
        cl_mem *m = bench_field(k, b);
        device_keep_failure(device_alloc(k->dev, n * sizeof(float), b->what, m));
        if (!*m || !b->random) continue;
        float *h = mallocCheck(n * sizeof *h);
        fill_random(h, n, &s, b->lo, b->hi);
        device_write(k->dev, *m, 0, n * sizeof *h, h);
        free(h);
    }
}

// The inputs that are not random: cross-entropy targets, the row norms of the
// parameters (the rotational update's targets) and gradient stats with clip factor 1.
static void write_fixed_inputs(KernelBench *k) {
    const Device *dev = k->dev;
    if (device_status(dev)) return;  // a buffer is missing
    const size_t BT = (size_t)k->m.B * k->m.T, C = (size_t)k->m.C;
    int *t = mallocCheck(BT * sizeof *t);
    for (size_t i = 0; i < BT; i++) t[i] = (int)(i * 7919 % (size_t)k->m.V);
    device_write(dev, k->targets, 0, BT * sizeof(int), t);
    free(t);
    float *h = mallocCheck(k->n_opt * sizeof *h);  // (rows, C)
    device_read(dev, k->p0, 0, k->n_opt * sizeof *h, h);
    float *norms = mallocCheck(k->rows * sizeof *norms);  // (rows,)
    for (size_t r = 0; r < k->rows; r++) {
        double ss = 0;
        for (size_t c = 0; c < C; c++) ss += (double)h[r * C + c] * h[r * C + c];
        norms[r] = (float)sqrt(ss);
    }
    device_write(dev, k->target, 0, k->rows * sizeof *norms, norms);
    free(norms);
    free(h);
    const float stats[4] = {0, 0, 1, 0};
    device_write(dev, k->stats, 0, sizeof stats, stats);
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

// Each family's time below: ms per training step of its calls with the kernels of o,
// or -1 when its outputs (slots 0.. of ref[f]) are wrong.

static double time_elementwise(KernelBench *k, Ops *o, int f) {
    const int L = k->m.L, n_ew = (int)k->n_ew, n_ln = (int)k->n_ln;
    restore_optimizer(k);
    op_gelu_forward(o, k->y, k->x, n_ew);
    op_gelu_backward(o, k->dx, k->x, k->dy, n_ew);
    adamw(k, o);
    if (!check(k, f, 0, k->y, k->n_ew) || !check(k, f, 1, k->dx, k->n_ew) || !check(k, f, 2, k->p, k->n_opt))
        return -1;
    double gelu, gelu_bwd, residual, opt;
    TIMED(gelu, op_gelu_forward(o, k->y, k->x, n_ew));
    TIMED(gelu_bwd, op_gelu_backward(o, k->dx, k->x, k->dy, n_ew));
    TIMED(residual, op_residual_forward(o, k->dx, k->x, k->dy, n_ln));
    TIMED(opt, adamw(k, o));
    return L * (gelu + gelu_bwd + 2 * residual) + k->opt_scale * opt;
}

// The input gradient alone: op_layernorm_backward also runs the parameter
// gradient, a 1-D kernel of the elementwise family's WG.
static double time_layernorm(KernelBench *k, Ops *o, int f) {
    const int BT = k->m.B * k->m.T, C = k->m.C, L = k->m.L;
    device_zero(k->dev, k->dinp, 0, k->n_ln * sizeof(float));
    op_layernorm_forward(o, k->out, k->mean, k->rstd, k->inp, k->w, k->b, BT, C);
    op_layernorm_backward_input(o, k->dinp, k->out, k->inp, k->w, k->mean, k->rstd, BT, C);
    if (!check(k, f, 0, k->out, k->n_ln) || !check(k, f, 1, k->dinp, k->n_ln)) return -1;
    double fwd, bwd;
    TIMED(fwd, op_layernorm_forward(o, k->out, k->mean, k->rstd, k->inp, k->w, k->b, BT, C));
    TIMED(bwd, op_layernorm_backward_input(o, k->dinp, k->out, k->inp, k->w, k->mean, k->rstd, BT, C));
    return (2 * L + 1) * (fwd + bwd);
}

// On a (B*NH*T, T) block of scores (op_attention_* would also run GEMMs).
static double time_softmax(KernelBench *k, Ops *o, int f) {
    const int rows = k->m.B * k->m.NH * k->m.T, T = k->m.T;
    copy(k, k->att, k->att0, k->n_att);
    op_attention_softmax(o, k->att, rows, T);
    if (!check(k, f, 0, k->att, k->n_att)) return -1;
    double fwd, bwd;
    TIMED(fwd, op_attention_softmax(o, k->att, rows, T));
    TIMED(bwd, op_attention_softmax_backward(o, k->datt, k->att, rows, T));
    return k->m.L * (fwd + bwd);
}

static double time_crossentropy(KernelBench *k, Ops *o, int f) {
    const TuneModelShape *m = &k->m;
    const int BT = m->B * m->T;
    copy(k, k->logits, k->logits0, k->n_logits);
    op_crossentropy(o, k->logits, k->losses, k->targets, BT, m->V, m->Vp, 1.0f / (float)BT);
    if (!check(k, f, 0, k->losses, (size_t)BT)) return -1;
    // In place: later repetitions work on their own finite outputs, at the same cost.
    double ms;
    TIMED(ms, op_crossentropy(o, k->logits, k->losses, k->targets, BT, m->V, m->Vp, 1.0f / (float)BT));
    return ms;
}

static double time_rows(KernelBench *k, Ops *o, int f) {
    restore_optimizer(k);
    rot_update(k, o);
    if (!check(k, f, 0, k->p, k->n_opt)) return -1;
    double ms;
    TIMED(ms, rot_update(k, o));
    return k->opt_scale * ms;
}

static double time_reductions(KernelBench *k, Ops *o, int f) {
    op_grad_norm(o, k->stats, k->partials, k->g, k->n_opt, 0.0f);  // max_norm 0: the clip factor stays 1
    if (!check(k, f, 0, k->stats, 4)) return -1;
    double ms;
    TIMED(ms, op_grad_norm(o, k->stats, k->partials, k->g, k->n_opt, 0.0f));
    return k->opt_scale * ms;
}

// The bias gradients of the linear layers and the LayerNorm parameter gradients.
static double time_columns(KernelBench *k, Ops *o, int f) {
    const int BT = k->m.B * k->m.T, C = k->m.C, L = k->m.L;
    op_layernorm_forward(o, k->out, k->mean, k->rstd, k->inp, k->w, k->b, BT, C);
    device_zero(k->dev, k->csum, 0, 4 * (size_t)C * sizeof(float));
    device_zero(k->dev, k->dw, 0, (size_t)C * sizeof(float));
    device_zero(k->dev, k->db, 0, (size_t)C * sizeof(float));
    op_column_sum(o, k->csum, k->x, BT, 4 * C);
    op_layernorm_backward_params(o, k->dw, k->db, k->dy, k->inp, k->mean, k->rstd, BT, C);
    if (!check(k, f, 0, k->csum, 4 * (size_t)C) || !check(k, f, 1, k->dw, (size_t)C) ||
        !check(k, f, 2, k->db, (size_t)C))
        return -1;
    double biases, ln_params;
    TIMED(biases, bias_sums(k, o));
    TIMED(ln_params, op_layernorm_backward_params(o, k->dw, k->db, k->dy, k->inp, k->mean, k->rstd, BT, C));
    return L * biases + (2 * L + 1) * ln_params;
}

// Each switch against the operations it replaces (repetitions add the biases again: same cost).
static double time_fusion(KernelBench *k, Ops *o, int f) {
    copy(k, k->proj, k->proj0, k->n_ln);
    copy(k, k->pre, k->pre0, k->n_ew);
    device_zero(k->dev, k->dbias, 0, 4 * (size_t)k->m.C * sizeof(float));
    residual_norm(k, o);
    bias_gelu(k, o, 1);
    bias_gelu(k, o, 0);
    if (!check(k, f, 0, k->out, k->n_ln) || !check(k, f, 1, k->gout, k->n_ew) ||
        !check(k, f, 2, k->dbias, 4 * (size_t)k->m.C))
        return -1;
    double norm, gelu, gelu_bwd;
    TIMED(norm, residual_norm(k, o));
    TIMED(gelu, bias_gelu(k, o, 1));
    TIMED(gelu_bwd, bias_gelu(k, o, 0));
    return k->m.L * (2 * norm + gelu + gelu_bwd);
}

// With the unfused path's GEMMs as this process runs them (CLBlast, unless tuned before).
static double time_attention(KernelBench *k, Ops *o, int f) {
    attention(k, o);
    if (!check(k, f, 0, k->aout, k->n_ln) || !check(k, f, 1, k->dqkv, 3 * k->n_ln)) return -1;
    double ms;
    TIMED(ms, attention(k, o));
    return k->m.L * ms;
}

typedef struct {
    const char *name;  // tune_space_families[f].kernel
    double (*time)(KernelBench *k, Ops *o, int f);
} FamilyBench;

// Indexed by family, in the order of tune_space_families (kernel_bench_create checks the names).
static const FamilyBench families[TUNE_NUM_FAMILIES] = {
    {"elementwise", time_elementwise},
    {"layernorm", time_layernorm},
    {"softmax", time_softmax},
    {"crossentropy", time_crossentropy},
    {"rows", time_rows},
    {"reductions", time_reductions},
    {"columns", time_columns},
    {"fusion", time_fusion},
    {"attention", time_attention},
};

Status kernel_bench_create(const Device *dev, const DeviceClass *cls, const TuneModelShape *m, KernelBench **out) {
    for (int f = 0; f < TUNE_NUM_FAMILIES; f++)
        if (strcmp(families[f].name, tune_space_families[f].kernel))
            internal_error("kernel bench family %d is '%s', tune_space_families has '%s'", f, families[f].name,
                           tune_space_families[f].kernel);
    KernelBench *k = callocCheck(1, sizeof *k);
    k->dev = dev;
    k->cls = cls;
    k->m = *m;
    set_lengths(k);
    make_buffers(k);
    write_fixed_inputs(k);
    size_t most = k->n_ew > k->n_att ? k->n_ew : k->n_att;  // the longest output a check reads back
    if (k->n_opt > most) most = k->n_opt;
    k->host = mallocCheck(most * sizeof(float));
    Status st = device_status(dev);
    if (st) kernel_bench_free(k);
    *out = st ? NULL : k;
    return st;
}

int kernel_bench_run(KernelBench *k, const KernelParams *kp, const int *want, double *ms) {
    Tuned tuned = {.kp = *kp};
    if (k->cls) tuned_add_class_rules(&tuned, k->cls);
    Ops o;
    if (!ops_try_init(&o, k->dev, &tuned)) return 0;
    for (int f = 0; f < TUNE_NUM_FAMILIES; f++) {
        if (!want[f]) continue;
        ms[f] = families[f].time(k, &o, f);
        k->ref[f].have = 1;
    }
    ops_free(&o);
    return 1;
}

void kernel_bench_free(KernelBench *k) {
    for (size_t i = 0; i < sizeof bench_buffers / sizeof bench_buffers[0]; i++) {
        cl_mem *m = bench_field(k, &bench_buffers[i]);
        if (*m) CL_CHECK(clReleaseMemObject(*m));
    }
    for (int f = 0; f < TUNE_NUM_FAMILIES; f++)
        for (int i = 0; i < 3; i++) free(k->ref[f].out[i]);
    free(k->host);
    free(k);
}
