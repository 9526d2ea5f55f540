// Choosing the next token from a row of logits: greedy, or sampling with
// temperature, top-k and top-p (nucleus) filtering, on the host.
#pragma once
#include "util/rng.h"

typedef struct {
    float temperature;  // <= 0 means greedy
    int top_k;          // 0 = off
    float top_p;        // 1 = off
} SamplerParams;

// logits has V entries (the real vocabulary; padding excluded). Deterministic for a given rng state.
int sample_token(const float *logits, int V, const SamplerParams *p, Rng *rng);
int argmax(const float *x, int n);
