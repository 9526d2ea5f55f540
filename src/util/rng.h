// A small, portable, seedable RNG (xoshiro256**), so initialisation and data
// order are reproducible on every platform and its state can be checkpointed.
#pragma once
#include <stdint.h>

typedef struct {
    uint64_t s[4];
} Rng;

void rng_seed(Rng *r, uint64_t seed);
uint64_t rng_u64(Rng *r);
float rng_uniform(Rng *r);                 // [0, 1)
float rng_normal(Rng *r, float mean, float std);
