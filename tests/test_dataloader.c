// The data path after tokenization: `gpt2cl prepare` -> shards -> the loader.
//  - prepare (byte tokenizer) on a known text: reading the shards back through
//    the loader gives exactly the expected train and val token streams;
//  - sequential order: consecutive windows, shards in order, wrap-around;
//  - shuffle: every epoch visits each shard once, serves distinct windows of
//    T+1 tokens on a grid with offset < T, is reproducible from the seed and
//    differs between seeds and epochs;
//  - seek: a loader restored from a saved position continues identically;
//  - loss masks (task = sft): targets are kept where the mask marks them and
//    their example starts in the same window, written out by hand below.
// Needs GPT2CL_BIN (set by meson) for prepare.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "test_util.h"
#include "train/dataloader.h"
#include "util/rng.h"
#include "util/util.h"

// ---- prepare -> loader ----

#define BLOCK 500     // --split-block
#define VAL_EVERY 4   // --val-frac 0.25: blocks 0, 4, 8, ... go to validation
#define SHARD 3000    // --shard-tokens

// Reads every token of the shards of pattern through a sequential B=1, T=1
// loader: per shard, the inputs of its n-1 batches and the last target.
static size_t read_through_loader(const char *pattern, int **out) {
    DataLoader d;
    MUST(dataloader_init(&d, pattern, 1, 1, 257, 0, 0, "test data"));
    size_t total = dataloader_total_tokens(&d), n = 0;
    int in_shard = 1;
    int *tok = mallocCheck(total * sizeof(int));
    for (int f = 0; f < d.num_files; f++) {
        for (size_t i = 0; i + 1 < d.file_tokens[f]; i++) {
            MUST(dataloader_next(&d));
            in_shard &= d.pos.shard == (uint64_t)f;
            tok[n++] = d.inputs[0];
        }
        tok[n++] = d.targets[0];
    }
    EXPECT(in_shard, "the loader left a shard of '%s' before its last token", pattern);
    dataloader_free(&d);
    *out = tok;
    return n;
}

static void test_prepare_roundtrip(const char *tmp) {
    // A text with every byte value, so the byte tokenizer's ids cover 0..255.
    size_t len = 23456;
    unsigned char *text = mallocCheck(len);
    Rng r;
    rng_seed(&r, 7);
    for (size_t i = 0; i < len; i++) text[i] = (unsigned char)(i < 256 ? i : rng_u64(&r) % 256);
    char path[1200], cmd[4000], pattern[1200];
    snprintf(path, sizeof path, "%s/doc.txt", tmp);
    MUST(write_file_atomic(path, text, len));
    const char *bin = getenv("GPT2CL_BIN");
    if (!bin) die("GPT2CL_BIN is not set (run through meson test)");
    snprintf(cmd, sizeof cmd,
             "'%s' prepare --tokenizer byte --out '%s/tok' --val-frac 0.25 --split-block %d --shard-tokens %d "
             "'%s' >/dev/null 2>&1",
             bin, tmp, BLOCK, SHARD, path);
    int rc = system(cmd);
    EXPECT(rc == 0, "prepare failed: %s", cmd);
    if (rc != 0) return;

    // Expected: end-of-text (256), then the bytes; block b of BLOCK tokens is val when b % VAL_EVERY == 0.
    size_t n = len + 1, n_train = 0, n_val = 0;
    int *want_train = mallocCheck(n * sizeof(int)), *want_val = mallocCheck(n * sizeof(int));
    for (size_t i = 0; i < n; i++) {
        int id = i == 0 ? 256 : text[i - 1];
        if ((i / BLOCK) % VAL_EVERY == 0) want_val[n_val++] = id;
        else want_train[n_train++] = id;
    }
    int *train, *val;
    snprintf(pattern, sizeof pattern, "%s/tok/train_*.bin", tmp);
    size_t got_train = read_through_loader(pattern, &train);
    snprintf(pattern, sizeof pattern, "%s/tok/val_*.bin", tmp);
    size_t got_val = read_through_loader(pattern, &val);
    EXPECT(got_train == n_train && memcmp(train, want_train, n_train * sizeof(int)) == 0,
          "train tokens through the loader differ from the text (%zu vs %zu tokens)", got_train, n_train);
    EXPECT(got_val == n_val && memcmp(val, want_val, n_val * sizeof(int)) == 0,
          "val tokens through the loader differ from the text (%zu vs %zu tokens)", got_val, n_val);
    printf("prepare -> loader: %zu train + %zu val tokens read back exactly\n", got_train, got_val);
    free(train);
    free(val);
    free(want_train);
    free(want_val);
    free(text);
}

// ---- loader order ----

