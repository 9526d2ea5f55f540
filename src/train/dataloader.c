#include "train/dataloader.h"

#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "text/sft_example.h"
#include "util/rng.h"
#include "util/util.h"

#define SHARD_MAGIC 20240520
#define SHARD_VERSION 1

int shard_header_parse(const int32_t h[256], long long file_size, size_t *tokens, char *err, size_t n) {
    if (h[0] != SHARD_MAGIC) {
        snprintf(err, n, "is not an llm.c token shard: magic %d, expected %d", h[0], SHARD_MAGIC);
        return 0;
    }
    if (h[1] != SHARD_VERSION) {
        snprintf(err, n, "has version %d, expected %d", h[1], SHARD_VERSION);
        return 0;
    }
    if (h[2] < 0) {
        snprintf(err, n, "has a negative token count");
        return 0;
    }
    long long expected = 1024 + (long long)h[2] * 2;
    if (file_size != expected) {
        snprintf(err, n, "is %lld bytes but its header announces %d tokens (%lld bytes): truncated or corrupt",
                 file_size, h[2], expected);
        return 0;
    }
    *tokens = (size_t)h[2];
    return 1;
}

// Opens a shard and checks its header against the file size: its token count, f at the tokens.
static Status open_shard(const char *path, FILE **f, size_t *tokens) {
    int32_t h[256];
    char err[300];
    TRY(open_with_header(path, "token shard", h, f));
    if (shard_header_parse(h, file_size(*f), tokens, err, sizeof err)) return STATUS_OK;
    fclose(*f);
    return fail(STATUS_INPUT, "token shard '%s' %s", path, err);
}

// Seeded uniform integer in [0, n) (n > 0; the modulo bias is negligible for n << 2^64).
static uint64_t rand_below(Rng *r, uint64_t n) { return rng_u64(r) % n; }

// The RNG of one (epoch, file) pair, independent of how the run got there, so a
// resumed run recomputes exactly the same order. file = -1: the shard order.
static void rng_for(Rng *r, uint64_t seed, uint64_t epoch, int file) {
    rng_seed(r, seed ^ (0x9e3779b97f4a7c15ULL * (epoch + 1)) ^ (0xc2b2ae3d27d4eb4fULL * (uint64_t)(file + 2)));
}

// The file visited at position `shard` of this epoch.
static int file_at(const DataLoader *d, uint64_t epoch, uint64_t shard) {
    if (!d->shuffle) return (int)shard;
    int *order = mallocCheck((size_t)d->num_files * sizeof(int));
    for (int i = 0; i < d->num_files; i++) order[i] = i;
    Rng r;
    rng_for(&r, d->seed, epoch, -1);
    for (int i = d->num_files - 1; i > 0; i--) {
        int j = (int)rand_below(&r, (uint64_t)i + 1), tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
    }
    int f = order[shard];
    free(order);
    return f;
}

// The tokens of a shard, all below vocab_size, into tokens (n of them, f at the first).
static Status read_tokens(FILE *f, const char *path, uint16_t *tokens, size_t n, int vocab_size) {
    TRY(fread_exact(tokens, sizeof(uint16_t), n, f, path));
    for (size_t i = 0; i < n; i++)
        if (tokens[i] >= vocab_size)
            return fail(STATUS_INPUT,
                        "token shard '%s' holds token id %u at position %zu, but the model's vocabulary has %d tokens",
                        path, tokens[i], i, vocab_size);
    return STATUS_OK;
}

// Opens the mask file of shard `file` and checks its header: f at the mask bytes.
static Status open_mask(const DataLoader *d, int file, FILE **f) {
    char *path = mask_path_of(d->files[file]);
    int32_t h[256];
    Status s = STATUS_OK;
    if (!file_exists(path))
        s = fail(STATUS_INPUT,
                 "token shard '%s' has no loss mask '%s' (task = sft reads the shards of `gpt2cl prepare --format "
                 "sft`)",
                 d->files[file], path);
    if (!s) s = open_with_header(path, "loss mask", h, f);
    if (!s && (h[0] != MASK_MAGIC || h[1] != MASK_VERSION || h[2] < 0 || (size_t)h[2] != d->file_tokens[file] ||
               file_size(*f) != 1024 + (long long)h[2])) {
        fclose(*f);
        s = fail(STATUS_INPUT, "loss mask '%s' is not the mask of its shard (%zu tokens): bad header or size", path,
                 d->file_tokens[file]);
    }
    free(path);
    return s;
}

static Status load_mask(DataLoader *d, int file) {
    FILE *f;
    TRY(open_mask(d, file, &f));
    free(d->mask);
    d->mask = mallocCheck(d->file_tokens[file] ? d->file_tokens[file] : 1);
    char *path = mask_path_of(d->files[file]);
    Status s = fread_exact(d->mask, 1, d->file_tokens[file], f, path);
    free(path);
    fclose(f);
    return s;
}

