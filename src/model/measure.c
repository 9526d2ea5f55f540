#include "model/measure.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/comm.h"
#include "util/util.h"

// The per-layer buffers and results of measure_buffers.
static Status layer_buffers(Measure *ms, GPT2 *m) {
    const Device *dev = m->dev;
    const size_t S = NUM_PARAM_TENSORS * (size_t)m->config.num_layers;
    TRY(device_alloc(dev, 3 * S * sizeof(float), "per-layer measurements", &ms->vrows));
    TRY(device_alloc(dev, 4 * S * sizeof(float), "per-layer measurements", &ms->lstats));
    device_zero(dev, ms->lstats, 0, 4 * S * sizeof(float));
    if (ms->accum >= 2) {
        TRY(device_alloc(dev, 4 * S * sizeof(float), "per-layer SNR statistics", &ms->lmicro));
        TRY(device_alloc(dev, 4 * S * sizeof(float), "per-layer SNR statistics", &ms->lsnr));
        device_zero(dev, ms->lmicro, 0, 4 * S * sizeof(float));
        device_zero(dev, ms->lsnr, 0, 4 * S * sizeof(float));
    }
    for (int i = 0; i < NUM_PARAM_TENSORS; i++)
        ms->layer[i] = callocCheck((size_t)m->tensors[i].num_slices, sizeof(TensorMeasure));
    return STATUS_OK;
}

// The device buffers of measure_create (measurements on); stops at the first that fails.
static Status measure_buffers(Measure *ms, GPT2 *m, const Workspace *ws) {
    const Device *dev = m->dev;
    const size_t P = m->padded_elems * sizeof(float), C = (size_t)m->config.channels;
    TRY(device_alloc(dev, 4 * NUM_PARAM_TENSORS * sizeof(float), "measurement statistics", &ms->tstats));
    TRY(device_alloc(dev, 4 * NUM_PARAM_TENSORS * sizeof(float), "measurement statistics", &ms->micro));
    TRY(device_alloc(dev, 4 * NORM_GROUPS_MAX * sizeof(float), "measurement partial sums", &ms->partials));
    // Only the matrix tensors' slots get written: the others must read as 0 (phi 0, rho 1), deterministically.
    device_zero(dev, ms->tstats, 0, 4 * NUM_PARAM_TENSORS * sizeof(float));
    device_zero(dev, ms->micro, 0, 4 * NUM_PARAM_TENSORS * sizeof(float));
    if (ms->accum >= 2) TRY(device_alloc(dev, P, "previous gradients (SNR)", &ms->gprev));
    if (!ms->every) return device_status(dev);
    TRY(device_alloc(dev, P, "parameters before the update (measurements)", &ms->prev));
    matrix_row_base(m, 0, &ms->num_rows);
    TRY(device_alloc(dev, 3 * ms->num_rows * sizeof(float), "per-row measurements", &ms->rows));
    TRY(device_alloc(dev, 4 * 2 * NUM_PARAM_TENSORS * (size_t)m->config.num_layers * sizeof(float),
                     "rrc measurements", &ms->rrc));
    TRY(layer_buffers(ms, m));
    TRY(device_alloc(dev, 4 * C * C * sizeof(float), "measurement weight scratch", &ms->wscratch));
    TRY(device_alloc(dev, (size_t)ws->B * ws->T * 4 * C * sizeof(float), "measurement output scratch",
                     &ms->yscratch));
    return device_status(dev);
}

Status measure_create(Measure *ms, GPT2 *m, const Workspace *ws, const MeasureOptions *mo) {
    memset(ms, 0, sizeof *ms);
    ms->every = mo->every;
    ms->rrc_correction = mo->rrc_correction;
    ms->accum = mo->accum;
    ms->b = mo->b;
    ms->snr_ema = mo->snr_ema;
    if (!ms->every && !ms->rrc_correction) return STATUS_OK;  // off: nothing allocated, nothing done
    Status s = measure_buffers(ms, m, ws);
    if (s) measure_free(ms);
    return s;
}

