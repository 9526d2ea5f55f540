// Optimizers and update-size measurements on the device against the plain C
// reference of tests/optimizer_reference.c and host computations.
//
// A tiny GPT-2 parameter set (V=100 padded to 128, maxT 8, L 2, C 24: rows of
// 24 and 96, not multiples of the work-group) with random weights and random
// gradients; padded wte rows are zero with zero gradients, as in training.
// Errors are max|got - ref| / max|ref| over all parameters (compare_rel_to_max);
// the reference runs in double (Lion momentum in float with the kernel's
// arithmetic, so sign(c) is taken of the same value), so the tolerances cover
// float32 rounding over 5 steps: 2e-6 for the elementwise optimizers and 2e-5
// for the rotational ones (fp32 row sums of up to 96 terms and a rescale per step).
// The small mode (GPT2CL_TEST_SMALL=1, for the oclgrind suite) runs 2 steps per
// case, once, with GPU-shaped kernel parameters.
#include <float.h>
#include <math.h>
#include <string.h>

#include "model/forward.h"
#include "model/measure.h"
#include "optimizer_reference.h"
#include "reference.h"
#include "test_util.h"
#include "train/config.h"
#include "train/trainer.h"
#include "util/rng.h"
#include "util/util.h"

static Device dev;
static Ops ops;
static Rng rng;
static GPT2 model;
static Workspace ws;  // the model's training workspace, (2, 8)
static RefTensor rts[NUM_PARAM_TENSORS];
static size_t N;  // parameters (llm.c layout)
static float *last_g;  // the gradient of run_case's last step

static void randn_params(float *w, float std) {
    for (size_t i = 0; i < N; i++) w[i] = rng_normal(&rng, 0, std);
    // padded vocabulary rows are zero
    const ParamTensor *t = &model.tensors[P_WTE];
    for (size_t i = (size_t)model.config.vocab_size * t->cols; i < t->slice_elems; i++) w[t->llmc_offset + i] = 0;
}

typedef struct {
    const char *name, *kind;
    OptimizerHyper h;
    int steps;
    double tol;
    const double *rho;  // rrc factors to install per tensor, or NULL
} Case;

static OptimizerHyper base_hyper(const char *kind) {
    int lion = strncmp(kind, "lion", 4) == 0;
    return (OptimizerHyper){.beta1 = 0.9, .beta2 = lion ? 0.99 : 0.95, .eps = 1e-8, .weight_decay = 0.1,
                            .grad_clip = lion ? 0.0 : 1.0, .lr_peak = 0.05, .kappa = sqrt(0.1 / 1.9),
                            .angle_form = ANGLE_LION, .beta = 0.98};
}