// Shards with distinct token values (token = global position % 251 would
// repeat, so each shard gets its own content from a seeded RNG).
static void write_shards(const char *dir, const size_t *sizes, int n, uint16_t **content) {
    MUST(make_dirs(dir));
    for (int s = 0; s < n; s++) {
        content[s] = mallocCheck(sizes[s] * sizeof(uint16_t));
        Rng r;
        rng_seed(&r, 100 + (uint64_t)s);
        for (size_t i = 0; i < sizes[s]; i++) content[s][i] = (uint16_t)(rng_u64(&r) % 1000);
        size_t bytes = 1024 + sizes[s] * 2;
        unsigned char *buf = callocCheck(bytes, 1);
        int32_t h[3] = {20240520, 1, (int32_t)sizes[s]};
        memcpy(buf, h, sizeof h);
        memcpy(buf + 1024, content[s], sizes[s] * 2);
        char path[1300];
        snprintf(path, sizeof path, "%s/s%d.bin", dir, s);
        MUST(write_file_atomic(path, buf, bytes));
        free(buf);
    }
}

static int batch_equal(const DataLoader *a, const DataLoader *b) {
    size_t n = (size_t)a->B * a->T * sizeof(int);
    return memcmp(a->inputs, b->inputs, n) == 0 && memcmp(a->targets, b->targets, n) == 0;
}

// Row b of the batch is content[file][start .. start+T].
static int row_is(const DataLoader *d, int b, const uint16_t *content, size_t start) {
    for (int i = 0; i < d->T; i++)
        if (d->inputs[b * d->T + i] != content[start + i] || d->targets[b * d->T + i] != content[start + i + 1])
            return 0;
    return 1;
}

enum { B = 3, T = 8, NSHARDS = 4 };
static const size_t sizes[NSHARDS] = {200, 25, 131, 97};  // 25 = B*T+1, the least a shard may hold

static void test_sequential(const char *pattern, uint16_t **content) {
    DataLoader d;
    MUST(dataloader_init(&d, pattern, B, T, 1000, 0, 0, "test data"));
    int ok = 1;
    for (int epoch = 0; epoch < 2; epoch++)
        for (int s = 0; s < NSHARDS; s++)
            for (size_t start = 0; start + B * T + 1 <= sizes[s]; start += B * T) {
                MUST(dataloader_next(&d));
                for (int b = 0; b < B; b++) ok &= row_is(&d, b, content[s], start + (size_t)b * T);
            }
    EXPECT(ok, "sequential batches are not the consecutive windows of the shards in order");
    dataloader_free(&d);
}

// One shuffled epoch: checks each shard's visit and returns the shard order.
static void shuffled_epoch(DataLoader *d, uint16_t **content, int *order, int *ok) {
    int seen[NSHARDS] = {0};
    for (int s = 0; s < NSHARDS; s++) {
        MUST(dataloader_next(d));  // enters the next shard (the first call of an epoch enters shard 0)
        int f = d->loaded_file;
        order[s] = f;
        seen[f]++;
        size_t n = d->num_windows, offset = d->windows[0] % T;
        *ok &= offset < T && n == (sizes[f] - 1 - offset) / T && n >= B;
        // All windows distinct and on the grid: mark them.
        unsigned char *mark = callocCheck(sizes[f], 1);
        for (size_t w = 0; w < n; w++) {
            size_t st = d->windows[w];
            *ok &= st % T == offset && st + T + 1 <= sizes[f] && !mark[st];
            mark[st] = 1;
        }
        free(mark);
        for (size_t i = 0; i + B <= n; i += B) {
            if (i > 0) MUST(dataloader_next(d));
            *ok &= d->loaded_file == f;
            for (int b = 0; b < B; b++) *ok &= row_is(d, b, content[f], d->windows[i + (size_t)b]);
        }
    }
    for (int f = 0; f < NSHARDS; f++) *ok &= seen[f] == 1;
}

static void test_shuffle(const char *pattern, uint16_t **content) {
    DataLoader a, b, c;
    MUST(dataloader_init(&a, pattern, B, T, 1000, 1, 42, "test data"));
    int ok = 1, order1[NSHARDS], order2[NSHARDS], order3[NSHARDS];
    // Positions on entering each shard, to compare the window orders of two epochs.
    shuffled_epoch(&a, content, order1, &ok);
    uint32_t first_windows[B];
    memcpy(first_windows, a.windows, sizeof first_windows);
    shuffled_epoch(&a, content, order2, &ok);
    EXPECT(ok, "a shuffled epoch did not serve each shard once as distinct grid windows of T+1 tokens");
    shuffled_epoch(&a, content, order3, &ok);
    EXPECT(memcmp(order1, order2, sizeof order1) != 0 || memcmp(order2, order3, sizeof order1) != 0 ||
              memcmp(first_windows, a.windows, sizeof first_windows) != 0,
          "three epochs served the same shard order and windows");

    // Same seed: same batches; another seed: different batches.
    MUST(dataloader_init(&b, pattern, B, T, 1000, 1, 42, "test data"));
    MUST(dataloader_init(&c, pattern, B, T, 1000, 1, 43, "test data"));
    dataloader_reset(&a);
    int same = 1, differ = 0;
    for (int i = 0; i < 60; i++) {
        MUST(dataloader_next(&a));
        MUST(dataloader_next(&b));
        MUST(dataloader_next(&c));
        same &= batch_equal(&a, &b);
        differ |= !batch_equal(&a, &c);
    }
    EXPECT(same, "two shuffled loaders with seed 42 served different batches");
    EXPECT(differ, "seeds 42 and 43 served the same 60 batches");
    dataloader_free(&a);
    dataloader_free(&b);
    dataloader_free(&c);
}