void measure_free(Measure *ms) {
    cl_mem bufs[] = {ms->prev,     ms->gprev,  ms->rows,   ms->tstats, ms->micro,    ms->rrc,     ms->partials,
                     ms->wscratch, ms->yscratch, ms->vrows, ms->lstats, ms->lmicro, ms->lsnr};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (bufs[i]) CL_CHECK(clReleaseMemObject(bufs[i]));
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) free(ms->layer[i]);
    memset(ms, 0, sizeof *ms);
}

int measure_param_copies(const MeasureOptions *mo) {
    return (mo->every > 0) + ((mo->every > 0 || mo->rrc_correction) && mo->accum >= 2);
}

int measure_due(const Measure *ms, int step) { return ms->every > 0 && step % ms->every == 0; }

int measure_snr_due(const Measure *ms, int step) {
    return ms->accum >= 2 && (ms->rrc_correction || measure_due(ms, step));
}

static void copy_buffer(const Device *dev, cl_mem dst, cl_mem src, size_t bytes) {
    CL_CHECK(clEnqueueCopyBuffer(dev->queue, src, dst, 0, 0, bytes, 0, NULL, NULL));
}

void measure_micro_begin(Measure *ms, GPT2 *m) {
    copy_buffer(m->dev, ms->gprev, m->grads.parent, m->padded_elems * sizeof(float));
}

// Queues op_pair_stats of x and y over each slice of every tensor into out's per-layer slots.
static void queue_slice_stats(const Measure *ms, const GPT2 *m, Ops *o, cl_mem out, cl_mem x, cl_mem y,
                              int accumulate) {
    const int L = m->config.num_layers;
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) {
        const ParamTensor *pt = &m->tensors[i];
        for (int l = 0; l < pt->num_slices; l++)
            op_pair_stats(o, out, ms->partials, x, y, pt->offset[l], pt->slice_elems, i * L + l, accumulate);
    }
}

void measure_micro_end(Measure *ms, GPT2 *m, Ops *o, int k) {
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) {
        if (!m->tensors[i].is_matrix) continue;
        size_t first, n;
        tensor_range(&m->tensors[i], &first, &n);
        op_pair_stats(o, ms->micro, ms->partials, m->grads.parent, ms->gprev, first, n, i, k > 0);
    }
    if (ms->every) queue_slice_stats(ms, m, o, ms->lmicro, m->grads.parent, ms->gprev, k > 0);
}

Status measure_sum_micro(Measure *ms, const GPT2 *m) {
    if (comm_size() == 1) return STATUS_OK;
    TRY(gpt2_sum_over_ranks(m, ms->micro, 4 * NUM_PARAM_TENSORS));
    if (ms->every) TRY(gpt2_sum_over_ranks(m, ms->lmicro, 4 * NUM_PARAM_TENSORS * (size_t)m->config.num_layers));
    return STATUS_OK;
}