// Runs c->steps device steps and the reference side by side; returns the final max error.
// If w_before is not NULL it gets the device parameters before the last step, w_after after it.
static double run_case(const Case *c, float *w_before, float *w_after, float **target_out) {
    Optimizer opt;
    MUST(optimizer_create(&opt, optimizer_find(c->kind), &c->h, &model));
    float *w0 = mallocCheck(N * sizeof(float)), *g = mallocCheck(N * sizeof(float));
    randn_params(w0, 0.2f);
    gpt2_upload(&model, model.params.parent, w0);
    RefState s = {.w = mallocCheck(N * sizeof(double)), .mf = callocCheck(N, sizeof(float)),
                  .m = callocCheck(N, sizeof(double)), .v = callocCheck(N, sizeof(double)),
                  .target = callocCheck(opt.num_rows + 1, sizeof(double))};
    for (size_t i = 0; i < N; i++) s.w[i] = w0[i];
    if (c->rho) {
        float snr[SNR_FLOATS] = {0};
        for (int i = 0; i < NUM_PARAM_TENSORS; i++) snr[4 * i + 3] = (float)c->rho[i];
        device_write(&dev, opt.snr, 0, sizeof snr, snr);
    }
    for (int t = 1; t <= c->steps; t++) {
        double lr = c->h.lr_peak * (0.5 + 0.5 * t / c->steps);  // a changing lr: s_t enters the angle
        randn_params(g, 1.0f);
        gpt2_upload(&model, model.grads.parent, g);
        memcpy(last_g, g, N * sizeof(float));
        double clip;
        ref_grad_norm(g, N, c->h.grad_clip, &clip);
        if (t == c->steps && w_before) gpt2_download(&model, model.params.parent, w_before);
        optimizer_step(&opt, &model, &ops, t, (float)lr);
        ref_optimizer_step(c->kind, &c->h, rts, NUM_PARAM_TENSORS, &s, g, clip, t, lr, c->rho);
    }
    float *got = mallocCheck(N * sizeof(float)), *ref = mallocCheck(N * sizeof(float));
    gpt2_download(&model, model.params.parent, got);
    for (size_t i = 0; i < N; i++) ref[i] = (float)s.w[i];
    char what[96];
    snprintf(what, sizeof what, "%s params (%d steps)", c->name, c->steps);
    double e = compare_rel_to_max(what, got, ref, N, c->tol);
    // the momentum too
    gpt2_download(&model, opt.state[0], got);
    int lionlike = strncmp(c->kind, "lion", 4) == 0;
    for (size_t i = 0; i < N; i++) ref[i] = lionlike ? s.mf[i] : (float)s.m[i];
    snprintf(what, sizeof what, "%s momentum", c->name);
    compare_rel_to_max(what, got, ref, N, 1e-5);
    if (w_after) gpt2_download(&model, model.params.parent, w_after);
    if (target_out && opt.num_rows) {
        *target_out = mallocCheck(opt.num_rows * sizeof(float));
        device_read(&dev, opt.target, 0, opt.num_rows * sizeof(float), *target_out);
    }
    optimizer_free(&opt);
    free(w0), free(g), free(s.w), free(s.mf), free(s.m), free(s.v), free(s.target), free(got), free(ref);
    return e;
}

static void test_against_reference(void) {
    const int steps = test_small() ? 2 : 5;  // the small mode's 2 still exercise momentum and a changing lr
    printf("-- every optimizer and option vs the C reference, %d steps\n", steps);
    static const double rho[NUM_PARAM_TENSORS] = {0.3, 0.4, 1, 1, 0.5, 1, 0.6, 1, 1, 1, 0.7, 1, 0.8, 1, 1, 1};
    Case cases[32];
    int n = 0;
#define CASE(nm, k, tol_, ...)                                                                        \
    do {                                                                                              \
        cases[n] = (Case){.name = nm, .kind = k, .h = base_hyper(k), .steps = steps, .tol = tol_};   \
        OptimizerHyper *h = &cases[n].h;                                                              \
        (void)h;                                                                                      \
        __VA_ARGS__;                                                                                  \
        n++;                                                                                          \
    } while (0)
    CASE("adamw", "adamw", 2e-6, );
    CASE("adamw bias_correction1=false", "adamw", 2e-6, h->skip_bias_correction1 = 1);
    CASE("lion", "lion", 2e-6, );
    CASE("lion nesterov", "lion", 2e-6, h->nesterov = 1);
    CASE("liona", "liona", 2e-6, );
    CASE("lionar angle=lion", "lionar", 2e-5, );
    CASE("lionar angle=adamw", "lionar", 2e-5, h->angle_form = ANGLE_ADAMW);
    CASE("lionar angle=simple", "lionar", 2e-5, h->angle_form = ANGLE_SIMPLE);
    CASE("lionar angle=0.02", "lionar", 2e-5, h->angle_form = ANGLE_NUMBER; h->angle_value = 0.02);
    CASE("lionar zero_mean", "lionar", 2e-5, h->zero_mean = 1);
    CASE("lionar nesterov ibc=linear", "lionar", 2e-5, h->nesterov = 1; h->ibc = IBC_LINEAR);
    CASE("lionar ibc=sqrt", "lionar", 2e-5, h->ibc = IBC_SQRT);
    CASE("lionar rrc factors", "lionar", 2e-5, h->rrc = 1; cases[n].rho = rho);
    CASE("lionar clipped", "lionar", 2e-5, h->grad_clip = 1.0);
    CASE("rv_adamw", "rv_adamw", 2e-5, );
    CASE("rv_adamw zero_mean ibc=linear", "rv_adamw", 2e-5, h->zero_mean = 1; h->ibc = IBC_LINEAR);
    CASE("rv_adamw rrc factors", "rv_adamw", 2e-5, h->rrc = 1; cases[n].rho = rho);
#undef CASE
    for (int i = 0; i < n; i++) run_case(&cases[i], NULL, NULL, NULL);
}

