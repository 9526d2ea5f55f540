// Plain C reference of the device operations (see reference.h). Written for
// clarity, not speed: loops as in llm.c's CPU train_gpt2.c, sums in double.
#include "reference.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

#define GELU_SCALING_FACTOR 0.7978845608028654  // sqrt(2/pi)

// ---- embeddings ----
void ref_encoder_forward(float *out, const int *inp, const float *wte, const float *wpe, int B, int T, int C) {
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            float *o = out + ((size_t)b * T + t) * C;
            const float *wt = wte + (size_t)inp[b * T + t] * C, *wp = wpe + (size_t)t * C;
            for (int i = 0; i < C; i++) o[i] = (float)((double)wt[i] + (double)wp[i]);
        }
}

void ref_encoder_backward(float *dwte, float *dwpe, const float *dout, const int *inp, int B, int T, int C) {
    // Sum in double per (row, channel), then add once to the accumulator, so the
    // reference is the exact sum rounded once (no dependence on visit order).
    double *acc = calloc((size_t)T * C, sizeof(double));
    int V = 0;  // rows of dwte touched: up to the largest token
    for (int i = 0; i < B * T; i++)
        if (inp[i] + 1 > V) V = inp[i] + 1;
    double *acc_te = calloc((size_t)V * C, sizeof(double));
    if (!acc || !acc_te) die("out of memory");
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            const float *d = dout + ((size_t)b * T + t) * C;
            double *te = acc_te + (size_t)inp[b * T + t] * C, *pe = acc + (size_t)t * C;
            for (int i = 0; i < C; i++) {
                te[i] += d[i];
                pe[i] += d[i];
            }
        }
    for (size_t i = 0; i < (size_t)T * C; i++) dwpe[i] = (float)(dwpe[i] + acc[i]);
    for (size_t i = 0; i < (size_t)V * C; i++) dwte[i] = (float)(dwte[i] + acc_te[i]);
    free(acc);
    free(acc_te);
}

// ---- LayerNorm ----
void ref_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w, const float *b,
                           int N, int C) {
    const double eps = 1e-5;
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        double m = 0.0;
        for (int i = 0; i < C; i++) m += x[i];
        m /= C;
        double v = 0.0;
        for (int i = 0; i < C; i++) v += (x[i] - m) * (x[i] - m);
        v /= C;
        double s = 1.0 / sqrt(v + eps);
        float *o = out + (size_t)n * C;
        for (int i = 0; i < C; i++) o[i] = (float)((x[i] - m) * s * w[i] + b[i]);
        mean[n] = (float)m;
        rstd[n] = (float)s;
    }
}

void ref_layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                            const float *mean, const float *rstd, int N, int C) {
    double *dw_acc = calloc((size_t)C, sizeof(double)), *db_acc = calloc((size_t)C, sizeof(double));
    if (!dw_acc || !db_acc) die("out of memory");
    for (int n = 0; n < N; n++) {
        const float *d = dout + (size_t)n * C, *x = inp + (size_t)n * C;
        float *di = dinp + (size_t)n * C;
        const double m = mean[n], r = rstd[n];
        double dnorm_mean = 0.0, dnorm_norm_mean = 0.0;
        for (int i = 0; i < C; i++) {
            double norm = (x[i] - m) * r, dnorm = (double)w[i] * d[i];
            dnorm_mean += dnorm;
            dnorm_norm_mean += dnorm * norm;
        }
        dnorm_mean /= C;
        dnorm_norm_mean /= C;
        for (int i = 0; i < C; i++) {
            double norm = (x[i] - m) * r, dnorm = (double)w[i] * d[i];
            db_acc[i] += d[i];
            dw_acc[i] += norm * d[i];
            di[i] = (float)(di[i] + (dnorm - dnorm_mean - norm * dnorm_norm_mean) * r);
        }
    }
    for (int i = 0; i < C; i++) {
        dw[i] = (float)(dw[i] + dw_acc[i]);
        db[i] = (float)(db[i] + db_acc[i]);
    }
    free(dw_acc);
    free(db_acc);
}

// ---- linear layers ----
void ref_matmul_forward(float *out, const float *inp, const float *w, const float *bias, int N, int C, int OC) {
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        for (int o = 0; o < OC; o++) {
            const float *wr = w + (size_t)o * C;
            double s = bias ? bias[o] : 0.0;
            for (int i = 0; i < C; i++) s += (double)x[i] * wr[i];
            out[(size_t)n * OC + o] = (float)s;
        }
    }
}