static Status load_file(DataLoader *d, int file) {
    if (d->loaded_file == file) return STATUS_OK;
    const char *path = d->files[file];
    FILE *f;
    size_t n;
    TRY(open_shard(path, &f, &n));
    Status s = STATUS_OK;
    if (n != d->file_tokens[file]) s = fail(STATUS_INPUT, "token shard '%s' changed while training", path);
    free(d->tokens);
    d->tokens = s ? NULL : mallocCheck(n * sizeof(uint16_t));
    if (!s) s = read_tokens(f, path, d->tokens, n, d->vocab_size);
    fclose(f);
    if (!s && d->masked) s = load_mask(d, file);
    // A failed load leaves no shard current, so the next call reads it again.
    d->num_tokens = s ? 0 : n;
    d->loaded_file = s ? -1 : file;
    d->loaded_epoch = UINT64_MAX;  // windows must be recomputed
    return s;
}

// Makes the shard at d->pos current: loads it and, when shuffling, lays out its windows.
static Status enter_shard(DataLoader *d) {
    int file = file_at(d, d->pos.epoch, d->pos.shard);
    TRY(load_file(d, file));
    if (!d->shuffle || d->loaded_epoch == d->pos.epoch) return STATUS_OK;
    const size_t BT = (size_t)d->B * d->T, n = d->num_tokens;
    Rng r;
    rng_for(&r, d->seed, d->pos.epoch, file);
    // A random offset below T shifts the window grid each epoch; the file holds >= B*T+1 tokens,
    // so bounding it by n - B*T leaves room for at least B windows.
    size_t max_offset = n - BT < (size_t)d->T ? n - BT : (size_t)d->T;
    size_t offset = (size_t)rand_below(&r, max_offset);
    d->num_windows = (n - 1 - offset) / (size_t)d->T;
    free(d->windows);
    d->windows = mallocCheck(d->num_windows * sizeof(uint32_t));
    for (size_t w = 0; w < d->num_windows; w++) d->windows[w] = (uint32_t)(offset + w * (size_t)d->T);
    for (size_t i = d->num_windows - 1; i > 0; i--) {
        size_t j = (size_t)rand_below(&r, i + 1);
        uint32_t tmp = d->windows[i];
        d->windows[i] = d->windows[j];
        d->windows[j] = tmp;
    }
    d->loaded_epoch = d->pos.epoch;
    return STATUS_OK;
}

