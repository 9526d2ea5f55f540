// Rank-ordered byte-pair merging of one pre-token, identical to tiktoken's
// byte_pair_merge: repeatedly merge the adjacent pair whose concatenated
// bytes have the lowest rank, the leftmost one on ties. Short pieces use
// tiktoken's linear scan; long ones (whitespace runs, binary junk) a heap, so
// a megabyte of spaces is O(n log n) rather than O(n^2). Both pick the same
// pair each step: the heap orders by (rank, start offset).
#include <stdlib.h>

#include "text/bpe_internal.h"
#include "util/util.h"

#define NO_RANK UINT32_MAX
#define HEAP_THRESHOLD 128

static void ensure_scratch(Tokenizer *t, size_t n) {
    if (n <= t->scratch_cap) return;
    size_t cap = t->scratch_cap ? t->scratch_cap : 256;
    while (cap < n) cap *= 2;
    free(t->s_start); free(t->s_rank); free(t->s_next); free(t->s_prev); free(t->s_heap);
    t->s_start = mallocCheck(cap * sizeof(uint32_t));
    t->s_rank = mallocCheck(cap * sizeof(uint32_t));
    t->s_next = mallocCheck(cap * sizeof(uint32_t));
    t->s_prev = mallocCheck(cap * sizeof(uint32_t));
    t->s_heap = mallocCheck(cap * 3 * sizeof(uint64_t)); // <= len initial + 2 per merge
    t->scratch_cap = cap;
}

static inline uint32_t rank_of(const Tokenizer *t, const unsigned char *p, size_t n) {
    uint32_t r;
    return bpe_map_get(&t->ranks, p, n, &r) ? r : NO_RANK;
}

static void emit(const Tokenizer *t, const unsigned char *p, size_t n, TokenIds *out) {
    uint32_t r = rank_of(t, p, n);
    // Unreachable for a vocabulary that holds all 256 bytes (checked at load).
    if (r == NO_RANK) internal_error("BPE merge produced a span that is not a token");
    token_ids_push(out, (int32_t)r);
}

static void merge_scan(Tokenizer *t, const unsigned char *piece, size_t len, TokenIds *out) {
    // parts[i] = (start, rank of the pair starting here); two sentinels.
    uint32_t *start = t->s_start, *rank = t->s_rank;
    size_t n = len + 1;
    for (size_t i = 0; i + 1 < len; i++) {
        start[i] = (uint32_t)i;
        rank[i] = rank_of(t, piece + i, 2);
    }
    start[len - 1] = (uint32_t)(len - 1); rank[len - 1] = NO_RANK;
    start[len] = (uint32_t)len; rank[len] = NO_RANK;
    for (;;) {
        uint32_t best = NO_RANK;
        size_t bi = 0;
        for (size_t i = 0; i + 1 < n; i++)
            if (rank[i] < best) { best = rank[i]; bi = i; }
        if (best == NO_RANK) break;
        // After merging parts bi and bi+1, pairs (bi-1, bi) and (bi, bi+1) span
        // three old parts.
        if (bi > 0) rank[bi - 1] = bi + 2 < n ? rank_of(t, piece + start[bi - 1], start[bi + 2] - start[bi - 1]) : NO_RANK;
        rank[bi] = bi + 3 < n ? rank_of(t, piece + start[bi], start[bi + 3] - start[bi]) : NO_RANK;
        for (size_t i = bi + 1; i + 1 < n; i++) { start[i] = start[i + 1]; rank[i] = rank[i + 1]; }
        n--;
    }
    for (size_t i = 0; i + 1 < n; i++) emit(t, piece + start[i], start[i + 1] - start[i], out);
}

static void heap_push(uint64_t *h, size_t *n, uint64_t v) {
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (h[p] <= v) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = v;
}

static uint64_t heap_pop(uint64_t *h, size_t *n) {
    uint64_t top = h[0], v = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && h[c + 1] < h[c]) c++;
        if (v <= h[c]) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = v;
    return top;
}

static void merge_heap(Tokenizer *t, const unsigned char *piece, size_t len, TokenIds *out) {
    // Parts are a linked list over start offsets; rank[i] is the rank of the
    // pair starting at part i. Stale heap entries are skipped on pop: a part's
    // pair only changes by growing, and a longer span has a different rank.
    uint32_t *rank = t->s_rank, *next = t->s_next, *prev = t->s_prev;
    uint64_t *heap = t->s_heap;
    size_t hn = 0;
    const uint32_t end = (uint32_t)len;
    for (uint32_t i = 0; i < end; i++) {
        next[i] = i + 1;
        prev[i] = i - 1; // wraps for i = 0; never read there
        rank[i] = i + 1 < end ? rank_of(t, piece + i, 2) : NO_RANK;
        if (rank[i] != NO_RANK) heap_push(heap, &hn, (uint64_t)rank[i] << 32 | i);
    }
    while (hn > 0) {
        uint64_t top = heap_pop(heap, &hn);
        uint32_t i = (uint32_t)top, r = (uint32_t)(top >> 32);
        if (rank[i] != r) continue; // stale (also covers removed parts: their rank is NO_RANK)
        uint32_t j = next[i];
        next[i] = next[j];
        if (next[j] < end) prev[next[j]] = i;
        rank[j] = NO_RANK;
        uint32_t k = next[i];
        rank[i] = k < end ? rank_of(t, piece + i, next[k] - i) : NO_RANK;
        if (rank[i] != NO_RANK) heap_push(heap, &hn, (uint64_t)rank[i] << 32 | i);
        if (i > 0) {
            uint32_t p = prev[i];
            rank[p] = rank_of(t, piece + p, next[i] - p);
            if (rank[p] != NO_RANK) heap_push(heap, &hn, (uint64_t)rank[p] << 32 | p);
        }
    }
    for (uint32_t i = 0; i < end; i = next[i]) emit(t, piece + i, next[i] - i, out);
}

Status bpe_merge(Tokenizer *t, const unsigned char *piece, size_t len, TokenIds *out) {
    if (len >= UINT32_MAX) return fail(STATUS_INPUT, "pre-token of %zu bytes is too long to merge", len);
    ensure_scratch(t, len + 2);
    if (len <= HEAP_THRESHOLD) merge_scan(t, piece, len, out);
    else merge_heap(t, piece, len, out);
    return STATUS_OK;
}
