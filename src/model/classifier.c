#include "model/classifier.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/forward.h"
#include "util/rng.h"
#include "util/util.h"

#define HEAD_MAGIC 20261201
#define HEAD_VERSION 1
#define HEAD_HEADER_BYTES 256

typedef struct {
    int32_t magic, version, num_labels, channels, seq_len, with_state;
} HeadHeader;

Status head_create(ClassHead *h, const Device *dev, int num_labels, int channels, int B) {
    memset(h, 0, sizeof *h);
    h->dev = dev;
    h->num_labels = num_labels;
    h->channels = channels;
    h->B = B;
    const size_t KC = (size_t)num_labels * channels * sizeof(float), BC = (size_t)B * channels * sizeof(float);
    struct {
        cl_mem *buf;
        size_t bytes;
    } bufs[] = {{&h->weight, KC},
                {&h->grad, KC},
                {&h->adam_m, KC},
                {&h->adam_v, KC},
                {&h->last, (size_t)B * sizeof(int)},
                {&h->labels, (size_t)B * sizeof(int)},
                {&h->feat, BC},
                {&h->dfeat, BC},
                {&h->logits, (size_t)B * num_labels * sizeof(float)},
                {&h->losses, (size_t)B * sizeof(float)}};
    Status s = STATUS_OK;
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0] && !s; i++) {
        s = device_alloc(dev, bufs[i].bytes, "classification head", bufs[i].buf);
        if (!s) device_zero(dev, *bufs[i].buf, 0, bufs[i].bytes);
    }
    if (!s) s = device_status(dev);
    if (s) head_free(h);
    return s;
}

void head_free(ClassHead *h) {
    if (!h->dev) return;
    cl_mem bufs[] = {h->weight, h->grad, h->adam_m, h->adam_v, h->last,
                     h->labels, h->feat, h->dfeat,  h->logits, h->losses};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (bufs[i]) CL_CHECK(clReleaseMemObject(bufs[i]));
    memset(h, 0, sizeof *h);
}

void head_init_random(ClassHead *h, uint64_t seed) {
    const size_t n = (size_t)h->num_labels * h->channels;
    float *w = mallocCheck(n * sizeof(float));
    Rng rng;
    rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++) w[i] = rng_normal(&rng, 0.0f, 0.02f);
    device_write(h->dev, h->weight, 0, n * sizeof(float), w);
    free(w);
}

void head_set_batch(ClassHead *h, const int *last, const int *labels) {
    const size_t bytes = (size_t)h->B * sizeof(int);
    device_write(h->dev, h->last, 0, bytes, last);
    if (labels) device_write(h->dev, h->labels, 0, bytes, labels);
    else device_zero(h->dev, h->labels, 0, bytes);
}

void head_forward(ClassHead *h, const GPT2 *m, const Workspace *ws, Ops *o, float dloss, float loss_scale) {
    const int B = ws->B, T = ws->T, C = h->channels, K = h->num_labels;
    if (B != h->B) internal_error("head_forward: head for %d rows, workspace of %d", h->B, B);
    op_gather_rows(o, h->feat, ws->acts.lnf, h->last, B, T, C);  // (B,C)
    op_matmul_forward(o, h->logits, h->feat, h->weight, NULL, B, C, K);  // (B,K)
    op_crossentropy(o, h->logits, h->losses, h->labels, B, K, K, dloss);
    op_loss_sum(o, m->stats, h->losses, B, loss_scale);
}

void head_backward(ClassHead *h, GPT2 *m, Workspace *ws, Ops *o) {
    const int B = ws->B, T = ws->T, C = h->channels, K = h->num_labels;
    // dfeat (B,C) = dlogits @ W; grad (K,C) += dlogits^T @ feat
    op_matmul_backward(o, h->dfeat, h->grad, NULL, h->logits, h->feat, h->weight, B, C, K);
    op_scatter_rows(o, ws->scratch.dbuf, h->dfeat, h->last, B, T, C);  // dlnf (B,T,C)
    gpt2_backward_trunk(m, ws, o);
}