// ||w_r||, and the angle of each row from w to w' in double (2 asin(chord/2)).
static double row_norm(const float *w, size_t cols) {
    double s = 0;
    for (size_t j = 0; j < cols; j++) s += (double)w[j] * w[j];
    return sqrt(s);
}

static double row_angle(const float *w, const float *w2, size_t cols) {
    double a = row_norm(w, cols), b = row_norm(w2, cols), ch = 0;
    for (size_t j = 0; j < cols; j++) ch += pow(w2[j] / b - w[j] / a, 2);
    return 2 * asin(sqrt(ch) / 2);
}

static void test_invariants(void) {
    printf("-- spec invariants\n");
    float *w = mallocCheck(N * sizeof(float)), *w2 = mallocCheck(N * sizeof(float));
    // Lion: every element with a nonzero gradient moves by exactly eta after the decay.
    {
        Case c = {.name = "lion 1 step", .kind = "lion", .h = base_hyper("lion"), .steps = 1, .tol = 2e-6};
        run_case(&c, w, w2, NULL);
        double lr = c.h.lr_peak, worst = 0;
        for (int k = 0; k < NUM_PARAM_TENSORS; k++) {
            const ParamTensor *pt = &model.tensors[k];
            float decay = 1.0f - (float)lr * (pt->is_matrix ? 0.1f : 0.0f);
            size_t n = pt->slice_elems * pt->num_slices, live = k == P_WTE ? (size_t)model.config.vocab_size * pt->cols : n;
            for (size_t i = 0; i < live; i++) {
                size_t j = pt->llmc_offset + i;
                double moved = fabs((double)w2[j] - (double)(w[j] * decay));
                // float rounding of w*decay - eta: a few ulps of |w|
                worst = fmax(worst, fabs(moved - lr) / (4 * FLT_EPSILON * fmax(fabs(w[j]), lr)));
            }
        }
        EXPECT(worst <= 1, "lion: an element moved by a different amount than eta (%.2f of tolerance)", worst);
        printf("%-4s lion moves each element by eta         worst |moved - eta| = %.2f of 4 ulp(|w|)\n",
               worst <= 1 ? "ok" : "FAIL", worst);
    }
    // AdamW step 1: |update| = eta (bias-corrected) or (1-beta1) eta, up to eps/|g|.
    for (int bc = 1; bc >= 0; bc--) {
        Case c = {.name = bc ? "adamw 1 step" : "adamw bc1=false 1 step", .kind = "adamw", .h = base_hyper("adamw"),
                  .steps = 1, .tol = 2e-6};
        c.h.weight_decay = 0;
        c.h.skip_bias_correction1 = !bc;
        c.h.grad_clip = 0;  // so |g| here is the gradient the update sees
        run_case(&c, w, w2, NULL);
        double want = (bc ? 1.0 : 0.1) * c.h.lr_peak, worst = 0;
        const ParamTensor *pt = &model.tensors[P_WPE];  // no padding: every gradient is nonzero
        for (size_t i = 0; i < pt->slice_elems; i++) {
            size_t j = pt->llmc_offset + i;
            // allowed: eps/|g| (the spec's "up to eps") plus the float rounding of w - update (ulp(0.6)/eta < 1e-5)
            double allowed = c.h.eps / fabs(last_g[j]) + 1e-5;
            worst = fmax(worst, fabs(fabs((double)w2[j] - w[j]) - want) / want / allowed);
        }
        EXPECT(worst <= 1, "adamw step 1: |update| differs from %g by %.2f of eps/|g| + 1e-5 relative", want, worst);
        printf("%-4s adamw step 1 |update| = %s eta  worst dev %.2f of (eps/|g| + 1e-5) relative\n",
               worst <= 1 ? "ok" : "FAIL", bc ? "" : "(1-beta1)", worst);
    }
    // LionAR: row norms stay at their step-1 value; each row turns by atan(theta_t); and the inverse
    // bias correction makes step 1 (1-beta) of it.
    for (int ibc = 0; ibc <= 1; ibc++) {
        Case c = {.name = ibc ? "lionar ibc=linear 1 step" : "lionar 4 steps", .kind = "lionar",
                  .h = base_hyper("lionar"), .steps = ibc ? 1 : 4, .tol = 2e-5};
        c.h.ibc = ibc ? IBC_LINEAR : IBC_OFF;
        float *w_init = mallocCheck(N * sizeof(float)), *target = NULL;
        run_case(&c, w, w2, &target);
        double lr = c.h.lr_peak;  // the last step has s_t = 1
        double theta = ref_angle("lionar", &c.h, lr, c.steps);
        double worst_norm = 0, worst_angle = 0;
        size_t row = 0, rows_checked = 0;
        for (int k = 0; k < NUM_PARAM_TENSORS; k++) {
            const ParamTensor *pt = &model.tensors[k];
            if (!pt->is_matrix) continue;
            for (size_t r = 0; r < pt->rows * pt->num_slices; r++, row++) {
                size_t o = pt->llmc_offset + r * pt->cols;
                double n0 = target[row];
                if (n0 == 0) continue;  // padded rows
                worst_norm = fmax(worst_norm, fabs(row_norm(w2 + o, pt->cols) - n0) / n0);
                worst_angle = fmax(worst_angle, fabs(row_angle(w + o, w2 + o, pt->cols) - atan(theta)) / atan(theta));
                rows_checked++;
            }
        }
        if (!ibc) {
            EXPECT(worst_norm <= 1e-6, "lionar: row norm off its target by %.2e relative", worst_norm);
            printf("%-4s lionar row norms at target             max rel dev %.2e over %zu rows (tol 1e-6)\n",
                   worst_norm <= 1e-6 ? "ok" : "FAIL", worst_norm, rows_checked);
        }
        // the angle from float weights: chord ~ theta ~ 1e-2 from elements rounded at 6e-8
        EXPECT(worst_angle <= 1e-4, "lionar: row angle differs from atan(theta) by %.2e relative", worst_angle);
        printf("%-4s lionar%s row angle = atan(theta=%.4e) max rel dev %.2e (tol 1e-4)\n",
               worst_angle <= 1e-4 ? "ok" : "FAIL", ibc ? " ibc step 1" : "", theta, worst_angle);
        if (ibc) {
            OptimizerHyper off = c.h;
            off.ibc = IBC_OFF;
            double ratio = theta / ref_angle("lionar", &off, lr, 1);
            EXPECT(fabs(ratio - (1 - c.h.beta)) < 1e-12, "inverse bias correction: step 1 ratio %.6f", ratio);
            printf("%-4s inverse bias correction step 1 = (1-beta) x theta (%.6f)\n",
                   fabs(ratio - (1 - c.h.beta)) < 1e-12 ? "ok" : "FAIL", ratio);
        }
        free(w_init), free(target);
    }
    free(w), free(w2);
}