// |g|^2, g.m and |m|^2 of each matrix tensor into tstats and, with per-layer
// measurements due, of each slice into lstats. A sharded optimizer holds the
// momentum of its rank's range only: each rank sums its parts, and the ranks'
// sums are added up.
static Status gradient_momentum_stats(Measure *ms, GPT2 *m, Ops *o, const Optimizer *opt, int slices) {
    const int L = m->config.num_layers;
    Span *spans = mallocCheck((size_t)L * sizeof *spans);
    if (opt->shard) device_zero(m->dev, ms->tstats, 0, 4 * NUM_PARAM_TENSORS * sizeof(float));
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) {
        if (!m->tensors[i].is_matrix) continue;
        int n = optimizer_tensor_spans(opt, m, i, spans);
        for (int k = 0; k < n; k++)
            op_pair_stats(o, ms->tstats, ms->partials, spans[k].g, spans[k].s[0], spans[k].first, spans[k].n, i,
                          opt->shard != NULL || k > 0);
    }
    free(spans);
    if (slices && !opt->shard) queue_slice_stats(ms, m, o, ms->lstats, m->grads.parent, opt->state[0], 0);
    if (!opt->shard) return STATUS_OK;
    TRY(gpt2_sum_over_ranks(m, ms->tstats, 4 * NUM_PARAM_TENSORS));
    if (!slices) return STATUS_OK;
    device_zero(m->dev, ms->lstats, 0, 4 * NUM_PARAM_TENSORS * (size_t)L * sizeof(float));
    Span sp;
    for (int i = 0; i < NUM_PARAM_TENSORS; i++)
        for (int l = 0; l < m->tensors[i].num_slices; l++)
            if (optimizer_slice_span(opt, m, i, l, &sp))
                op_pair_stats(o, ms->lstats, ms->partials, sp.g, sp.s[0], sp.first, sp.n, i * L + l, 1);
    return gpt2_sum_over_ranks(m, ms->lstats, 4 * NUM_PARAM_TENSORS * (size_t)L);
}

Status measure_before_update(Measure *ms, GPT2 *m, Ops *o, Optimizer *opt, int snr, int full) {
    TRY(gradient_momentum_stats(ms, m, o, opt, full || (snr && ms->every)));
    if (snr) {
        float b = (float)ms->b, B = (float)ms->b * ms->accum;
        op_snr_update(o, opt->snr, ms->tstats, ms->micro, NUM_PARAM_TENSORS, b, B, (float)ms->accum,
                      (float)ms->snr_ema);
    }
    if (snr && ms->every) {
        float b = (float)ms->b, B = (float)ms->b * ms->accum;
        op_snr_update(o, ms->lsnr, ms->lstats, ms->lmicro, NUM_PARAM_TENSORS * m->config.num_layers, b, B,
                      (float)ms->accum, (float)ms->snr_ema);
    }
    if (full) copy_buffer(m->dev, ms->prev, m->params.parent, m->padded_elems * sizeof(float));
    return STATUS_OK;
}

// The angle between w and w' from ||w||^2, (w'-w).w and ||w'-w||^2, in double:
// chord = || w'/||w'|| - w/||w|| ||, angle = 2 asin(chord/2). No cosine, so angles
// of 1e-4 rad keep their precision. Returns -1 for a zero w or w'.
static double angle_from_sums(double ww, double dw, double dd) {
    double nn2 = ww + 2 * dw + dd;  // ||w'||^2
    if (ww <= 0 || nn2 <= 0) return -1;
    double na = sqrt(ww), nn = sqrt(nn2);
    double inv_diff = -(2 * dw + dd) / (na + nn) / (na * nn);  // 1/||w'|| - 1/||w||
    // w'/nn - w/na = (w'-w)/nn + w (1/nn - 1/na)
    double chord2 = dd / nn2 + ww * inv_diff * inv_diff + 2 * dw / nn * inv_diff;
    double chord = sqrt(chord2 > 0 ? chord2 : 0);
    return 2 * asin(chord / 2 < 1 ? chord / 2 : 1);
}

static float *read_floats(const Device *dev, cl_mem buf, size_t n) {
    float *x = mallocCheck(n * sizeof(float));
    device_read(dev, buf, 0, n * sizeof(float), x);
    return x;
}

// The layer inputs X (B*T, in) of each linear weight.
static cl_mem linear_input(const GPT2 *m, const Activations *a, int tensor, int l, int *in) {
    int C = m->config.channels;
    *in = C;
    switch (tensor) {
        case P_QKVW: return a->ln1[l];
        case P_ATTPROJW: return a->atty[l];
        case P_FCW: return a->ln2[l];
        case P_FCPROJW: *in = 4 * C; return a->fch_gelu[l];
        default: return NULL;
    }
}

