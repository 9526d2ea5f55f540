#include "train/evaluate.h"

#include <stdlib.h>
#include <string.h>

#include "model/forward.h"
#include "train/dataloader.h"
#include "util/util.h"

size_t eval_num_windows(size_t n, int T, int stride) {
    const size_t targets = n - 1, t = (size_t)T, s = (size_t)stride;
    if (targets <= t) return 1;
    return 1 + (targets - t + s - 1) / s;  // the last window reaches the last target
}

// One window: inputs tokens[start .. start+len), targets one further; positions >= first are scored.
typedef struct {
    size_t start;
    int len, first;
} Window;

static Window window_at(size_t n, int T, int stride, size_t w) {
    Window win = {.start = w * (size_t)stride};
    size_t left = n - 1 - win.start;
    win.len = left < (size_t)T ? (int)left : T;
    // The previous window ended at start - stride + T (it was whole: only the last is short).
    win.first = w == 0 ? 0 : T - stride;
    return win;
}

// Fills row b of the batch with window win (the rest of the row: token 0, not scored).
static void fill_row(int *inputs, int *targets, int T, int b, const int32_t *tokens, Window win) {
    int *in = inputs + (size_t)b * T, *tg = targets + (size_t)b * T;
    for (int i = 0; i < T; i++) {
        in[i] = i < win.len ? tokens[win.start + (size_t)i] : 0;
        tg[i] = i < win.len ? tokens[win.start + (size_t)i + 1] : 0;
    }
}

// The host side of a batch of B windows of T tokens.
typedef struct {
    int *inputs, *targets;  // (B,T)
    float *losses;          // (B,T), read back from the device
    Window *win;            // (B)
} Batch;

// Runs one batch of windows [w0, w0+nb) of tokens[0..n) and adds their scored losses to out.
static Status eval_batch(const GPT2 *m, Workspace *ws, Ops *o, const int32_t *tokens, size_t n, int stride,
                         size_t w0, int nb, Batch *h, EvalTotals *out) {
    const int B = ws->B, T = ws->T;
    for (int b = 0; b < B; b++) {
        h->win[b] = b < nb ? window_at(n, T, stride, w0 + (size_t)b) : (Window){.len = 0};
        fill_row(h->inputs, h->targets, T, b, tokens, h->win[b]);
    }
    gpt2_set_batch(ws, h->inputs, h->targets);
    gpt2_forward(m, ws, o, 0.0f, 0.0f);
    device_read(ws->dev, ws->acts.losses, 0, (size_t)B * T * sizeof(float), h->losses);
    TRY(device_status(ws->dev));
    for (int b = 0; b < nb; b++)
        for (int i = h->win[b].first; i < h->win[b].len; i++) {
            out->nats += h->losses[(size_t)b * T + (size_t)i];
            out->tokens++;
        }
    out->windows += (size_t)nb;
    return STATUS_OK;
}

Status evaluate_tokens(const GPT2 *m, Workspace *ws, Ops *o, const int32_t *tokens, size_t n, int stride,
                       EvalProgress progress, void *ctx, EvalTotals *out) {
    const int B = ws->B, T = ws->T;
    *out = (EvalTotals){0};
    if (n < 2) return fail(STATUS_INPUT, "nothing to evaluate: the input has %zu token(s), at least 2 are needed", n);
    if (stride < 1 || stride > T)
        return fail(STATUS_INPUT, "stride (%d) must be between 1 and the window length seq_len (%d)", stride, T);
    const size_t num = eval_num_windows(n, T, stride);
    const size_t BT = (size_t)B * T;
    Batch h = {.inputs = mallocCheck(BT * sizeof(int)), .targets = mallocCheck(BT * sizeof(int)),
               .losses = mallocCheck(BT * sizeof(float)), .win = mallocCheck((size_t)B * sizeof(Window))};
    Status s = STATUS_OK;
    for (size_t w = 0; w < num && !s; w += (size_t)B) {
        int nb = num - w < (size_t)B ? (int)(num - w) : B;
        s = eval_batch(m, ws, o, tokens, n, stride, w, nb, &h, out);
        if (!s && progress) progress(out, n - 1, ctx);
    }
    free(h.inputs);
    free(h.targets);
    free(h.losses);
    free(h.win);
    return s;
}

size_t eval_scored_bytes(const Tokenizer *tok, const int32_t *tokens, size_t n) {
    size_t bytes = 0;
    const int eot = tokenizer_eot(tok);
    for (size_t i = 1; i < n; i++) {
        size_t len = 0;
        if (tokens[i] != eot && tokenizer_decode(tok, tokens[i], &len)) bytes += len;
    }
    return bytes;
}

Status eval_read_shards(char *const *patterns, int num_patterns, int vocab_size, TokenIds *out) {
    for (int p = 0; p < num_patterns; p++) {
        DataLoader d;
        char *pattern;
        TRY(expand_path(patterns[p], &pattern));
        Status s = dataloader_init(&d, pattern, 1, 1, vocab_size, 0, 0, "--data");
        free(pattern);
        TRY(s);
        for (int f = 0; f < d.num_files && !s; f++) {
            // Seeking to a shard loads it whole and checks its ids.
            s = dataloader_seek(&d, &(DataPosition){.shard = (uint64_t)f});
            token_ids_reserve(out, s ? 0 : d.num_tokens);
            for (size_t i = 0; !s && i < d.num_tokens; i++) token_ids_push(out, d.tokens[i]);
        }
        dataloader_free(&d);
        TRY(s);
    }
    return STATUS_OK;
}

// Text is encoded in pieces of about this many bytes, cut where the ids cannot change.
#define EVAL_CHUNK_BYTES (1 << 20)

Status eval_read_texts(char *const *paths, int num_paths, Tokenizer *tok, TokenIds *out) {
    for (int p = 0; p < num_paths; p++) {
        char *text;
        size_t len;
        TRY(read_user_file(paths[p], "text file", &text, &len));
        token_ids_push(out, tokenizer_eot(tok));
        Status s = STATUS_OK;
        const unsigned char *u = (const unsigned char *)text;
        for (size_t pos = 0; pos < len && !s;) {
            size_t end = pos + EVAL_CHUNK_BYTES < len ? tokenizer_split_point(u, len, pos + EVAL_CHUNK_BYTES) : len;
            s = tokenizer_encode(tok, u + pos, end - pos, out, NULL);
            pos = end;
        }
        free(text);
        TRY(s);
    }
    return STATUS_OK;
}