// ---- measurements ----
static Config measure_config(int accum) {
    Config cfg;
    config_defaults(&cfg);
    cfg.metrics_every = 1;
    cfg.grad_accum = accum;
    cfg.batch_size = ws.B;
    return cfg;
}

static double rel_err(double got, double want) { return fabs(got - want) / fmax(fabs(want), 1e-30); }

static void test_measurements(void) {
    printf("-- measurements vs host computation (after 2 AdamW steps on a real forward/backward)\n");
    const int B = ws.B, T = ws.T, BT = B * T, C = model.config.channels, L = model.config.num_layers;
    Config cfg = measure_config(1);
    Measure ms;
    MeasureOptions mo = measure_options_from_config(&cfg);
    MUST(measure_create(&ms, &model, &ws, &mo));
    OptimizerHyper h = base_hyper("adamw");
    h.lr_peak = 0.01;
    Optimizer opt;
    MUST(optimizer_create(&opt, optimizer_find("adamw"), &h, &model));
    float *w = mallocCheck(N * sizeof(float)), *w2 = mallocCheck(N * sizeof(float));
    randn_params(w, 0.1f);
    gpt2_upload(&model, model.params.parent, w);
    int *inputs = mallocCheck((size_t)BT * sizeof(int)), *targets = mallocCheck((size_t)BT * sizeof(int));
    for (int step = 1; step <= 2; step++) {
        for (int i = 0; i < BT; i++) {
            inputs[i] = (int)(rng_u64(&rng) % 20);  // repeated tokens
            targets[i] = (int)(rng_u64(&rng) % 100);
        }
        device_zero(&dev, model.grads.parent, 0, model.padded_elems * sizeof(float));
        gpt2_set_batch(&ws, inputs, targets);
        gpt2_forward(&model, &ws, &ops, 1.0f / BT, 1.0f / BT);
        gpt2_backward(&model, &ws, &ops);
        measure_before_update(&ms, &model, &ops, &opt, 0, 1);
        gpt2_download(&model, model.params.parent, w);
        optimizer_step(&opt, &model, &ops, step, (float)h.lr_peak);
        float clip;
        device_read(&dev, model.stats, 2 * sizeof(float), sizeof clip, &clip);
        measure_after_update(&ms, &model, &ws, &ops, &opt, inputs, step, (float)h.lr_peak, clip);
    }
    gpt2_download(&model, model.params.parent, w2);
    double worst[4] = {0};  // l2, angle, angle_rows, rrc
    float *x = mallocCheck((size_t)BT * 4 * C * sizeof(float));
    for (int k = 0; k < NUM_PARAM_TENSORS; k++) {
        const ParamTensor *pt = &model.tensors[k];
        if (!pt->is_matrix) continue;
        size_t n = pt->slice_elems * pt->num_slices, o = pt->llmc_offset;
        double dd = 0, ww = 0, w2w2 = 0, chord = 0, sq = 0;
        size_t counted = 0;
        for (size_t i = 0; i < n; i++) {
            dd += pow((double)w2[o + i] - w[o + i], 2);
            ww += (double)w[o + i] * w[o + i];
            w2w2 += (double)w2[o + i] * w2[o + i];
        }
        for (size_t i = 0; i < n; i++) chord += pow(w2[o + i] / sqrt(w2w2) - w[o + i] / sqrt(ww), 2);
        for (size_t r = 0; r < pt->rows * pt->num_slices; r++)
            if (row_norm(w + o + r * pt->cols, pt->cols) > 0) {
                sq += pow(row_angle(w + o + r * pt->cols, w2 + o + r * pt->cols, pt->cols), 2);
                counted++;
            }
        double angle = 2 * asin(sqrt(chord) / 2), angle_rows = sqrt(sq / counted);
        // rrc on the host: ||X dW^T|| / ||X W^T|| summed over layers, X the layer input of the micro-batch
        double num = 0, den = 0;
        for (int l = 0; l < pt->num_slices; l++) {
            cl_mem xb = k == P_QKVW ? ws.acts.ln1[l] : k == P_ATTPROJW ? ws.acts.atty[l]
                      : k == P_FCW ? ws.acts.ln2[l] : k == P_FCPROJW ? ws.acts.fch_gelu[l] : NULL;
            const float *W = w + o + (size_t)l * pt->slice_elems, *W2 = w2 + o + (size_t)l * pt->slice_elems;
            if (xb) {
                device_read(&dev, xb, 0, (size_t)BT * pt->cols * sizeof(float), x);
                for (int p = 0; p < BT; p++)
                    for (size_t r = 0; r < pt->rows; r++) {
                        double y = 0, dy = 0;
                        for (size_t j = 0; j < pt->cols; j++) {
                            y += (double)x[p * pt->cols + j] * W[r * pt->cols + j];
                            dy += (double)x[p * pt->cols + j] * ((double)W2[r * pt->cols + j] - W[r * pt->cols + j]);
                        }
                        num += dy * dy;
                        den += y * y;
                    }
            } else {  // embeddings: the rows of the batch's tokens / positions
                for (int p = 0; p < BT; p++) {
                    size_t r = k == P_WTE ? (size_t)inputs[p] : (size_t)(p % T);
                    for (size_t j = 0; j < pt->cols; j++) {
                        num += pow((double)W2[r * pt->cols + j] - W[r * pt->cols + j], 2);
                        den += pow(W[r * pt->cols + j], 2);
                    }
                }
            }
        }
        const TensorMeasure *tm = &ms.t[k];
        double e[4] = {rel_err(tm->l2, sqrt(dd)), rel_err(tm->angle, angle), rel_err(tm->angle_rows, angle_rows),
                       rel_err(tm->rrc, sqrt(num / den))};
        printf("     %-9s l2 %.4e rel %.3e angle %.4e rows %.4e rrc %.4e | rel err %.1e %.1e %.1e %.1e\n",
               param_tensor_names[k], tm->l2, tm->rel, tm->angle, tm->angle_rows, tm->rrc, e[0], e[1], e[2], e[3]);
        for (int i = 0; i < 4; i++) worst[i] = fmax(worst[i], e[i]);
    }
    // fp32 sums on the device against double here; angles ~1e-2 from fp32 (w'-w) sums: 1e-4 relative
    const char *names[4] = {"l2", "angle", "angle_rows", "rrc"};
    for (int i = 0; i < 4; i++) {
        EXPECT(worst[i] <= 1e-4, "measurement %s off by %.2e relative", names[i], worst[i]);
        printf("%-4s measured %-10s vs host            max rel err %.2e (tol 1e-4)\n", worst[i] <= 1e-4 ? "ok" : "FAIL",
               names[i], worst[i]);
    }
    (void)L;
    optimizer_free(&opt);
    measure_free(&ms);
    free(w), free(w2), free(x), free(inputs), free(targets);
}