// Does the current shard hold another batch at pos.cursor?
static int batch_fits(const DataLoader *d) {
    if (d->shuffle) return d->pos.cursor + (size_t)d->B <= d->num_windows;
    return d->pos.cursor + (size_t)d->B * d->T + 1 <= d->num_tokens;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

// The sorted paths the pattern names into d->files.
static Status find_shards(DataLoader *d, const char *pattern, const char *what) {
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
    free(pat);
    Status s = STATUS_OK;
    if (rc == GLOB_NOMATCH || (rc == 0 && g.gl_pathc == 0))
        s = fail(STATUS_INPUT, "%s '%s' matches no files", what, pattern);
    else if (rc != 0) s = fail(STATUS_IO, "cannot expand %s pattern '%s'", what, pattern);
    else if (g.gl_pathc > (size_t)INT32_MAX) s = fail(STATUS_INPUT, "%s '%s' matches too many files", what, pattern);
    if (rc == 0 && !s) {
        d->num_files = (int)g.gl_pathc;
        d->files = mallocCheck(g.gl_pathc * sizeof(char *));
        for (size_t i = 0; i < g.gl_pathc; i++) d->files[i] = strdup_check(g.gl_pathv[i]);
        qsort(d->files, g.gl_pathc, sizeof(char *), cmp_str);
    }
    if (rc == 0) globfree(&g);
    return s;
}

// Checks the header and size of every shard, so a bad file fails before training rather than hours into it.
static Status check_shards(DataLoader *d) {
    d->file_tokens = mallocCheck((size_t)d->num_files * sizeof(size_t));
    const size_t need = (size_t)d->B * d->T + 1;
    for (int i = 0; i < d->num_files; i++) {
        FILE *f;
        TRY(open_shard(d->files[i], &f, &d->file_tokens[i]));
        fclose(f);
        if (d->file_tokens[i] < need)
            return fail(STATUS_INPUT,
                        "token shard '%s' has %zu tokens, fewer than one batch needs (batch_size*seq_len+1 = %zu)",
                        d->files[i], d->file_tokens[i], need);
        if (d->file_tokens[i] > UINT32_MAX)
            return fail(STATUS_INPUT, "token shard '%s' has more than 2^32 tokens", d->files[i]);
    }
    return STATUS_OK;
}

Status dataloader_init(DataLoader *d, const char *pattern, int B, int T, int vocab_size, int shuffle, uint64_t seed,
                       const char *what) {
    memset(d, 0, sizeof *d);
    d->B = B;
    d->T = T;
    d->vocab_size = vocab_size;
    d->shuffle = shuffle;
    d->seed = seed;
    d->loaded_file = -1;
    d->inputs = mallocCheck((size_t)B * T * sizeof(int));
    d->targets = mallocCheck((size_t)B * T * sizeof(int));
    Status s = find_shards(d, pattern, what);
    if (!s) s = check_shards(d);
    if (!s) s = dataloader_reset(d);
    if (s) dataloader_free(d);
    return s;
}

void dataloader_init_synthetic(DataLoader *d, int B, int T, int vocab_size, uint64_t seed) {
    memset(d, 0, sizeof *d);
    d->B = B;
    d->T = T;
    d->vocab_size = vocab_size;
    d->num_files = 1;
    d->num_tokens = (size_t)B * T * 8 + 1;
    d->file_tokens = mallocCheck(sizeof(size_t));
    d->file_tokens[0] = d->num_tokens;
    d->tokens = mallocCheck(d->num_tokens * sizeof(uint16_t));
    Rng rng;
    rng_seed(&rng, seed);
    for (size_t i = 0; i < d->num_tokens; i++) d->tokens[i] = (uint16_t)(rng_u64(&rng) % (uint64_t)vocab_size);
    d->loaded_file = 0;  // the only "shard" is already in memory
    d->inputs = mallocCheck((size_t)B * T * sizeof(int));
    d->targets = mallocCheck((size_t)B * T * sizeof(int));
}

Status dataloader_use_masks(DataLoader *d) {
    for (int i = 0; i < d->num_files; i++) {
        FILE *f;
        TRY(open_mask(d, i, &f));
        fclose(f);
    }
    d->masked = 1;
    d->loaded_file = -1;  // reload the current shard with its mask
    return enter_shard(d);
}

// One window's targets (T of them, the window's tokens at t, its mask bytes at mask): a masked
// target, or one whose example started before the window, is -1. Returns the targets kept.
static size_t masked_targets(const uint16_t *t, const unsigned char *mask, int T, int *tg) {
    size_t kept = 0;
    int started = 0;
    for (int i = 0; i < T; i++) {
        started |= (mask[i] & MASK_START) != 0;
        tg[i] = started && (mask[i + 1] & MASK_TARGET) ? t[i + 1] : -1;
        kept += tg[i] >= 0;
    }
    return kept;
}

void dataloader_free(DataLoader *d) {
    for (int i = 0; d->files && i < d->num_files; i++) free(d->files[i]);
    free(d->files);
    free(d->file_tokens);
    free(d->tokens);
    free(d->windows);
    free(d->mask);
    free(d->inputs);
    free(d->targets);
    memset(d, 0, sizeof *d);
}

Status dataloader_reset(DataLoader *d) {
    d->pos = (DataPosition){0};
    return enter_shard(d);
}

Status dataloader_seek(DataLoader *d, const DataPosition *pos) {
    if (pos->shard >= (uint64_t)d->num_files)
        return fail(STATUS_INPUT,
                    "the resume state points at shard %llu of the training data, which has %d shard(s): train_data "
                    "changed",
                    (unsigned long long)pos->shard, d->num_files);
    d->pos = *pos;
    TRY(enter_shard(d));
    // The cursor may sit exactly at the end of a shard (the next batch moves on); beyond that it cannot be ours.
    size_t limit = d->shuffle ? d->num_windows : d->num_tokens;
    if (pos->cursor > limit)
        return fail(STATUS_INPUT, "the resume state's data position (%llu) is outside its shard: train_data changed",
                    (unsigned long long)pos->cursor);
    return STATUS_OK;
}

Status dataloader_next(DataLoader *d) {
    const size_t BT = (size_t)d->B * d->T;
    if (!batch_fits(d)) {
        d->pos.cursor = 0;
        if (++d->pos.shard == (uint64_t)d->num_files) {
            d->pos.shard = 0;
            d->pos.epoch++;
        }
        TRY(enter_shard(d));
    }
    d->num_targets = d->masked ? 0 : BT;
    for (int b = 0; b < d->B; b++) {
        size_t start = d->shuffle ? d->windows[d->pos.cursor + (size_t)b] : d->pos.cursor + (size_t)b * d->T;
        const uint16_t *t = d->tokens + start;
        int *in = d->inputs + (size_t)b * d->T, *tg = d->targets + (size_t)b * d->T;
        for (int i = 0; i < d->T; i++) {
            in[i] = t[i];
            tg[i] = t[i + 1];
        }
        if (d->masked) d->num_targets += masked_targets(t, d->mask + start, d->T, tg);
    }
    d->pos.cursor += d->shuffle ? (uint64_t)d->B : BT;
    return STATUS_OK;
}

size_t dataloader_total_tokens(const DataLoader *d) {
    size_t total = 0;
    for (int i = 0; i < d->num_files; i++) total += d->file_tokens[i];
    return total;
}