// The output y = X W^T + b of each linear layer as the forward pass left it: stored
// (qkv, fch) or the difference of the residual stream around the add (projections).
static void layer_output(const Activations *a, int tensor, int l, cl_mem *y, cl_mem *y_before) {
    *y_before = NULL;
    switch (tensor) {
        case P_QKVW: *y = a->qkv[l]; break;
        case P_FCW: *y = a->fch[l]; break;
        case P_ATTPROJW:
            *y = a->residual2[l];
            *y_before = l == 0 ? a->encoded : a->residual3[l - 1];
            break;
        default:  // P_FCPROJW
            *y = a->residual3[l];
            *y_before = a->residual2[l];
            break;
    }
}

// Queues the per-row sums of every matrix slice and the sums of every vector slice (see op_row_delta_stats).
static void queue_row_sums(Measure *ms, GPT2 *m, Ops *o) {
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) {
        const ParamTensor *pt = &m->tensors[i];
        if (!pt->is_matrix) {  // a vector slice as one row, into its per-layer slot
            for (int l = 0; l < pt->num_slices; l++)
                op_row_delta_stats(o, ms->vrows, ms->prev, m->params.parent, pt->offset[l], 1, (int)pt->slice_elems,
                                   (size_t)(i * m->config.num_layers + l));
            continue;
        }
        size_t base = matrix_row_base(m, i, NULL);
        for (int l = 0; l < pt->num_slices; l++)
            op_row_delta_stats(o, ms->rows, ms->prev, m->params.parent, pt->offset[l], pt->rows, (int)pt->cols,
                               base + (size_t)l * pt->rows);
    }
}

// Queues the RRC sums of the linear layers: ||X W^T||^2 (old W and bias) and
// ||X dW^T||^2, one extra product per layer.
static void queue_rrc_sums(Measure *ms, GPT2 *m, const Workspace *ws, Ops *o) {
    const int L = m->config.num_layers, BT = ws->B * ws->T;
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) {
        const ParamTensor *pt = &m->tensors[i];
        for (int l = 0; l < pt->num_slices; l++) {
            int in;
            cl_mem x = linear_input(m, &ws->acts, i, l, &in);  // (BT, in)
            if (!x) break;
            int out = (int)pt->rows;
            int slot = 2 * (i * L + l);
            // ||X W^T|| from the outputs the forward pass kept, minus the old bias: no product needed
            cl_mem y, y_before;
            layer_output(&ws->acts, i, l, &y, &y_before);
            op_output_sumsq(o, ms->rrc, ms->partials, y, y_before, ms->prev, m->tensors[i + 1].offset[l], BT, out, slot);
            op_sub_range(o, ms->wscratch, m->params.parent, ms->prev, pt->offset[l], pt->slice_elems);
            op_matmul_forward(o, ms->yscratch, x, ms->wscratch, NULL, BT, in, out);  // (BT, out)
            op_pair_stats(o, ms->rrc, ms->partials, ms->yscratch, ms->yscratch, 0, (size_t)BT * out, slot + 1, 0);
        }
    }
}

// The device's sums, read back for the host to finish.
typedef struct {
    float *rows;  // (num_rows, 3)
    float *ts;    // (NUM_PARAM_TENSORS, 4)
    float *snr;   // (SNR_FLOATS)
    float *rrc;   // (NUM_PARAM_TENSORS * L * 2, 4)
    float *vrows, *lstats;  // (NUM_PARAM_TENSORS * L, 3), (NUM_PARAM_TENSORS * L, 4)
    float *lsnr;  // (NUM_PARAM_TENSORS * L, 4), NULL without the SNR
} Sums;

static void read_sums(Sums *s, const Measure *ms, const GPT2 *m, const Optimizer *opt) {
    const Device *dev = m->dev;
    s->rows = read_floats(dev, ms->rows, 3 * ms->num_rows);
    s->ts = read_floats(dev, ms->tstats, 4 * NUM_PARAM_TENSORS);
    s->snr = read_floats(dev, opt->snr, SNR_FLOATS);
    const size_t S = NUM_PARAM_TENSORS * (size_t)m->config.num_layers;
    s->rrc = read_floats(dev, ms->rrc, 4 * 2 * S);
    s->vrows = read_floats(dev, ms->vrows, 3 * S);
    s->lstats = read_floats(dev, ms->lstats, 4 * S);
    s->lsnr = ms->lsnr ? read_floats(dev, ms->lsnr, 4 * S) : NULL;
}

