#include "dataloader.h"

#include <errno.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rng.h"
#include "util.h"

#define SHARD_MAGIC 20240520
#define SHARD_VERSION 1

// Reads a shard header and checks it against the file size; returns the token count.
static size_t shard_header(const char *path, FILE *f) {
    int32_t h[256];
    if (fread(h, sizeof(int32_t), 256, f) != 256) die("token shard '%s' is too short to hold its 1024-byte header", path);
    if (h[0] != SHARD_MAGIC) die("'%s' is not an llm.c token shard: magic %d, expected %d", path, h[0], SHARD_MAGIC);
    if (h[1] != SHARD_VERSION) die("token shard '%s' has version %d, expected %d", path, h[1], SHARD_VERSION);
    if (h[2] < 0) die("token shard '%s' has a negative token count", path);
    if (fseek(f, 0, SEEK_END) != 0) die("cannot seek in '%s'", path);
    long size = ftell(f);
    size_t expected = 1024 + (size_t)h[2] * 2;
    if ((size_t)size != expected)
        die("token shard '%s' is %ld bytes but its header announces %d tokens (%zu bytes): truncated or corrupt", path,
            size, h[2], expected);
    if (fseek(f, 1024, SEEK_SET) != 0) die("cannot seek in '%s'", path);
    return (size_t)h[2];
}

static void load_shard(DataLoader *d, int shard) {
    if (d->loaded_shard == shard) return;
    const char *path = d->files[shard];
    FILE *f = fopen(path, "rb");
    if (!f) die("cannot open token shard '%s': %s", path, strerror(errno));
    size_t n = shard_header(path, f);
    size_t need = (size_t)d->B * d->T + 1;
    if (n < need)
        die("token shard '%s' has %zu tokens, fewer than one batch needs (batch_size*seq_len+1 = %zu)", path, n, need);
    free(d->tokens);
    d->tokens = mallocCheck(n * sizeof(uint16_t));
    freadCheck(d->tokens, sizeof(uint16_t), n, f, path);
    fclose(f);
    for (size_t i = 0; i < n; i++)
        if (d->tokens[i] >= d->vocab_size)
            die("token shard '%s' holds token id %u at position %zu, but the model's vocabulary has %d tokens", path,
                d->tokens[i], i, d->vocab_size);
    d->num_tokens = n;
    d->loaded_shard = shard;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

void dataloader_init(DataLoader *d, const char *pattern, int B, int T, int vocab_size, const char *what) {
    memset(d, 0, sizeof *d);
    d->B = B;
    d->T = T;
    d->vocab_size = vocab_size;
    d->loaded_shard = -1;
    struct stat st;
    char *pat;
    if (stat(pattern, &st) == 0 && S_ISDIR(st.st_mode)) {
        size_t n = strlen(pattern) + 8;
        pat = mallocCheck(n);
        snprintf(pat, n, "%s/*.bin", pattern);
    } else {
        pat = strdup_check(pattern);
    }
    glob_t g;
    int rc = glob(pat, 0, NULL, &g);
    if (rc == GLOB_NOMATCH || (rc == 0 && g.gl_pathc == 0)) die("%s '%s' matches no files", what, pattern);
    if (rc != 0) die("cannot expand %s pattern '%s'", what, pattern);
    d->num_files = (int)g.gl_pathc;
    d->files = mallocCheck(g.gl_pathc * sizeof(char *));
    for (size_t i = 0; i < g.gl_pathc; i++) d->files[i] = strdup_check(g.gl_pathv[i]);
    qsort(d->files, g.gl_pathc, sizeof(char *), cmp_str);
    globfree(&g);
    free(pat);
    d->inputs = mallocCheck((size_t)B * T * sizeof(int));
    d->targets = mallocCheck((size_t)B * T * sizeof(int));
    dataloader_reset(d);
}

void dataloader_init_synthetic(DataLoader *d, int B, int T, int vocab_size, uint64_t seed) {
    memset(d, 0, sizeof *d);
    d->B = B;
    d->T = T;
    d->vocab_size = vocab_size;
    d->num_files = 1;
    d->num_tokens = (size_t)B * T * 8 + 1;
    d->tokens = mallocCheck(d->num_tokens * sizeof(uint16_t));
    Rng rng;
    rng_seed(&rng, seed);
    for (size_t i = 0; i < d->num_tokens; i++) d->tokens[i] = (uint16_t)(rng_u64(&rng) % (uint64_t)vocab_size);
    d->loaded_shard = 0;  // the only "shard" is already in memory
    d->inputs = mallocCheck((size_t)B * T * sizeof(int));
    d->targets = mallocCheck((size_t)B * T * sizeof(int));
}

void dataloader_free(DataLoader *d) {
    for (int i = 0; d->files && i < d->num_files; i++) free(d->files[i]);
    free(d->files);
    free(d->tokens);
    free(d->inputs);
    free(d->targets);
    memset(d, 0, sizeof *d);
}

void dataloader_reset(DataLoader *d) {
    d->shard = 0;
    d->pos = 0;
    load_shard(d, 0);
}

void dataloader_next(DataLoader *d) {
    size_t BT = (size_t)d->B * d->T;
    load_shard(d, d->shard);
    if (d->pos + BT + 1 > d->num_tokens) {
        d->shard = (d->shard + 1) % d->num_files;
        d->pos = 0;
        load_shard(d, d->shard);
    }
    const uint16_t *t = d->tokens + d->pos;
    for (size_t i = 0; i < BT; i++) {
        d->inputs[i] = t[i];
        d->targets[i] = t[i + 1];
    }
    d->pos += BT;
}

size_t dataloader_total_tokens(const DataLoader *d) {
    size_t total = 0;
    for (int i = 0; i < d->num_files; i++) {
        FILE *f = fopen(d->files[i], "rb");
        if (!f) die("cannot open token shard '%s': %s", d->files[i], strerror(errno));
        total += shard_header(d->files[i], f);
        fclose(f);
    }
    return total;
}
