#include "text/bpe_map.h"

#include <stdlib.h>
#include <string.h>

#include "util/util.h"

uint64_t bpe_hash(const unsigned char *key, size_t len) {
    // 8 bytes at a time with a multiply-xorshift mix: keys are short (pre-tokens
    // and token pairs), so this is a few multiplies per lookup.
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (len * 0xff51afd7ed558ccdull);
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, key, 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
        h ^= h >> 31;
        key += 8;
        len -= 8;
    }
    uint64_t w = 0;
    for (size_t i = 0; i < len; i++) w |= (uint64_t)key[i] << (8 * i);
    h = (h ^ w) * 0x94d049bb133111ebull;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    return h ? h : 1;
}

void bpe_map_init(BpeMap *m, size_t expected) {
    size_t cap = 16;
    while (cap < expected * 2) cap <<= 1;
    m->slots = callocCheck(cap, sizeof(BpeMapSlot));
    m->mask = cap - 1;
    m->count = 0;
    m->arena_cap = expected * 8 + 64;
    m->arena = mallocCheck(m->arena_cap);
    m->arena_len = 0;
}

void bpe_map_free(BpeMap *m) {
    free(m->slots);
    free(m->arena);
    memset(m, 0, sizeof(*m));
}

void bpe_map_clear(BpeMap *m) {
    memset(m->slots, 0, (m->mask + 1) * sizeof(BpeMapSlot));
    m->count = 0;
    m->arena_len = 0;
}

static BpeMapSlot *find_slot(const BpeMap *m, const unsigned char *key, size_t len, uint64_t h) {
    size_t i = (size_t)h & m->mask;
    for (;;) {
        BpeMapSlot *s = &m->slots[i];
        if (s->hash == 0) return s;
        if (s->hash == h && s->len == len && memcmp(m->arena + s->off, key, len) == 0) return s;
        i = (i + 1) & m->mask;
    }
}

static void grow(BpeMap *m) {
    size_t old_cap = m->mask + 1;
    BpeMapSlot *old = m->slots;
    m->slots = callocCheck(old_cap * 2, sizeof(BpeMapSlot));
    m->mask = old_cap * 2 - 1;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].hash == 0) continue;
        size_t j = (size_t)old[i].hash & m->mask;
        while (m->slots[j].hash) j = (j + 1) & m->mask;
        m->slots[j] = old[i];
    }
    free(old);
}

int bpe_map_put(BpeMap *m, const unsigned char *key, size_t len, uint32_t value) {
    uint64_t h = bpe_hash(key, len);
    BpeMapSlot *s = find_slot(m, key, len, h);
    if (s->hash) {
        s->value = value;
        return 0;
    }
    if (len > UINT32_MAX || m->arena_len + len > UINT32_MAX) return -1;
    if (m->arena_len + len > m->arena_cap) {
        while (m->arena_len + len > m->arena_cap) m->arena_cap *= 2;
        unsigned char *a = realloc(m->arena, m->arena_cap);
        if (!a) out_of_memory("growing the BPE map arena to %zu bytes", m->arena_cap);
        m->arena = a;
    }
    memcpy(m->arena + m->arena_len, key, len);
    s->hash = h;
    s->off = (uint32_t)m->arena_len;
    s->len = (uint32_t)len;
    s->value = value;
    m->arena_len += len;
    m->count++;
    if (m->count * 2 > m->mask + 1) grow(m);
    return 1;
}

int bpe_map_get(const BpeMap *m, const unsigned char *key, size_t len, uint32_t *value) {
    const BpeMapSlot *s = find_slot(m, key, len, bpe_hash(key, len));
    if (!s->hash) return 0;
    *value = s->value;
    return 1;
}