static void free_sums(Sums *s) {
    free(s->rows);
    free(s->ts);
    free(s->snr);
    free(s->rrc);
    free(s->vrows);
    free(s->lstats);
    free(s->lsnr);
}

// l2, rel, angle and angle_rows from the per-row sums r (nrows, 3) of one tensor.
static void finish_update_size(TensorMeasure *tm, const float *r, size_t nrows) {
    double ww = 0, dw = 0, dd = 0, sq = 0;
    size_t counted = 0;
    for (size_t k = 0; k < nrows; k++) {
        ww += r[3 * k];
        dw += r[3 * k + 1];
        dd += r[3 * k + 2];
        double a = angle_from_sums(r[3 * k], r[3 * k + 1], r[3 * k + 2]);
        if (a >= 0) {
            sq += a * a;
            counted++;
        }
    }
    tm->l2 = sqrt(dd);
    tm->norm = sqrt(ww);
    tm->norm_new = sqrt(fmax(ww + 2 * dw + dd, 0));
    tm->rel = ww > 0 ? tm->l2 / sqrt(ww) : 0;
    tm->angle = fmax(angle_from_sums(ww, dw, dd), 0);
    tm->angle_rows = counted ? sqrt(sq / counted) : 0;
}

// cos_gm and m_over_g from one tensor's |g|^2, g.m, |m|^2 (ts: 4 floats).
static void finish_momentum(TensorMeasure *tm, const float *ts, float clip) {
    double gg = ts[0], gm = ts[1], mm = ts[2];
    tm->cos_gm = gg > 0 && mm > 0 ? gm / sqrt(gg * mm) : 0;
    tm->m_over_g = gg > 0 ? sqrt(mm) / (clip * sqrt(gg)) : 0;
    tm->g_norm = clip * sqrt(gg);
}

// The embeddings' rrc sums, ||X dW^T||^2 and ||X W^T||^2 (emb[k] for wte, wpe),
// from the rows of the batch's tokens (inputs, (B, T)) or positions in the per-row sums.
static void embedding_rrc_sums(const GPT2 *m, const Workspace *ws, const Sums *s, const int *inputs,
                               double emb[2][2]) {
    const int BT = ws->B * ws->T, tensors[2] = {P_WTE, P_WPE};
    for (int k = 0; k < 2; k++) {
        const float *r = s->rows + 3 * matrix_row_base(m, tensors[k], NULL);
        emb[k][0] = emb[k][1] = 0;
        for (int p = 0; p < BT; p++) {
            size_t row = tensors[k] == P_WTE ? (size_t)inputs[p] : (size_t)(p % ws->T);
            emb[k][1] += r[3 * row];
            emb[k][0] += r[3 * row + 2];
        }
    }
}

// rrc of tensor i over its slices [l0, l1): the embeddings' from their sums emb,
// the linear layers' from the product sums.
static void finish_rrc(TensorMeasure *tm, const GPT2 *m, const Sums *s, int i, const double emb[2][2], int l0,
                       int l1) {
    const int L = m->config.num_layers;
    double num = 0, den = 0;
    if (i == P_WTE || i == P_WPE) {
        num = emb[i == P_WPE][0];
        den = emb[i == P_WPE][1];
    } else {
        for (int l = l0; l < l1; l++) {
            den += s->rrc[4 * (2 * (i * L + l))];
            num += s->rrc[4 * (2 * (i * L + l) + 1)];
        }
    }
    tm->have_rrc = den > 0;
    tm->rrc = den > 0 ? sqrt(num / den) : 0;
    tm->out_norm = sqrt(den);
}