void head_adamw(ClassHead *h, const GPT2 *m, Ops *o, const OptimizerHyper *hp, int t, float lr) {
    float bc1 = hp->skip_bias_correction1 ? 1.0f : (float)(1.0 - pow(hp->beta1, t));
    float bc2 = (float)(1.0 - pow(hp->beta2, t));
    op_adamw(o, h->weight, h->grad, h->adam_m, h->adam_v, m->stats, 0, (size_t)h->num_labels * h->channels, lr,
             (float)hp->beta1, (float)hp->beta2, (float)hp->eps, (float)hp->weight_decay, bc1, bc2);
}

Status head_save(const ClassHead *h, const char *path, int seq_len, int with_state) {
    const size_t n = (size_t)h->num_labels * h->channels, arrays = with_state ? 3 : 1;
    const size_t bytes = HEAD_HEADER_BYTES + arrays * n * sizeof(float);
    char *buf = callocCheck(bytes, 1);
    HeadHeader hh = {HEAD_MAGIC, HEAD_VERSION, h->num_labels, h->channels, seq_len, with_state};
    memcpy(buf, &hh, sizeof hh);
    cl_mem src[3] = {h->weight, h->adam_m, h->adam_v};
    for (size_t i = 0; i < arrays; i++)
        device_read(h->dev, src[i], 0, n * sizeof(float), buf + HEAD_HEADER_BYTES + i * n * sizeof(float));
    Status s = device_status(h->dev);  // a failed read leaves zeros, never to be saved
    if (!s) s = write_file_atomic(path, buf, bytes);
    free(buf);
    return s;
}

// The file's header, checked against its size; *text keeps the whole file.
static Status head_read(const char *path, HeadHeader *hh, char **text, size_t *len) {
    TRY(read_user_file(path, "classification head", text, len));
    if (*len < HEAD_HEADER_BYTES) goto bad;
    memcpy(hh, *text, sizeof *hh);
    if (hh->magic != HEAD_MAGIC || hh->version != HEAD_VERSION || hh->num_labels < 2 || hh->channels < 1 ||
        hh->seq_len < 1 || (hh->with_state != 0 && hh->with_state != 1) || hh->num_labels > (1 << 20) ||
        hh->channels > (1 << 20))
        goto bad;
    const size_t n = (size_t)hh->num_labels * hh->channels;
    if (*len != HEAD_HEADER_BYTES + (hh->with_state ? 3 : 1) * n * sizeof(float)) goto bad;
    return STATUS_OK;
bad:
    free(*text);
    *text = NULL;
    return fail(STATUS_INPUT, "'%s' is not a gpt2cl classification head file (bad header or size)", path);
}

Status head_read_header(const char *path, int *num_labels, int *channels, int *seq_len) {
    HeadHeader hh;
    char *text;
    size_t len;
    TRY(head_read(path, &hh, &text, &len));
    free(text);
    *num_labels = hh.num_labels;
    *channels = hh.channels;
    *seq_len = hh.seq_len;
    return STATUS_OK;
}

Status head_load(ClassHead *h, const char *path, int with_state) {
    HeadHeader hh;
    char *text;
    size_t len;
    TRY(head_read(path, &hh, &text, &len));
    Status s = STATUS_OK;
    if (hh.num_labels != h->num_labels || hh.channels != h->channels)
        s = fail(STATUS_INPUT, "classification head '%s' is %d labels x %d channels, the model needs %d x %d", path,
                 hh.num_labels, hh.channels, h->num_labels, h->channels);
    else if (with_state && !hh.with_state)
        s = fail(STATUS_INPUT, "classification head '%s' has no optimizer state to resume from", path);
    const size_t n = (size_t)h->num_labels * h->channels;
    cl_mem dst[3] = {h->weight, h->adam_m, h->adam_v};
    for (int i = 0; !s && i < (with_state ? 3 : 1); i++) {
        const float *src = (const float *)(text + HEAD_HEADER_BYTES) + (size_t)i * n;
        for (size_t j = 0; j < n && !s; j++)
            if (!isfinite(src[j])) s = fail(STATUS_INPUT, "classification head '%s' holds a non-finite value", path);
        if (!s) device_write(h->dev, dst[i], 0, n * sizeof(float), src);
    }
    free(text);
    return s ? s : device_status(h->dev);
}
