// Open-addressing hash map from byte strings to uint32 values. The BPE merge
// loop asks "what is the rank of these bytes?" several times per pre-token, so
// lookups must be cheap: keys live in one arena, probing is linear, and each
// slot keeps the full hash so most mismatches never touch the key bytes.
#pragma once
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t hash;   // 0 marks an empty slot
    uint32_t off;    // key offset in the arena
    uint32_t len;    // key length
    uint32_t value;
} BpeMapSlot;

typedef struct {
    BpeMapSlot *slots;
    size_t mask;     // capacity - 1 (capacity is a power of two)
    size_t count;
    unsigned char *arena;
    size_t arena_len, arena_cap;
} BpeMap;

void bpe_map_init(BpeMap *m, size_t expected);
void bpe_map_free(BpeMap *m);
void bpe_map_clear(BpeMap *m);
// Inserts or overwrites; returns 1 if the key was new, -1 (nothing inserted)
// when the keys would pass 4 GiB.
int bpe_map_put(BpeMap *m, const unsigned char *key, size_t len, uint32_t value);
// Returns 1 and sets *value when found.
int bpe_map_get(const BpeMap *m, const unsigned char *key, size_t len, uint32_t *value);
uint64_t bpe_hash(const unsigned char *key, size_t len);