// For every stopping point k in 0..80 batches: a fresh loader seeked to the
// saved position serves the same next 30 batches as the one that kept going.
static void test_seek(const char *pattern, int shuffle) {
    int ok = 1;
    for (int k = 0; k <= 80; k++) {
        DataLoader a, b;
        MUST(dataloader_init(&a, pattern, B, T, 1000, shuffle, 9, "test data"));
        MUST(dataloader_init(&b, pattern, B, T, 1000, shuffle, 9, "test data"));
        for (int i = 0; i < k; i++) MUST(dataloader_next(&a));
        DataPosition saved = a.pos;
        MUST(dataloader_seek(&b, &saved));
        for (int i = 0; i < 30; i++) {
            MUST(dataloader_next(&a));
            MUST(dataloader_next(&b));
            ok &= batch_equal(&a, &b);
        }
        dataloader_free(&a);
        dataloader_free(&b);
    }
    EXPECT(ok, "%s loader: continuing from a saved position differs from the uninterrupted order",
          shuffle ? "shuffled" : "sequential");
}

// A shard of 17 tokens (10 + position) with a mask file written by hand: bit 0 target, bit 1 example start.
static void test_masks(const char *tmp) {
    static const unsigned char mask[17] = {2, 0, 0, 1, 1, 3, 0, 1, 1, 3, 0, 1, 1, 3, 0, 0, 1};
    // Window 0 starts with an example: every marked target counts. Window 1 starts inside the
    // example begun at 5, so its targets 9 (and 8, an input) are dropped; examples 9 and 13 count.
    static const int want[16] = {-1, -1, 13, 14, 15, -1, 17, 18, -1, -1, 21, 22, 23, -1, -1, 26};
    char path[1300];
    unsigned char shard[1024 + 34] = {0}, mfile[1024 + 17] = {0};
    int32_t h[3] = {20240520, 1, 17}, mh[3] = {20240521, 1, 17};
    memcpy(shard, h, sizeof h);
    for (int i = 0; i < 17; i++) shard[1024 + 2 * i] = (unsigned char)(10 + i);
    memcpy(mfile, mh, sizeof mh);
    memcpy(mfile + 1024, mask, sizeof mask);
    snprintf(path, sizeof path, "%s/m_000000.bin", tmp);
    MUST(write_file_atomic(path, shard, sizeof shard));
    snprintf(path, sizeof path, "%s/m_000000.mask", tmp);
    MUST(write_file_atomic(path, mfile, sizeof mfile));
    snprintf(path, sizeof path, "%s/m_*.bin", tmp);
    DataLoader d;
    MUST(dataloader_init(&d, path, 2, 8, 257, 0, 0, "test data"));
    MUST(dataloader_use_masks(&d));
    MUST(dataloader_next(&d));
    EXPECT(memcmp(d.targets, want, sizeof want) == 0 && d.num_targets == 9,
           "masked targets differ from the hand-written ones (%zu kept, expected 9)", d.num_targets);
    dataloader_free(&d);
    // A mask that does not match its shard is refused.
    mh[2] = 16;
    memcpy(mfile, mh, sizeof mh);
    snprintf(path, sizeof path, "%s/m_000000.mask", tmp);
    MUST(write_file_atomic(path, mfile, sizeof mfile - 1));
    snprintf(path, sizeof path, "%s/m_*.bin", tmp);
    MUST(dataloader_init(&d, path, 2, 8, 257, 0, 0, "test data"));
    EXPECT(dataloader_use_masks(&d) != STATUS_OK && strstr(status_message(), "is not the mask of its shard"),
           "a mask of the wrong length was accepted");
    dataloader_free(&d);
}

int main(void) {
    char tmp[] = "/tmp/gpt2cl_test_dataloader_XXXXXX";
    if (!mkdtemp(tmp)) die("cannot create a temporary folder");
    test_prepare_roundtrip(tmp);
    test_masks(tmp);

    char dir[1200], pattern[1300];
    snprintf(dir, sizeof dir, "%s/shards", tmp);
    snprintf(pattern, sizeof pattern, "%s/*.bin", dir);
    uint16_t *content[NSHARDS];
    write_shards(dir, sizes, NSHARDS, content);
    test_sequential(pattern, content);
    test_shuffle(pattern, content);
    test_seek(pattern, 0);
    test_seek(pattern, 1);
    for (int s = 0; s < NSHARDS; s++) free(content[s]);

    char cmd[1300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    printf("%s\n", test_failures ? "FAILED" : "all data loader checks passed");
    return test_failures ? 1 : 0;
}
