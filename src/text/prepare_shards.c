#include "text/prepare_shards.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/sft_example.h"
#include "util/util.h"

static void put_le32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); p[2] = (unsigned char)(v >> 16); p[3] = (unsigned char)(v >> 24);
}

char *shard_path(const char *dir, const char *prefix, int i) {
    size_t n = strlen(dir) + strlen(prefix) + 32;
    char *p = mallocCheck(n);
    snprintf(p, n, "%s/%s_%06d.bin", dir, prefix, i);
    return p;
}

void shard_writer_init(ShardWriter *w, const char *dir, const char *prefix, size_t max_tokens) {
    memset(w, 0, sizeof(*w));
    w->dir = strdup_check(dir);
    w->prefix = prefix;
    w->max_tokens = max_tokens;
}

// The mask file of the shard at path: the shard's header with MASK_MAGIC, then the mask bytes.
static Status write_mask(ShardWriter *w, const char *path) {
    unsigned char *buf = mallocCheck(SHARD_HEADER_INTS * 4 + w->n);
    memset(buf, 0, SHARD_HEADER_INTS * 4);
    put_le32(buf, MASK_MAGIC);
    put_le32(buf + 4, MASK_VERSION);
    put_le32(buf + 8, (uint32_t)w->n);
    memcpy(buf + SHARD_HEADER_INTS * 4, w->mask, w->n);
    char *mpath = mask_path_of(path);
    Status s = write_file_atomic(mpath, buf, SHARD_HEADER_INTS * 4 + w->n);
    free(mpath);
    free(buf);
    return s;
}

static Status flush(ShardWriter *w) {
    if (w->n == 0) return STATUS_OK;
    if (w->shards > 999999) return fail(STATUS_INPUT, "more than 1000000 %s shards: raise --shard-tokens", w->prefix);
    memset(w->buf, 0, SHARD_HEADER_INTS * 4);
    put_le32(w->buf, SHARD_MAGIC);
    put_le32(w->buf + 4, SHARD_VERSION);
    put_le32(w->buf + 8, (uint32_t)w->n);
    char *path = shard_path(w->dir, w->prefix, w->shards);
    Status s = write_file_atomic(path, w->buf, SHARD_HEADER_INTS * 4 + 2 * w->n);
    if (!s && w->masked) s = write_mask(w, path);
    free(path);
    if (s) return s;
    w->shards++;
    w->n = 0;
    return STATUS_OK;
}

void shard_writer_use_masks(ShardWriter *w, int32_t eot) {
    w->masked = 1;
    w->eot = eot;
}

// Buffers ids (and with a masked writer their mask bytes; NULL: none are targets).
static Status add(ShardWriter *w, const int32_t *ids, const unsigned char *mask, size_t n) {
    while (n > 0) {
        if (w->n == w->max_tokens) TRY(flush(w));
        size_t take = w->max_tokens - w->n;
        if (take > n) take = n;
        if (w->n + take > w->cap) {
            // Grow geometrically up to the shard size, so small corpora stay small.
            size_t cap = w->cap ? w->cap : 65536;
            while (cap < w->n + take) cap *= 2;
            if (cap > w->max_tokens) cap = w->max_tokens;
            unsigned char *b = realloc(w->buf, SHARD_HEADER_INTS * 4 + 2 * cap);
            if (!b) out_of_memory("for a %zu-token shard buffer", cap);
            w->buf = b;
            if (w->masked) {
                unsigned char *m = realloc(w->mask, cap);
                if (!m) out_of_memory("for a %zu-token mask buffer", cap);
                w->mask = m;
            }
            w->cap = cap;
        }
        if (w->masked) {
            if (mask) memcpy(w->mask + w->n, mask, take);
            else memset(w->mask + w->n, 0, take);
            for (size_t i = 0; i < take; i++) w->targets += (w->mask[w->n + i] & MASK_TARGET) != 0;
            if (mask) mask += take;
        }
        unsigned char *dst = w->buf + SHARD_HEADER_INTS * 4 + 2 * w->n;
        for (size_t i = 0; i < take; i++) {
            int32_t id = ids[i];
            if (id < 0 || id > 65535)
                return fail(STATUS_INPUT, "token id %d does not fit the uint16 shard format", (int)id);
            dst[2 * i] = (unsigned char)id;
            dst[2 * i + 1] = (unsigned char)(id >> 8);
        }
        w->n += take;
        w->total += take;
        ids += take;
        n -= take;
    }
    return STATUS_OK;
}

Status shard_writer_add(ShardWriter *w, const int32_t *ids, size_t n) { return add(w, ids, NULL, n); }

Status shard_writer_add_example(ShardWriter *w, const int32_t *ids, const unsigned char *mask, size_t n) {
    if (n == 0) return STATUS_OK;
    // The <|endoftext|> that starts this example also ends the one before: a target when that one ended on one.
    unsigned char first = (unsigned char)(mask[0] | (w->open_completion ? MASK_TARGET : 0));
    TRY(add(w, ids, &first, 1));
    TRY(add(w, ids + 1, mask + 1, n - 1));
    w->open_completion = (mask[n - 1] & MASK_TARGET) != 0;
    return STATUS_OK;
}

Status shard_writer_finish(ShardWriter *w) {
    unsigned char end = MASK_TARGET;
    Status s = w->masked && w->open_completion ? add(w, &w->eot, &end, 1) : STATUS_OK;
    w->open_completion = 0;
    if (!s) s = flush(w);
    shard_writer_free(w);
    return s;
}

void shard_writer_free(ShardWriter *w) {
    free(w->buf);
    free(w->mask);
    w->mask = NULL;
    free(w->dir);
    w->buf = NULL;
    w->dir = NULL;
    w->cap = 0;
}

static uint64_t ceil_ppm(uint64_t x, uint32_t ppm) { return (x * ppm + 999999) / 1000000; }

int split_block_is_val(uint64_t b, uint32_t val_ppm) {
    return ceil_ppm(b + 1, val_ppm) > ceil_ppm(b, val_ppm);
}

Status split_add(Splitter *s, const int32_t *ids, size_t n, ShardWriter *train, ShardWriter *val) {
    while (n > 0) {
        uint64_t b = s->pos / s->block;
        uint64_t left = s->block - s->pos % s->block;
        size_t take = left < n ? (size_t)left : n;
        TRY(shard_writer_add(split_block_is_val(b, s->val_ppm) ? val : train, ids, take));
        s->pos += take;
        ids += take;
        n -= take;
    }
    return STATUS_OK;
}

Status split_add_example(Splitter *s, const int32_t *ids, const unsigned char *mask, size_t n, ShardWriter *train,
                         ShardWriter *val) {
    ShardWriter *w = split_block_is_val(s->pos / s->block, s->val_ppm) ? val : train;
    s->pos += n;
    return shard_writer_add_example(w, ids, mask, n);
}

int is_shard_name(const char *name) {
    const char *p;
    if (strncmp(name, "train_", 6) == 0) p = name + 6;
    else if (strncmp(name, "val_", 4) == 0) p = name + 4;
    else return 0;
    for (int i = 0; i < 6; i++)
        if (p[i] < '0' || p[i] > '9') return 0;
    return strcmp(p + 6, ".bin") == 0 || strcmp(p + 6, ".mask") == 0;
}
