#include "model/beam_search.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/decode.h"
#include "model/generate.h"
#include "util/util.h"

typedef struct {
    double score;
    int beam, token;
} Cand;

// Whether a ranks before b: higher score, then lower beam, then lower token.
static int ranks_before(const Cand *a, const Cand *b) {
    if (a->score != b->score) return a->score > b->score;
    if (a->beam != b->beam) return a->beam < b->beam;
    return a->token < b->token;
}

// The K best candidates of beams 0..beams-1 into top, best first.
static void top_candidates(const float *logits, int V, int Vp, const double *sums, int beams, int K, Cand *top) {
    int n = 0;
    for (int i = 0; i < beams; i++) {
        const float *x = logits + (size_t)i * Vp;
        double mx = x[0], z = 0.0;
        for (int v = 1; v < V; v++) mx = x[v] > mx ? x[v] : mx;
        for (int v = 0; v < V; v++) z += exp((double)x[v] - mx);
        const double base = sums[i] - mx - log(z);
        for (int v = 0; v < V; v++) {
            Cand c = {base + (double)x[v], i, v};
            if (n == K && !ranks_before(&c, &top[K - 1])) continue;
            int j = n < K ? n++ : K - 1;  // insertion into the sorted list, the last one falling off
            for (; j > 0 && ranks_before(&c, &top[j - 1]); j--) top[j] = top[j - 1];
            top[j] = c;
        }
    }
}

// Adds a hypothesis (len generated tokens) to r, which keeps the N best, best first (earlier ones first on ties).
static void add_hypothesis(BeamResult *r, int N, int max_new, const int *gen, int len, double score) {
    if (r->n == N && score <= r->score[N - 1]) return;
    int j = r->n < N ? r->n++ : N - 1;
    for (; j > 0 && score > r->score[j - 1]; j--) {
        r->score[j] = r->score[j - 1];
        r->len[j] = r->len[j - 1];
        memcpy(r->tokens + (size_t)j * max_new, r->tokens + (size_t)(j - 1) * max_new, (size_t)max_new * sizeof(int));
    }
    r->score[j] = score;
    r->len[j] = len;
    memcpy(r->tokens + (size_t)j * max_new, gen, (size_t)len * sizeof(int));
}

typedef struct {
    int *tokens, *next;  // (N, total): the live beams' sequences, and the next step's
    double *sums, *next_sums;
    int *parent;
    Cand *top;  // (2N)
} Beams;

// One step's choice from the 2N best candidates: hypotheses into r, the next live beams into b (swapped in).
static void select_beams(Beams *b, BeamResult *r, const BeamParams *p, int n, int step, int total) {
    const int N = p->num_beams;
    int k = 0;
    for (int rank = 0; rank < 2 * N && k < N; rank++) {
        const Cand *c = &b->top[rank];
        const int *row = b->tokens + (size_t)c->beam * total;
        if (c->token == p->stop_token) {
            if (rank < N)
                add_hypothesis(r, N, p->max_new, row + n - step, step, c->score / pow(step + 1, p->length_penalty));
            continue;
        }
        memcpy(b->next + (size_t)k * total, row, (size_t)n * sizeof(int));
        b->next[(size_t)k * total + n] = c->token;
        b->next_sums[k] = c->score;
        b->parent[k++] = c->beam;
    }
    int *t = b->tokens;
    b->tokens = b->next;
    b->next = t;
    double *s = b->sums;
    b->sums = b->next_sums;
    b->next_sums = s;
}

static Status search(Decoder *d, const GPT2 *m, Ops *o, Beams *b, const BeamParams *p, int n_prompt, BeamResult *r) {
    const int N = p->num_beams, total = n_prompt + p->max_new;
    for (int step = 0; step < p->max_new; step++) {
        const int n = n_prompt + step;
        TRY(decoder_feed(d, m, o, b->tokens, (size_t)total, n, step == 0));
        top_candidates(d->logits, m->config.vocab_size, m->config.padded_vocab_size, b->sums, step == 0 ? 1 : N,
                       2 * N, b->top);
        select_beams(b, r, p, n, step, total);
        kv_cache_reorder(&d->cache, o, b->parent);
        // The live beams are best first: the first is the best a live beam scores now.
        if (r->n == N && b->sums[0] / pow(step + 1, p->length_penalty) <= r->score[N - 1]) return STATUS_OK;
    }
    for (int k = 0; k < N; k++)
        add_hypothesis(r, N, p->max_new, b->tokens + (size_t)k * total + n_prompt, p->max_new,
                       b->sums[k] / pow(p->max_new, p->length_penalty));
    return STATUS_OK;
}

Status gpt2_beam_search(const GPT2 *m, Ops *o, const int *prompt, int n_prompt, const BeamParams *p, BeamResult *r) {
    const int N = p->num_beams, total = n_prompt + p->max_new;
    if (N < 1 || 2 * N > m->config.vocab_size || p->max_new < 1) internal_error("gpt2_beam_search: bad parameters");
    memset(r, 0, sizeof *r);
    r->len = mallocCheck((size_t)N * sizeof(int));
    r->tokens = mallocCheck((size_t)N * p->max_new * sizeof(int));
    r->score = mallocCheck((size_t)N * sizeof(double));
    Decoder d;
    TRY(decoder_create(&d, m, N, generate_cache_len(&m->config, n_prompt, p->max_new)));
    Beams b = {mallocCheck((size_t)N * total * sizeof(int)), mallocCheck((size_t)N * total * sizeof(int)),
               callocCheck((size_t)N, sizeof(double)), callocCheck((size_t)N, sizeof(double)),
               mallocCheck((size_t)N * sizeof(int)), mallocCheck((size_t)2 * N * sizeof(Cand))};
    for (int k = 0; k < N; k++) memcpy(b.tokens + (size_t)k * total, prompt, (size_t)n_prompt * sizeof(int));
    Status s = search(&d, m, o, &b, p, n_prompt, r);
    free(b.tokens);
    free(b.next);
    free(b.sums);
    free(b.next_sums);
    free(b.parent);
    free(b.top);
    decoder_free(&d);
    return s;
}

void beam_result_free(BeamResult *r) {
    free(r->len);
    free(r->tokens);
    free(r->score);
    memset(r, 0, sizeof *r);
}