// Every measurement of matrix tensor i from the read-back sums.
static void finish_tensor(TensorMeasure *tm, const Measure *ms, const GPT2 *m, const Sums *s, int i,
                          const double emb[2][2], float clip) {
    const ParamTensor *pt = &m->tensors[i];
    const float *r = s->rows + 3 * matrix_row_base(m, i, NULL);
    finish_update_size(tm, r, pt->rows * (size_t)pt->num_slices);
    finish_momentum(tm, s->ts + 4 * i, clip);
    if (ms->accum >= 2) {
        tm->have_snr = 1;
        tm->phi = s->snr[4 * i + 2];
        tm->b_noise = tm->phi > 0 ? 1.0 / tm->phi : -1;  // -1: no measurable signal
    }
    finish_rrc(tm, m, s, i, emb, 0, pt->num_slices);
}

// The measurements of each slice (layer) of tensor i, and the pooled ones of a vector tensor.
static void finish_layers(Measure *ms, const GPT2 *m, const Sums *s, int i, const double emb[2][2], float clip) {
    const ParamTensor *pt = &m->tensors[i];
    const int L = m->config.num_layers;
    const float *r = pt->is_matrix ? s->rows + 3 * matrix_row_base(m, i, NULL) : NULL;
    float vsum[3] = {0}, msum[4] = {0};
    for (int l = 0; l < pt->num_slices; l++) {
        TensorMeasure *tm = &ms->layer[i][l];
        const int slot = i * L + l;
        memset(tm, 0, sizeof *tm);
        if (pt->is_matrix) finish_update_size(tm, r + 3 * (size_t)l * pt->rows, pt->rows);
        else finish_update_size(tm, s->vrows + 3 * slot, 1);
        finish_momentum(tm, s->lstats + 4 * slot, clip);
        if (s->lsnr) {
            tm->have_snr = 1;
            tm->phi = s->lsnr[4 * slot + 2];
            tm->b_noise = tm->phi > 0 ? 1.0 / tm->phi : -1;
        }
        if (pt->is_matrix) finish_rrc(tm, m, s, i, emb, l, l + 1);
        for (int k = 0; k < 4; k++) {
            if (k < 3) vsum[k] += s->vrows[3 * slot + k];
            msum[k] += s->lstats[4 * slot + k];
        }
    }
    if (pt->is_matrix) return;
    memset(&ms->t[i], 0, sizeof ms->t[i]);
    finish_update_size(&ms->t[i], vsum, 1);
    finish_momentum(&ms->t[i], msum, clip);
}

Status measure_after_update(Measure *ms, GPT2 *m, const Workspace *ws, Ops *o, Optimizer *opt, const int *inputs,
                            int step, float lr, float clip) {
    queue_row_sums(ms, m, o);
    queue_rrc_sums(ms, m, ws, o);
    Sums s;
    read_sums(&s, ms, m, opt);
    // rrc's sums run over the batch, which the ranks of a data-parallel run share.
    double emb[2][2];
    embedding_rrc_sums(m, ws, &s, inputs, emb);
    Status st = comm_sum_doubles(&emb[0][0], 4);
    if (!st) st = comm_sum_floats(s.rrc, 4 * 2 * NUM_PARAM_TENSORS * (size_t)m->config.num_layers);
    double angle_sum = 0;
    int num_matrix = 0;
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) {
        TensorMeasure *tm = &ms->t[i];
        memset(tm, 0, sizeof *tm);
        finish_layers(ms, m, &s, i, emb, clip);
        if (!m->tensors[i].is_matrix) continue;
        finish_tensor(tm, ms, m, &s, i, emb, clip);
        angle_sum += tm->angle_rows;
        num_matrix++;
    }
    ms->mean_angle_rows = num_matrix ? angle_sum / num_matrix : 0;
    ms->angle_configured = optimizer_angle(opt, lr, step);
    free_sums(&s);
    return st;
}
