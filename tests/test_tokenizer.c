// Tokenizer and `gpt2cl prepare` tests against fixtures made by
// tests/make_tokenizer_fixtures.py (tiktoken as the reference), so this
// program needs no Python. Needs the GPT-2 ranks and the default corpus in the
// data folder (scripts/setup.sh); their absence is a failure, not a skip.
// Env: GPT2CL_SOURCE_ROOT (fixtures), GPT2CL_BIN (the gpt2cl binary).
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "must.h"
#include "text/bpe_internal.h"
#include "text/prepare_shards.h"
#include "text/tokenizer.h"
#include "util/util.h"

// gpt2cl's data folder, where the vocabulary and the corpus are.
static const char *data_dir(void) {
    const char *dir;
    MUST(gpt2cl_data_dir(&dir));
    return dir;
}

static int n_pass, n_fail;

static void check(int ok, const char *fmt, ...) {
    if (ok) {
        n_pass++;
        return;
    }
    n_fail++;
    va_list ap;
    va_start(ap, fmt);
    fputs("FAIL: ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
}

// ---- SHA-256 (FIPS 180-4), to check corpus files and id sequences ----

typedef struct { uint32_t h[8]; uint64_t n; unsigned char buf[64]; size_t used; } Sha256;

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
    0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
    0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
    0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha_block(Sha256 *s, const unsigned char *p) {
    uint32_t w[64], a[8];
    for (int i = 0; i < 16; i++) w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    memcpy(a, s->h, sizeof(a));
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = a[7] + (ROR(a[4], 6) ^ ROR(a[4], 11) ^ ROR(a[4], 25)) + ((a[4] & a[5]) ^ (~a[4] & a[6])) + K256[i] + w[i];
        uint32_t t2 = (ROR(a[0], 2) ^ ROR(a[0], 13) ^ ROR(a[0], 22)) + ((a[0] & a[1]) ^ (a[0] & a[2]) ^ (a[1] & a[2]));
        memmove(a + 1, a, 7 * sizeof(uint32_t));
        a[4] += t1;
        a[0] = t1 + t2;
    }
    for (int i = 0; i < 8; i++) s->h[i] += a[i];
}

static void sha_init(Sha256 *s) {
    static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(s->h, h0, sizeof(h0));
    s->n = 0;
    s->used = 0;
}

static void sha_update(Sha256 *s, const void *data, size_t len) {
    const unsigned char *p = data;
    s->n += len;
    while (len > 0) {
        size_t take = 64 - s->used < len ? 64 - s->used : len;
        memcpy(s->buf + s->used, p, take);
        s->used += take;
        p += take;
        len -= take;
        if (s->used == 64) {
            sha_block(s, s->buf);
            s->used = 0;
        }
    }
}

static void sha_hex(Sha256 *s, char out[65]) {
    uint64_t bits = s->n * 8;
    unsigned char pad = 0x80, zero = 0, len_be[8];
    sha_update(s, &pad, 1);
    while (s->used != 56) sha_update(s, &zero, 1);
    for (int i = 0; i < 8; i++) len_be[i] = (unsigned char)(bits >> (56 - 8 * i));
    sha_update(s, len_be, 8);
    for (int i = 0; i < 8; i++) snprintf(out + 8 * i, 9, "%08x", s->h[i]);
}