void ref_matmul_backward(float *dinp, float *dw, float *dbias, const float *dout, const float *inp, const float *w,
                         int N, int C, int OC) {
    if (dinp)
        for (int n = 0; n < N; n++)
            for (int i = 0; i < C; i++) {
                double s = 0.0;
                for (int o = 0; o < OC; o++) s += (double)dout[(size_t)n * OC + o] * w[(size_t)o * C + i];
                dinp[(size_t)n * C + i] = (float)s;
            }
    for (int o = 0; o < OC; o++) {
        for (int i = 0; i < C; i++) {
            double s = 0.0;
            for (int n = 0; n < N; n++) s += (double)dout[(size_t)n * OC + o] * inp[(size_t)n * C + i];
            dw[(size_t)o * C + i] = (float)(dw[(size_t)o * C + i] + s);
        }
        if (dbias) {
            double s = 0.0;
            for (int n = 0; n < N; n++) s += dout[(size_t)n * OC + o];
            dbias[o] = (float)(dbias[o] + s);
        }
    }
}

// ---- attention ----
void ref_attention_forward(float *out, float *att, const float *qkv, int B, int T, int C, int NH) {
    const int C3 = 3 * C, hs = C / NH;
    const double scale = 1.0 / sqrt((double)hs);
    double *p = malloc((size_t)T * sizeof(double));
    if (!p) die("out of memory");
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int h = 0; h < NH; h++) {
                const float *q = qkv + ((size_t)b * T + t) * C3 + h * hs;
                float *att_bth = att + (((size_t)b * NH + h) * T + t) * T;
                // scores and max
                double maxval = -INFINITY;
                for (int t2 = 0; t2 <= t; t2++) {
                    const float *k = qkv + ((size_t)b * T + t2) * C3 + h * hs + C;
                    double s = 0.0;
                    for (int i = 0; i < hs; i++) s += (double)q[i] * k[i];
                    p[t2] = s * scale;
                    if (p[t2] > maxval) maxval = p[t2];
                }
                double sum = 0.0;
                for (int t2 = 0; t2 <= t; t2++) {
                    p[t2] = exp(p[t2] - maxval);
                    sum += p[t2];
                }
                for (int t2 = 0; t2 < T; t2++) {
                    p[t2] = t2 <= t ? p[t2] / sum : 0.0;
                    att_bth[t2] = (float)p[t2];
                }
                // out = att @ v (with the double probabilities)
                float *o = out + ((size_t)b * T + t) * C + h * hs;
                for (int i = 0; i < hs; i++) {
                    double s = 0.0;
                    for (int t2 = 0; t2 <= t; t2++) s += p[t2] * qkv[((size_t)b * T + t2) * C3 + h * hs + 2 * C + i];
                    o[i] = (float)s;
                }
            }
    free(p);
}

void ref_attention_lse(float *lse, const float *qkv, int B, int T, int C, int NH) {
    const int C3 = 3 * C, hs = C / NH;
    const double scale = 1.0 / sqrt((double)hs);
    double *s = malloc((size_t)T * sizeof(double));
    if (!s) die("out of memory");
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int t = 0; t < T; t++) {
                const float *q = qkv + ((size_t)b * T + t) * C3 + h * hs;
                double maxval = -INFINITY, sum = 0.0;
                for (int t2 = 0; t2 <= t; t2++) {
                    const float *k = qkv + ((size_t)b * T + t2) * C3 + h * hs + C;
                    double x = 0.0;
                    for (int i = 0; i < hs; i++) x += (double)q[i] * k[i];
                    s[t2] = x * scale;
                    if (s[t2] > maxval) maxval = s[t2];
                }
                for (int t2 = 0; t2 <= t; t2++) sum += exp(s[t2] - maxval);
                lse[((size_t)b * NH + h) * T + t] = (float)(maxval + log(sum));
            }
    free(s);
}

void ref_attention_backward(float *dqkv, const float *dout, const float *qkv, const float *att, int B, int T, int C,
                            int NH) {
    const int C3 = 3 * C, hs = C / NH;
    const double scale = 1.0 / sqrt((double)hs);
    const size_t n = (size_t)B * T * C3;
    double *d = calloc(n, sizeof(double)), *datt = malloc((size_t)T * sizeof(double)),
           *dpre = malloc((size_t)T * sizeof(double));
    if (!d || !datt || !dpre) die("out of memory");
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int h = 0; h < NH; h++) {
                const float *att_bth = att + (((size_t)b * NH + h) * T + t) * T;
                const float *dout_bth = dout + ((size_t)b * T + t) * C + h * hs;
                const float *q = qkv + ((size_t)b * T + t) * C3 + h * hs;
                double *dq = d + ((size_t)b * T + t) * C3 + h * hs;
                // through out = att @ v
                for (int t2 = 0; t2 <= t; t2++) {
                    const float *v = qkv + ((size_t)b * T + t2) * C3 + h * hs + 2 * C;
                    double *dv = d + ((size_t)b * T + t2) * C3 + h * hs + 2 * C;
                    double s = 0.0;
                    for (int i = 0; i < hs; i++) {
                        s += (double)v[i] * dout_bth[i];
                        dv[i] += (double)att_bth[t2] * dout_bth[i];
                    }
                    datt[t2] = s;
                }
                // through the softmax
                double dot = 0.0;
                for (int t2 = 0; t2 <= t; t2++) dot += (double)att_bth[t2] * datt[t2];
                for (int t2 = 0; t2 <= t; t2++) dpre[t2] = att_bth[t2] * (datt[t2] - dot);
                // through the scaled scores q . k
                for (int t2 = 0; t2 <= t; t2++) {
                    const float *k = qkv + ((size_t)b * T + t2) * C3 + h * hs + C;
                    double *dk = d + ((size_t)b * T + t2) * C3 + h * hs + C;
                    for (int i = 0; i < hs; i++) {
                        dq[i] += k[i] * dpre[t2] * scale;
                        dk[i] += q[i] * dpre[t2] * scale;
                    }
                }
            }
    for (size_t i = 0; i < n; i++) dqkv[i] = (float)d[i];
    free(d);
    free(datt);
    free(dpre);
}