// SNR: per-micro-batch gradients G + noise with known |G|^2 and noise trace.
static void test_snr(void) {
    printf("-- gradient SNR estimator on synthetic gradients\n");
    const int accum = 4, b = ws.B, steps = 30;
    Config cfg = measure_config(accum);
    cfg.metrics_every = 0;
    cfg.rrc_correction = 1;  // the SNR every step, no full measurement
    Measure ms;
    MeasureOptions mo = measure_options_from_config(&cfg);
    MUST(measure_create(&ms, &model, &ws, &mo));
    OptimizerHyper h = base_hyper("lionar");
    Optimizer opt;
    MUST(optimizer_create(&opt, optimizer_find("lionar"), &h, &model));
    const ParamTensor *pt = &model.tensors[P_FCW];
    size_t n = pt->slice_elems * pt->num_slices;
    float *G = mallocCheck(N * sizeof(float)), *acc = mallocCheck(N * sizeof(float));
    for (size_t i = 0; i < N; i++) G[i] = rng_normal(&rng, 0, 1);
    double G2 = 0;
    for (size_t i = 0; i < n; i++) G2 += (double)G[pt->llmc_offset + i] * G[pt->llmc_offset + i];
    const double phi_true = 0.5;
    // per-sequence noise variance sigma2 per element: tr(Sigma) = sigma2 * n; a micro-batch mean has sigma2 / b
    const double sigma2 = G2 / (phi_true * (double)n);
    for (int s = 0; s < steps; s++) {
        memset(acc, 0, N * sizeof(float));
        gpt2_upload(&model, model.grads.parent, acc);
        for (int k = 0; k < accum; k++) {
            measure_micro_begin(&ms, &model);
            for (size_t i = 0; i < N; i++)
                acc[i] += (float)((G[i] + rng_normal(&rng, 0, (float)sqrt(sigma2 / b))) / accum);
            gpt2_upload(&model, model.grads.parent, acc);  // what a backward pass accumulates
            measure_micro_end(&ms, &model, &ops, k);
        }
        measure_before_update(&ms, &model, &ops, &opt, 1, 0);
    }
    float snr[SNR_FLOATS];
    device_read(&dev, opt.snr, 0, sizeof snr, snr);
    double phi = snr[4 * P_FCW + 2], rho = snr[4 * P_FCW + 3], B = (double)b * accum;
    double e = rel_err(phi, phi_true), erho = rel_err(rho, sqrt((1 + phi) / (1 + B * phi)));
    // EMA over ~10 effective steps of estimates from 4 micro-batches of 4608 elements: a few % noise
    EXPECT(e <= 0.1, "SNR phi %.4f vs true %.4f", phi, phi_true);
    EXPECT(erho <= 1e-5, "rho %.6f inconsistent with phi", rho);
    printf("%-4s SNR phi %.4f vs true %.4f (rel err %.3f, tol 0.1); rho %.4f, B_noise %.2f vs %.2f\n",
           e <= 0.1 && erho <= 1e-5 ? "ok" : "FAIL", phi, phi_true, e, rho, 1 / phi, 1 / phi_true);
    optimizer_free(&opt);
    measure_free(&ms);
    free(G), free(acc);
}