static void sha_ids(const TokenIds *ids, char out[65]) {
    Sha256 s;
    sha_init(&s);
    for (size_t i = 0; i < ids->len; i++) {
        uint32_t v = (uint32_t)ids->ids[i];
        unsigned char le[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
        sha_update(&s, le, 4);
    }
    sha_hex(&s, out);
}

// ---- helpers ----

static char source_root[4096], tmp_dir[4200];

static char *fixture_path(const char *name) {
    size_t n = strlen(source_root) + strlen(name) + 64;
    char *p = mallocCheck(n);
    snprintf(p, n, "%s/tests/fixtures/tokenizer/%s", source_root, name);
    return p;
}

static int decodes_to(const Tokenizer *t, const TokenIds *ids, const unsigned char *s, size_t len) {
    size_t off = 0;
    for (size_t i = 0; i < ids->len; i++) {
        size_t n;
        const unsigned char *b = tokenizer_decode(t, ids->ids[i], &n);
        if (!b || off + n > len || memcmp(s + off, b, n) != 0) return 0;
        off += n;
    }
    return off == len;
}

typedef struct {
    unsigned char *bytes;
    size_t len;
    TokenIds ids;
} Case;

typedef struct {
    Case *c;
    size_t n;
} Cases;

static int hexval(int c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

// Lines "hex(input) TAB ids".
static Cases load_cases(const char *name) {
    char *path = fixture_path(name);
    if (!file_exists(path)) die("fixture %s is missing (run tests/make_tokenizer_fixtures.py)", path);
    size_t len;
    char *text = read_file(path, &len);
    Cases cs = {0};
    size_t cap = 0;
    for (char *line = text; line < text + len;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        char *tab = strchr(line, '\t');
        if (!tab) die("%s: malformed line", path);
        if (cs.n == cap) {
            cap = cap ? 2 * cap : 64;
            cs.c = realloc(cs.c, cap * sizeof(Case));
            if (!cs.c) die("out of memory");
        }
        Case *c = &cs.c[cs.n++];
        memset(c, 0, sizeof(*c));
        c->len = (size_t)(tab - line) / 2;
        c->bytes = mallocCheck(c->len + 1);
        for (size_t i = 0; i < c->len; i++) c->bytes[i] = (unsigned char)(hexval(line[2 * i]) << 4 | hexval(line[2 * i + 1]));
        for (char *p = tab + 1; *p;) {
            char *end;
            long v = strtol(p, &end, 10);
            if (end == p) break;
            token_ids_push(&c->ids, (int32_t)v);
            p = end;
        }
        line = nl ? nl + 1 : text + len;
    }
    free(text);
    free(path);
    return cs;
}

static void free_cases(Cases *cs) {
    for (size_t i = 0; i < cs->n; i++) {
        free(cs->c[i].bytes);
        token_ids_free(&cs->c[i].ids);
    }
    free(cs->c);
}

static int same_ids(const TokenIds *a, const TokenIds *b) {
    return a->len == b->len && (a->len == 0 || memcmp(a->ids, b->ids, a->len * sizeof(int32_t)) == 0);
}

static void test_cases(Tokenizer *gpt2, Tokenizer *byte, const char *name) {
    Cases cs = load_cases(name);
    TokenIds ids = {0};
    for (size_t i = 0; i < cs.n; i++) {
        Case *c = &cs.c[i];
        ids.len = 0;
        size_t invalid, invalid_b;
        MUST(tokenizer_encode(gpt2, c->bytes, c->len, &ids, &invalid));
        check(same_ids(&ids, &c->ids), "%s case %zu: ids differ from tiktoken (%zu vs %zu ids)", name, i + 1, ids.len, c->ids.len);
        check(decodes_to(gpt2, &ids, c->bytes, c->len), "%s case %zu: gpt2 decode(encode(x)) != x", name, i + 1);
        check((invalid == 0) == (utf8_first_invalid(c->bytes, c->len) == c->len), "%s case %zu: invalid-UTF-8 count", name, i + 1);
        ids.len = 0;
        MUST(tokenizer_encode(byte, c->bytes, c->len, &ids, &invalid_b));
        check(ids.len == c->len && decodes_to(byte, &ids, c->bytes, c->len), "%s case %zu: byte round trip", name, i + 1);
        check(invalid_b == invalid, "%s case %zu: byte and gpt2 tokenizers count invalid bytes differently", name, i + 1);
    }
    printf("%s: %zu cases\n", name, cs.n);
    token_ids_free(&ids);
    free_cases(&cs);
}

// Encodes in chunks cut by tokenizer_split_point, as prepare does.
static void encode_chunked(Tokenizer *t, const unsigned char *s, size_t len, size_t chunk, TokenIds *out) {
    for (size_t pos = 0; pos < len;) {
        size_t end = pos + chunk < len ? tokenizer_split_point(s, len, pos + chunk) : len;
        MUST(tokenizer_encode(t, s + pos, end - pos, out, NULL));
        pos = end;
    }
}

static void test_corpus(Tokenizer *gpt2) {
    char *path = fixture_path("corpus.txt");
    size_t len;
    char *text = read_file(path, &len);
    int books = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char name[256], file_sha[65], ids_sha[65], got[65];
        size_t bytes, n_ids;
        if (sscanf(line, "%255s %zu %64s %zu %64s", name, &bytes, file_sha, &n_ids, ids_sha) != 5) die("%s: malformed line", path);
        char book[4600];
        snprintf(book, sizeof(book), "%s/corpus/%s", data_dir(), name);
        if (!file_exists(book)) {
            check(0, "corpus file %s is missing: run scripts/setup.sh (scripts/make_corpus.sh)", book);
            continue;
        }
        size_t blen;
        char *data = read_file(book, &blen);
        Sha256 s;
        sha_init(&s);
        sha_update(&s, data, blen);
        sha_hex(&s, got);
        check(blen == bytes && strcmp(got, file_sha) == 0, "%s differs from the fixture's copy: re-run scripts/make_corpus.sh", book);
        TokenIds ids = {0};
        MUST(tokenizer_encode(gpt2, data, blen, &ids, NULL));
        sha_ids(&ids, got);
        check(ids.len == n_ids, "%s: %zu tokens, tiktoken gives %zu", name, ids.len, n_ids);
        check(strcmp(got, ids_sha) == 0, "%s: token ids differ from tiktoken's (sha256 %s vs %s)", name, got, ids_sha);
        check(decodes_to(gpt2, &ids, (unsigned char *)data, blen), "%s: decode(encode(x)) != x", name);
        TokenIds chunked = {0};
        encode_chunked(gpt2, (unsigned char *)data, blen, 4096, &chunked);
        check(same_ids(&ids, &chunked), "%s: chunked encoding (tokenizer_split_point) differs", name);
        printf("corpus: %-34s %8zu tokens\n", name, ids.len);
        token_ids_free(&ids);
        token_ids_free(&chunked);
        free(data);
        books++;
    }
    check(books >= 1, "no corpus books checked");
    free(text);
    free(path);
}

// ---- encoder.json + vocab.bpe, converted from the ranks in C ----

// Byte-level unicode of GPT-2's bytes_to_unicode(), as a code point.
static uint32_t byte_to_unicode(int b) {
    int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    if (printable) return (uint32_t)b;
    int extra = 0;
    for (int c = 0; c < b; c++)
        if (!((c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF))) extra++;
    return 256u + (uint32_t)extra;
}

static void put_token(FILE *f, const unsigned char *b, size_t n, int json) {
    for (size_t i = 0; i < n; i++) {
        uint32_t cp = byte_to_unicode(b[i]);
        if (json && (cp == '"' || cp == '\\')) fputc('\\', f);
        if (cp < 0x80) fputc((int)cp, f);
        else { fputc((int)(0xC0 | cp >> 6), f); fputc((int)(0x80 | (cp & 0x3F)), f); }
    }
}

// The merge that made token r: BPE of its bytes using only ranks below r
// ends in exactly two parts (how tiktoken's ranks relate to GPT-2's merges).
static size_t merge_split(const Tokenizer *t, const unsigned char *b, size_t n, uint32_t r) {
    size_t starts[1024];
    if (n >= 1024) die("token %u is too long for this test", r);
    size_t parts = n;
    for (size_t i = 0; i <= n; i++) starts[i] = i;
    for (;;) {
        uint32_t best = UINT32_MAX, v;
        size_t bi = 0;
        for (size_t i = 0; i + 1 < parts; i++)
            if (bpe_map_get(&t->ranks, b + starts[i], starts[i + 2] - starts[i], &v) && v < r && v < best) { best = v; bi = i; }
        if (best == UINT32_MAX) break;
        memmove(starts + bi + 1, starts + bi + 2, (parts - bi - 1) * sizeof(size_t));
        parts--;
    }
    return parts == 2 ? starts[1] : 0;
}

static void write_encoder_pair(const Tokenizer *t, const char *dir) {
    char path[4400];
    snprintf(path, sizeof(path), "%s/encoder.json", dir);
    FILE *ej = fopenCheck(path, "wb");
    snprintf(path, sizeof(path), "%s/vocab.bpe", dir);
    FILE *vb = fopenCheck(path, "wb");
    fputs("{", ej);
    fputs("#version: 0.2\n", vb);
    for (int id = 0; id < t->n_ranks; id++) {
        size_t n;
        const unsigned char *b = tokenizer_decode(t, id, &n);
        fputs(id ? ", \"" : "\"", ej);
        put_token(ej, b, n, 1);
        fprintf(ej, "\": %d", id);
        if (id >= 256) {
            size_t cut = merge_split(t, b, n, (uint32_t)id);
            if (!cut) die("token %d has no two-part merge", id);
            put_token(vb, b, cut, 0);
            fputc(' ', vb);
            put_token(vb, b + cut, n - cut, 0);
            fputc('\n', vb);
        }
    }
    fprintf(ej, ", \"<|endoftext|>\": %d}", t->eot);
    fcloseCheck(ej, "encoder.json");
    fcloseCheck(vb, "vocab.bpe");
}

static void test_encoder_json(Tokenizer *gpt2) {
    char dir[4300];
    snprintf(dir, sizeof(dir), "%s/encoder", tmp_dir);
    MUST(make_dirs(dir));
    write_encoder_pair(gpt2, dir);
    char path[4400];
    snprintf(path, sizeof(path), "%s/encoder.json", dir);
    Tokenizer *ej;
    MUST(tokenizer_load(path, &ej));
    check(tokenizer_vocab_size(ej) == 50257 && tokenizer_eot(ej) == 50256, "encoder.json: vocab %d eot %d",
          tokenizer_vocab_size(ej), tokenizer_eot(ej));
    int same_decode = 1;
    for (int id = 0; id < 50257; id++) {
        size_t n1, n2;
        const unsigned char *a = tokenizer_decode(gpt2, id, &n1), *b = tokenizer_decode(ej, id, &n2);
        if (n1 != n2 || memcmp(a, b, n1) != 0) same_decode = 0;
    }
    check(same_decode, "encoder.json: token bytes differ from the .tiktoken ranks");
    const char *fixtures[] = {"cases.txt", "random.txt"};
    for (int f = 0; f < 2; f++) {
        Cases cs = load_cases(fixtures[f]);
        TokenIds ids = {0};
        for (size_t i = 0; i < cs.n; i++) {
            ids.len = 0;
            MUST(tokenizer_encode(ej, cs.c[i].bytes, cs.c[i].len, &ids, NULL));
            check(same_ids(&ids, &cs.c[i].ids), "encoder.json: %s case %zu differs", fixtures[f], i + 1);
        }
        token_ids_free(&ids);
        free_cases(&cs);
    }
    char book[4600];
    snprintf(book, sizeof(book), "%s/corpus/tom_sawyer.txt", data_dir());
    if (file_exists(book)) {
        size_t len;
        char *data = read_file(book, &len);
        TokenIds a = {0}, b = {0};
        MUST(tokenizer_encode(gpt2, data, len, &a, NULL));
        MUST(tokenizer_encode(ej, data, len, &b, NULL));
        check(same_ids(&a, &b), "encoder.json: tom_sawyer.txt encodes differently");
        token_ids_free(&a);
        token_ids_free(&b);
        free(data);
    }
    tokenizer_free(ej);
    printf("encoder.json + vocab.bpe: checked\n");
}

// ---- gpt2cl prepare ----

static const char *gpt2cl_bin;

// Runs "gpt2cl prepare ARGS" (ARGS already shell-quoted); stderr goes to
// tmp_dir/stderr.txt. Returns the exit status.
static int run_prepare(const char *args) {
    char cmd[16384];
    snprintf(cmd, sizeof(cmd), "'%s' prepare %s >/dev/null 2>'%s/stderr.txt'", gpt2cl_bin, args, tmp_dir);
    int rc = system(cmd);
    return rc == -1 ? -1 : WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

static int stderr_has(const char *needle) {
    char path[4400];
    snprintf(path, sizeof(path), "%s/stderr.txt", tmp_dir);
    char *s = read_file(path, NULL);
    int found = strstr(s, needle) != NULL;
    free(s);
    return found;
}

static void write_bytes(const char *dir, const char *name, const void *data, size_t len) {
    char path[4400];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopenCheck(path, "wb");
    if (len) fwriteCheck(data, 1, len, f, path);
    fcloseCheck(f, path);
}

// Reads all shards PREFIX_000000.bin... of dir into out; checks headers.
static int read_shards(const char *dir, const char *prefix, size_t max_tokens, TokenIds *out) {
    int shards = 0;
    for (;; shards++) {
        char path[4400];
        snprintf(path, sizeof(path), "%s/%s_%06d.bin", dir, prefix, shards);
        if (!file_exists(path)) break;
        size_t len;
        unsigned char *b = (unsigned char *)read_file(path, &len);
        int32_t h[3];
        for (int i = 0; i < 3; i++) h[i] = (int32_t)((uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 | (uint32_t)b[4 * i + 2] << 16 | (uint32_t)b[4 * i + 3] << 24);
        check(len >= 1024 && h[0] == 20240520 && h[1] == 1, "%s: bad shard header", path);
        check(len == 1024 + 2 * (size_t)h[2], "%s: header says %d tokens but the file has %zu bytes", path, h[2], len);
        check((size_t)h[2] <= max_tokens && h[2] > 0, "%s: %d tokens, limit %zu", path, h[2], max_tokens);
        int zero = 1;
        for (size_t i = 12; i < 1024 && i < len; i++) zero &= b[i] == 0;
        check(zero, "%s: header words 3..255 are not zero", path);
        for (size_t i = 1024; i + 1 < len; i += 2) token_ids_push(out, (int32_t)(b[i] | b[i + 1] << 8));
        free(b);
    }
    return shards;
}

static int files_equal(const char *a, const char *b) {
    if (!file_exists(a) || !file_exists(b)) return 0;
    size_t la, lb;
    char *x = read_file(a, &la), *y = read_file(b, &lb);
    int eq = la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return eq;
}

static void test_prepare(Tokenizer *gpt2) {
    gpt2cl_bin = getenv("GPT2CL_BIN");
    if (!gpt2cl_bin || access(gpt2cl_bin, X_OK) != 0) {
        check(0, "GPT2CL_BIN is not set to an executable gpt2cl (got '%s')", gpt2cl_bin ? gpt2cl_bin : "");
        return;
    }
    char in[4300], out1[4300], out2[4300], args[12000];
    snprintf(in, sizeof(in), "%s/in", tmp_dir);
    snprintf(out1, sizeof(out1), "%s/out1", tmp_dir);
    snprintf(out2, sizeof(out2), "%s/out2", tmp_dir);
    MUST(make_dirs(in));
    char sub[4400];
    snprintf(sub, sizeof(sub), "%s/a", in);
    MUST(make_dirs(sub));

    // Documents in the order prepare must see them: a/x.txt, b.txt, c.jsonl (2), d.txt.
    const char *doc_x = "Invalid UTF-8 \xff\xfe here, then caf\xc3\xa9.\n";
    const char *doc_b = "Hello world! It's a test.\n\n";
    const char *doc_c1 = "first JSON document";
    const char *doc_c2 = "second one, with \xc3\xa9 and a \"quote\"";
    const char *jsonl = "{\"text\": \"first JSON document\", \"id\": 1}\n\n"
                        "{\"text\": \"second one, with \\u00e9 and a \\\"quote\\\"\"}\n";
    write_bytes(sub, "x.txt", doc_x, strlen(doc_x));
    write_bytes(in, "b.txt", doc_b, strlen(doc_b));
    write_bytes(in, "c.jsonl", jsonl, strlen(jsonl));
    write_bytes(in, ".hidden.txt", "ignored", 7);
    char book[4600];
    snprintf(book, sizeof(book), "%s/corpus/tom_sawyer.txt", data_dir());
    size_t book_len = 0;
    char *doc_d = file_exists(book) ? read_file(book, &book_len) : strdup_check("fallback document\n");
    if (!book_len) book_len = strlen(doc_d);
    write_bytes(in, "d.txt", doc_d, book_len); // > prepare's chunk size: exercises chunked encoding

    const size_t shard_tokens = 30000, block = 1000;
    snprintf(args, sizeof(args), "--tokenizer gpt2 --out '%s' --val-frac 0.1 --split-block %zu --shard-tokens %zu '%s'",
             out1, block, shard_tokens, in);
    check(run_prepare(args) == 0, "prepare failed on the test corpus");
    check(stderr_has("invalid UTF-8"), "prepare did not warn about invalid UTF-8");

    // Expected stream: end-of-text before each document, then the split rule.
    TokenIds stream = {0}, want_train = {0}, want_val = {0}, train = {0}, val = {0};
    const char *docs[] = {doc_x, doc_b, doc_c1, doc_c2, doc_d};
    size_t lens[] = {strlen(doc_x), strlen(doc_b), strlen(doc_c1), strlen(doc_c2), book_len};
    for (int i = 0; i < 5; i++) {
        token_ids_push(&stream, 50256);
        MUST(tokenizer_encode(gpt2, docs[i], lens[i], &stream, NULL));
    }
    for (size_t i = 0; i < stream.len; i++)
        token_ids_push(split_block_is_val(i / block, 100000) ? &want_val : &want_train, stream.ids[i]);
    int n_train = read_shards(out1, "train", shard_tokens, &train);
    int n_val = read_shards(out1, "val", shard_tokens, &val);
    check(n_train == (int)((want_train.len + shard_tokens - 1) / shard_tokens), "prepare wrote %d train shards", n_train);
    check(n_val >= 1, "prepare wrote no val shard");
    check(same_ids(&train, &want_train), "train shards: %zu tokens read, %zu expected, or content differs", train.len, want_train.len);
    check(same_ids(&val, &want_val), "val shards: %zu tokens read, %zu expected, or content differs", val.len, want_val.len);
    printf("prepare: %zu train tokens in %d shards, %zu val tokens in %d shards\n", train.len, n_train, val.len, n_val);

    // Determinism: a second run gives identical files.
    snprintf(args, sizeof(args), "--out '%s' --val-frac 0.1 --split-block %zu --shard-tokens %zu '%s'", out2, block,
             shard_tokens, in);
    check(run_prepare(args) == 0, "second prepare run failed");
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < (k ? n_val : n_train); i++) {
            char a[4500], b[4500];
            snprintf(a, sizeof(a), "%s/%s_%06d.bin", out1, k ? "val" : "train", i);
            snprintf(b, sizeof(b), "%s/%s_%06d.bin", out2, k ? "val" : "train", i);
            check(files_equal(a, b), "%s and %s differ between two identical runs", a, b);
        }
    }

    // Existing shards are never replaced silently; --force replaces them and
    // removes stale higher-numbered shards.
    char first[4500];
    snprintf(first, sizeof(first), "%s/train_000000.bin", out2);
    size_t before_len;
    char *before = read_file(first, &before_len);
    snprintf(args, sizeof(args), "--out '%s' --shard-tokens 5000000 '%s'", out2, in);
    check(run_prepare(args) != 0 && stderr_has("gpt2cl: error:") && stderr_has("--force"), "prepare overwrote shards without --force");
    size_t after_len;
    char *after = read_file(first, &after_len);
    check(before_len == after_len && memcmp(before, after, before_len) == 0, "refused prepare still changed %s", first);
    free(before);
    free(after);
    snprintf(args, sizeof(args), "--out '%s' --shard-tokens 5000000 --force '%s'", out2, in);
    check(run_prepare(args) == 0, "prepare --force failed");
    snprintf(first, sizeof(first), "%s/train_000001.bin", out2);
    check(!file_exists(first), "prepare --force left stale shard %s", first);

    // Bad input: one-line error and non-zero exit.
    char bad[4400];
    snprintf(bad, sizeof(bad), "%s/bad", tmp_dir);
    MUST(make_dirs(bad));
    write_bytes(bad, "bad.jsonl", "{\"text\": \"ok\"}\n{\"text\": \n", 26);
    snprintf(args, sizeof(args), "--out '%s/o' '%s/bad.jsonl'", bad, bad);
    check(run_prepare(args) != 0 && stderr_has("gpt2cl: error:") && stderr_has("bad.jsonl:2"), "malformed JSONL line not reported");
    write_bytes(bad, "notext.jsonl", "{\"txt\": \"x\"}\n", 13);
    snprintf(args, sizeof(args), "--out '%s/o' '%s/notext.jsonl'", bad, bad);
    check(run_prepare(args) != 0 && stderr_has("gpt2cl: error:"), "JSONL line without text not reported");
    const char *nul_jsonl = "{\"text\": \"a\\\\u0000b\"}\n{\"text\": \"a\\u0000b\"}\n"; // line 1 is fine
    write_bytes(bad, "nul.jsonl", nul_jsonl, strlen(nul_jsonl));
    snprintf(args, sizeof(args), "--out '%s/o' '%s/nul.jsonl'", bad, bad);
    check(run_prepare(args) != 0 && stderr_has("nul.jsonl:2"), "\\u0000 in JSONL text not reported");
    write_bytes(bad, "empty.txt", "", 0);
    snprintf(args, sizeof(args), "--out '%s/o' '%s/empty.txt'", bad, bad);
    check(run_prepare(args) != 0 && stderr_has("empty corpus"), "empty corpus not reported");
    snprintf(args, sizeof(args), "--out '%s/o' '%s/no-such-file.txt'", bad, bad);
    check(run_prepare(args) != 0 && stderr_has("gpt2cl: error: cannot read input"), "missing input not reported");
    snprintf(args, sizeof(args), "--out '%s/o' --tokenizer byte --val-frac 0 '%s'", bad, in);
    check(run_prepare(args) == 0, "prepare with the byte tokenizer failed");

    token_ids_free(&stream);
    token_ids_free(&want_train);
    token_ids_free(&want_val);
    token_ids_free(&train);
    token_ids_free(&val);
    free(doc_d);
}

int main(void) {
    const char *root = getenv("GPT2CL_SOURCE_ROOT");
    snprintf(source_root, sizeof(source_root), "%s", root && root[0] ? root : ".");
    const char *tmp = getenv("TMPDIR");
    snprintf(tmp_dir, sizeof(tmp_dir), "%s/gpt2cl-test-tokenizer-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(tmp_dir)) die("cannot create a temporary folder: %s", strerror(errno));

    char vocab[4300];
    snprintf(vocab, sizeof(vocab), "%s/gpt2.tiktoken", data_dir());
    if (!file_exists(vocab)) {
        printf("FAIL: GPT-2 vocabulary missing at %s: run scripts/setup.sh (scripts/fetch_vocab.sh) first\n", vocab);
        printf("0 passed, 1 failed\n");
        return 1;
    }
    Tokenizer *gpt2, *byte;
    MUST(tokenizer_load("gpt2", &gpt2));
    MUST(tokenizer_load("byte", &byte));
    check(tokenizer_vocab_size(gpt2) == 50257 && tokenizer_eot(gpt2) == 50256, "gpt2: vocab %d eot %d",
          tokenizer_vocab_size(gpt2), tokenizer_eot(gpt2));
    check(tokenizer_vocab_size(byte) == 257 && tokenizer_eot(byte) == 256, "byte: vocab %d eot %d",
          tokenizer_vocab_size(byte), tokenizer_eot(byte));
    size_t n;
    const unsigned char *eot = tokenizer_decode(gpt2, 50256, &n);
    check(eot && n == 13 && memcmp(eot, "<|endoftext|>", 13) == 0, "gpt2: end-of-text does not decode to <|endoftext|>");
    check(tokenizer_decode(gpt2, 50257, &n) == NULL && tokenizer_decode(gpt2, -1, &n) == NULL, "gpt2: out-of-range ids decode");

    test_cases(gpt2, byte, "cases.txt");
    test_cases(gpt2, byte, "random.txt");
    test_corpus(gpt2);
    test_encoder_json(gpt2);
    test_prepare(gpt2);

    tokenizer_free(gpt2);
    tokenizer_free(byte);
    char cmd[4400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_dir);
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}
