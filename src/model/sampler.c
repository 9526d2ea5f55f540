#include "model/sampler.h"

#include <math.h>
#include <stdlib.h>

#include "util/util.h"

int argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

typedef struct {
    float p;
    int id;
} Prob;

static int by_prob_desc(const void *a, const void *b) {
    const Prob *x = a, *y = b;
    if (x->p != y->p) return x->p < y->p ? 1 : -1;
    return x->id - y->id;  // ties in a fixed order keep sampling reproducible
}

int sample_token(const float *logits, int V, const SamplerParams *p, Rng *rng) {
    if (p->temperature <= 0.0f) return argmax(logits, V);
    Prob *probs = mallocCheck((size_t)V * sizeof *probs);
    float mx = logits[argmax(logits, V)];
    double sum = 0.0;
    for (int i = 0; i < V; i++) {
        probs[i] = (Prob){expf((logits[i] - mx) / p->temperature), i};
        sum += probs[i].p;
    }
    int n = V;
    if ((p->top_k > 0 && p->top_k < V) || p->top_p < 1.0f) {
        qsort(probs, (size_t)V, sizeof *probs, by_prob_desc);
        if (p->top_k > 0 && p->top_k < n) n = p->top_k;
        if (p->top_p < 1.0f) {
            double kept = 0.0, total = 0.0;
            for (int i = 0; i < n; i++) total += probs[i].p;
            for (int i = 0; i < n; i++) {
                kept += probs[i].p;
                if (kept >= p->top_p * total) {
                    n = i + 1;
                    break;
                }
            }
        }
        sum = 0.0;
        for (int i = 0; i < n; i++) sum += probs[i].p;
    }
    double r = (double)rng_uniform(rng) * sum, acc = 0.0;
    int choice = probs[n - 1].id;
    for (int i = 0; i < n; i++) {
        acc += probs[i].p;
        if (r < acc) {
            choice = probs[i].id;
            break;
        }
    }
    free(probs);
    return choice;
}