int main(void) {
    open_test_device(&dev, 0);
    // The small mode (test_util.h) runs once, with GPU-shaped tunables: 32 work-items per row
    // (rows of 24 and 96: idle items, and several passes), strided reductions, vectors with
    // tails; reductions of 8 groups of 32, as each of their launches costs Oclgrind per work-item.
    KernelParams gpu = kernel_params_default(&dev);
    gpu.v[KP_ROW_WG] = 32;
    gpu.v[KP_WG] = 64;
    gpu.v[KP_VW] = 4;
    gpu.v[KP_REDUCE_WG] = 32;
    gpu.v[KP_NORM_GROUPS] = 8;
    gpu.v[KP_REDUCE_CONTIGUOUS] = 0;
    gpu.v[KP_REDUCE_VW] = 4;
    MUST(ops_init(&ops, &dev, test_small() ? &(Tuned){.kp = gpu} : NULL));
    if (test_small()) {
        char opts[256];
        kernel_params_options(&ops.kp, opts, sizeof opts);
        printf("== kernel parameters %s\n", opts);
    }
    rng_seed(&rng, 4242);
    GPT2Config mc = {.max_seq_len = 8, .vocab_size = 100, .num_layers = 2, .num_heads = 2, .channels = 24};
    MUST(gpt2_config_check(&mc));
    MUST(gpt2_create(&model, &mc, &dev));
    MUST(workspace_create(&ws, &model, 2, 8, WS_TRAIN));
    N = model.num_parameters;
    last_g = mallocCheck(N * sizeof(float));
    for (int k = 0; k < NUM_PARAM_TENSORS; k++) {
        const ParamTensor *pt = &model.tensors[k];
        rts[k] = (RefTensor){.offset = pt->llmc_offset, .rows = pt->rows, .cols = pt->cols,
                             .slices = pt->num_slices, .is_matrix = pt->is_matrix};
    }
    test_against_reference();
    test_invariants();
    test_measurements();
    test_snr();
    if (test_small()) {
        free(last_g);
        workspace_free(&ws);
        gpt2_free(&model);
        ops_free(&ops);
        MUST(device_status(&dev));  // no OpenCL call failed along the way
        device_close(&dev);
        return test_summary("test_optimizers");
    }
    // Again with tunables far from the defaults (the tuner may pick any legal
    // set): one work-item per row, vectors with tails, few strided partials.
    ops_free(&ops);
    KernelParams kp = kernel_params_default(&dev);
    kp.v[KP_ROW_WG] = 1;
    kp.v[KP_VW] = 8;
    kp.v[KP_WG] = 16;
    kp.v[KP_REDUCE_WG] = 32;
    kp.v[KP_NORM_GROUPS] = 8;
    kp.v[KP_REDUCE_CONTIGUOUS] ^= 1;
    kp.v[KP_REDUCE_VW] = 8;
    MUST(ops_init(&ops, &dev, &(Tuned){.kp = kp}));
    printf("== with ROW_WG=1 VW=8 WG=16 REDUCE_WG=32 NORM_GROUPS=8 REDUCE_VW=8 and the other reduction layout\n");
    test_against_reference();
    test_invariants();
    test_measurements();
    free(last_g);
    workspace_free(&ws);
    gpt2_free(&model);
    ops_free(&ops);
    MUST(device_status(&dev));  // no OpenCL call failed along the way
    device_close(&dev);
    return test_summary("test_optimizers");
}