// ---- elementwise ----
void ref_gelu_forward(float *out, const float *inp, int n) {
    for (int i = 0; i < n; i++) {
        double x = inp[i], cube = 0.044715 * x * x * x;
        out[i] = (float)(0.5 * x * (1.0 + tanh(GELU_SCALING_FACTOR * (x + cube))));
    }
}

void ref_gelu_backward(float *dinp, const float *inp, const float *dout, int n) {
    for (int i = 0; i < n; i++) {
        double x = inp[i], cube = 0.044715 * x * x * x;
        double tanh_arg = GELU_SCALING_FACTOR * (x + cube), tanh_out = tanh(tanh_arg);
        double sech2 = 1.0 - tanh_out * tanh_out;
        double grad = 0.5 * (1.0 + tanh_out) + x * 0.5 * sech2 * GELU_SCALING_FACTOR * (1.0 + 3.0 * 0.044715 * x * x);
        dinp[i] = (float)(grad * dout[i]);
    }
}

void ref_residual_forward(float *out, const float *a, const float *b, int n) {
    for (int i = 0; i < n; i++) out[i] = (float)((double)a[i] + (double)b[i]);
}

void ref_accumulate(float *dst, const float *src, int n) {
    for (int i = 0; i < n; i++) dst[i] = (float)((double)dst[i] + (double)src[i]);
}

// ---- loss ----
void ref_crossentropy(float *losses, float *dlogits, const float *logits, const int *targets, int N, int V, int Vp,
                      float dloss) {
    for (int n = 0; n < N; n++) {
        const float *x = logits + (size_t)n * Vp;
        if (targets[n] < 0) {  // masked out: no loss, no gradient
            losses[n] = 0.0f;
            if (dlogits) memset(dlogits + (size_t)n * Vp, 0, (size_t)Vp * sizeof(float));
            continue;
        }
        double mx = -INFINITY;
        for (int i = 0; i < V; i++)
            if (x[i] > mx) mx = x[i];
        double s = 0.0;
        for (int i = 0; i < V; i++) s += exp(x[i] - mx);
        const double logsum = log(s) + mx;
        losses[n] = (float)(logsum - x[targets[n]]);
        if (dlogits) {
            float *d = dlogits + (size_t)n * Vp;
            for (int i = 0; i < Vp; i++)
                d[i] = i < V ? (float)(((double)dloss) * (exp(x[i] - logsum) - (i == targets[n] ? 1.0 : 0.0))) : 0.0f;
        }
    }
}

void ref_loss_sum(float *acc, const float *losses, int n, float scale) {
    double s = 0.0;
    for (int i = 0; i < n; i++) s += losses[i];
    *acc = (float)(*acc + (double)scale * s);
}

// ---- optimizer support ----
double ref_grad_norm(const float *g, size_t n, double max_norm, double *clip) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)g[i] * g[i];
    double norm = sqrt(s);
    *clip = max_norm > 0.0 ? fmin(1.0, max_norm / (norm + 1e-6)) : 1.0;
    return norm;
}

void ref_adamw(double *params, const float *grads, double *m, double *v, double clip, size_t offset, size_t n,
               double lr, double beta1, double beta2, double eps, double weight_decay, double bias_correction1,
               double bias_correction2) {
    for (size_t i = offset; i < offset + n; i++) {
        double g = grads[i] * clip;
        m[i] = beta1 * m[i] + (1.0 - beta1) * g;
        v[i] = beta2 * v[i] + (1.0 - beta2) * g * g;
        params[i] *= 1.0 - lr * weight_decay;
        params[i] -= lr * (m[i] / bias_correction1) / (sqrt(v[i] / bias_correction2) + eps);
    }
}

void ref_column_sum(float *dst, const float *src, int N, int C) {
    for (int c = 0; c < C; c++) {
        double s = dst[c];
        for (int n = 0; n < N; n++) s += src[(size_t)n * C + c];
        dst[c] = (float)s;
    }
}
