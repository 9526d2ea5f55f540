#include "model/decode.h"

#include <stdlib.h>
#include <string.h>

#include "model/forward.h"
#include "util/util.h"

Status decoder_create(Decoder *d, const GPT2 *m, int B, int Tmax) {
    memset(d, 0, sizeof *d);
    TRY(kv_cache_create(&d->cache, m, B, Tmax));
    Status s = workspace_create(&d->step, m, B, 1, WS_FORWARD);
    if (s) {
        kv_cache_free(&d->cache);
        return s;
    }
    d->logits = mallocCheck((size_t)B * m->config.padded_vocab_size * sizeof(float));
    return STATUS_OK;
}

void decoder_free(Decoder *d) {
    kv_cache_free(&d->cache);
    workspace_free(&d->step);
    free(d->logits);
    memset(d, 0, sizeof *d);
}

// logits (rows, Vp) of the rows' last positions (lnf rows b*T + T-1 of ws, copied
// together first) into d->logits.
static void last_row_logits(Decoder *d, const GPT2 *m, Workspace *ws, Ops *o) {
    const int B = ws->B, T = ws->T, C = m->config.channels, Vp = m->config.padded_vocab_size;
    const size_t row = (size_t)C * sizeof(float);
    cl_mem lnf = ws->acts.lnf, last = ws->acts.proj_out;  // proj_out: free after the trunk
    for (int b = 0; T > 1 && b < B; b++)
        CL_CHECK(clEnqueueCopyBuffer(m->dev->queue, lnf, last, ((size_t)b * T + T - 1) * row, (size_t)b * row, row, 0,
                                     NULL, NULL));
    op_matmul_forward(o, ws->acts.logits, T > 1 ? last : lnf, m->params.slices[P_WTE][0], NULL, B, C, Vp);  // (B,Vp)
    device_read(m->dev, ws->acts.logits, 0, (size_t)B * Vp * sizeof(float), d->logits);
}

// A prefill of `rows` rows (1 or B) of the n tokens from tokens[start] into an empty cache.
static Status prefill(Decoder *d, const GPT2 *m, Ops *o, const int *tokens, size_t stride, int n, int rows) {
    Workspace ws;
    TRY(workspace_create(&ws, m, rows, n, WS_FORWARD));
    int *window = mallocCheck((size_t)rows * n * sizeof(int));
    for (int b = 0; b < rows; b++)
        memcpy(window + (size_t)b * n, tokens + b * stride + d->start, (size_t)n * sizeof(int));
    gpt2_set_batch(&ws, window, NULL);
    gpt2_forward_trunk(m, &ws, o, &d->cache, 0);
    d->cache.len = n;
    last_row_logits(d, m, &ws, o);
    free(window);
    workspace_free(&ws);
    const int B = d->cache.B, Vp = m->config.padded_vocab_size;
    if (rows < B) {  // every row starts from row 0's cache and logits
        int *zero = callocCheck((size_t)B, sizeof(int));
        kv_cache_reorder(&d->cache, o, zero);
        free(zero);
        for (int b = 1; b < B; b++) memcpy(d->logits + (size_t)b * Vp, d->logits, (size_t)Vp * sizeof(float));
    }
    return device_status(m->dev);
}

// One new token per row (the n-th of each) at the cache's next position.
static Status step(Decoder *d, const GPT2 *m, Ops *o, const int *tokens, size_t stride, int n) {
    const int B = d->cache.B;
    int *next = mallocCheck((size_t)B * sizeof(int));
    for (int b = 0; b < B; b++) next[b] = tokens[b * stride + n - 1];
    gpt2_set_batch(&d->step, next, NULL);
    free(next);
    gpt2_forward_trunk(m, &d->step, o, &d->cache, 1);
    d->cache.len++;
    last_row_logits(d, m, &d->step, o);
    return device_status(m->dev);
}

Status decoder_feed(Decoder *d, const GPT2 *m, Ops *o, const int *tokens, size_t stride, int n, int same_rows) {
    KVCache *c = &d->cache;
    if (c->len == 0) {
        if (n > c->Tmax) internal_error("decoder_feed: a prompt longer than the cache");
        return prefill(d, m, o, tokens, stride, n, same_rows ? 1 : c->B);
    }
    if (n != d->start + c->len + 1) internal_error("decoder_feed: not one new token per row");
    if (c->len < c->Tmax) return step(d, m, o, tokens, stride, n);
    int keep = c->Tmax / 2 > 0 ? c->Tmax / 2 : 1;  // a full cache: prefill its last half again
    d->start = n - keep;
    c->len = 0;
    return prefill(d, m, o, tokens, stride, keep, c->B);
}
