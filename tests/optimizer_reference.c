#include "optimizer_reference.h"

#include <math.h>
#include <string.h>

static int is(const char *a, const char *b) { return strcmp(a, b) == 0; }

double ref_angle(const char *kind, const OptimizerHyper *h, double lr, int t) {
    double el = lr * h->weight_decay, theta;
    AngleForm form = is(kind, "lionar") ? h->angle_form : is(kind, "lion") ? ANGLE_LION : ANGLE_ADAMW;
    if (form == ANGLE_LION) {
        double b1 = h->beta1, b2 = h->beta2;
        if (h->nesterov) b1 = h->beta * h->beta, b2 = h->beta;  // c = beta^2 m + (1-beta^2) g
        theta = sqrt(M_PI / 2) * sqrt(2 * el) * sqrt(pow(1 - b1, 2) + b1 * b1 * (1 - b2) / (1 + b2));
    } else if (form == ANGLE_ADAMW) {
        theta = sqrt(2 * el * (1 - h->beta1) / (1 + h->beta1));
    } else if (form == ANGLE_SIMPLE) {
        theta = sqrt(2 * el);
    } else {
        theta = h->angle_value * sqrt(lr / h->lr_peak);
    }
    if (is(kind, "lionar") || is(kind, "rv_adamw")) {
        if (h->ibc == IBC_LINEAR) theta *= 1 - pow(h->beta, t);
        if (h->ibc == IBC_SQRT) theta *= sqrt(1 - pow(h->beta, 2 * t));
    }
    return theta;
}

static float sgn(float x) { return x > 0 ? 1.0f : x < 0 ? -1.0f : 0.0f; }

// Lion's c for element i, updating the float momentum as cl/lion.cl does.
static float lion_c(const OptimizerHyper *h, float *m, float g) {
    if (h->nesterov) {
        float b = (float)h->beta;
        *m = b * *m + (1.0f - b) * g;
        return b * *m + (1.0f - b) * g;
    }
    float b1 = (float)h->beta1, b2 = (float)h->beta2;
    float c = b1 * *m + (1.0f - b1) * g;
    *m = b2 * *m + (1.0f - b2) * g;
    return c;
}

static void adam_moments(const OptimizerHyper *h, RefState *s, size_t i, double g) {
    s->m[i] = h->beta1 * s->m[i] + (1 - h->beta1) * g;
    s->v[i] = h->beta2 * s->v[i] + (1 - h->beta2) * g * g;
}

// The spec's rotational row update on w[0..cols) with direction d (overwritten).
static void rotate_row(double *w, double *d, size_t cols, double theta, double target, int zero_mean) {
    double ww = 0;
    for (size_t j = 0; j < cols; j++) ww += w[j] * w[j];
    if (ww == 0) return;
    if (zero_mean) {
        double mean = 0;
        for (size_t j = 0; j < cols; j++) mean += d[j];
        mean /= (double)cols;
        for (size_t j = 0; j < cols; j++) d[j] -= mean;
    }
    double dw = 0;
    for (size_t j = 0; j < cols; j++) dw += d[j] * w[j];
    double dd = 0;
    for (size_t j = 0; j < cols; j++) {
        d[j] -= w[j] * dw / ww;
        dd += d[j] * d[j];
    }
    double a = theta * sqrt(ww) / (sqrt(dd) + 1e-12), nn = 0;
    for (size_t j = 0; j < cols; j++) {
        w[j] -= a * d[j];
        nn += w[j] * w[j];
    }
    for (size_t j = 0; j < cols; j++) w[j] *= target / sqrt(nn);
}

void ref_optimizer_step(const char *kind, const OptimizerHyper *h, const RefTensor *ts, int nt, RefState *s,
                        const float *g, double clip, int t, double lr, const double *rho) {
    const int rotational = is(kind, "lionar") || is(kind, "rv_adamw"), adam = is(kind, "adamw") || is(kind, "rv_adamw");
    const double bc1 = is(kind, "adamw") && h->skip_bias_correction1 ? 1.0 : 1 - pow(h->beta1, t);
    const double bc2 = 1 - pow(h->beta2, t);
    size_t row = 0;
    for (int k = 0; k < nt; k++) {
        const RefTensor *rt = &ts[k];
        size_t n = rt->rows * rt->cols * (size_t)rt->slices;
        if (!rotational || !rt->is_matrix) {
            double wd = rt->is_matrix && !rotational ? h->weight_decay : 0.0;
            for (size_t i = rt->offset; i < rt->offset + n; i++) {
                if (adam) {
                    adam_moments(h, s, i, g[i] * clip);
                    s->w[i] = s->w[i] * (1 - lr * wd) - lr * (s->m[i] / bc1) / (sqrt(s->v[i] / bc2) + h->eps);
                } else {
                    double kappa = is(kind, "lion") ? 1.0 : h->kappa;
                    float c = lion_c(h, &s->mf[i], (float)(g[i] * clip));
                    s->w[i] = s->w[i] * (1 - lr * wd) - lr * kappa * sgn(c);
                }
            }
            continue;
        }
        double theta = ref_angle(kind, h, lr, t) * (rho ? rho[k] : 1.0);
        double d[4096];
        for (int l = 0; l < rt->slices; l++)
            for (size_t r = 0; r < rt->rows; r++, row++) {
                size_t o = rt->offset + ((size_t)l * rt->rows + r) * rt->cols;
                double *w = s->w + o;
                if (t == 1) {  // the targets, once (zero-mean rows first)
                    double ss = 0, mean = 0, cs = 0;
                    for (size_t j = 0; j < rt->cols; j++) ss += w[j] * w[j], mean += w[j];
                    mean /= (double)rt->cols;
                    if (h->zero_mean && ss > 0) {
                        for (size_t j = 0; j < rt->cols; j++) cs += (w[j] - mean) * (w[j] - mean);
                        for (size_t j = 0; j < rt->cols; j++) w[j] = (w[j] - mean) * sqrt(ss / cs);
                    }
                    s->target[row] = sqrt(ss);
                }
                for (size_t j = 0; j < rt->cols; j++) {
                    if (adam) {
                        adam_moments(h, s, o + j, g[o + j] * clip);
                        d[j] = (s->m[o + j] / bc1) / (sqrt(s->v[o + j] / bc2) + h->eps);
                    } else {
                        d[j] = sgn(lion_c(h, &s->mf[o + j], (float)(g[o + j] * clip)));
                    }
                }
                rotate_row(w, d, rt->cols, theta, s->target[row], h->zero_mean);
            }
    }
}
