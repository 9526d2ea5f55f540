// Reading BPE vocabularies: tiktoken's ranks format and the GPT-2 release's
// encoder.json + vocab.bpe pair. Both end as the same bytes -> rank map.
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "text/bpe_internal.h"
#include "util/util.h"

static int b64_value(int c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

// Decodes standard padded base64; returns the byte count or -1 if malformed.
static long b64_decode(const char *s, size_t n, unsigned char *out) {
    if (n == 0 || n % 4 != 0) return -1;
    long o = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            if (s[i + k] == '=' && i + 4 == n && k >= 2) {
                v[k] = 0;
                pad++;
            } else {
                if (pad) return -1;
                v[k] = b64_value((unsigned char)s[i + k]);
                if (v[k] < 0) return -1;
            }
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        out[o++] = (unsigned char)(w >> 16);
        if (pad < 2) out[o++] = (unsigned char)(w >> 8);
        if (pad < 1) out[o++] = (unsigned char)w;
    }
    return o;
}

// With count == max rank + 1, the ranks are 0..N-1 exactly once only if none repeats;
// returns the first repeated one, or -1.
static long repeated_rank(const BpeMap *m) {
    unsigned char *seen = callocCheck(m->count ? m->count : 1, 1);
    long dup = -1;
    for (size_t i = 0; dup < 0 && i <= m->mask; i++) {
        const BpeMapSlot *s = &m->slots[i];
        if (!s->hash) continue;
        if (s->value >= m->count || seen[s->value]++) dup = (long)s->value;
    }
    free(seen);
    return dup;
}

int bpe_parse_tiktoken(Tokenizer *t, const char *text, size_t len, const char *name, char *err, size_t errn) {
    bpe_map_init(&t->ranks, 65536);
    unsigned char *buf = mallocCheck(len + 4);
    long max_rank = -1;
    size_t line_no = 0;
    int ok = 1, put;
    for (const char *p = text, *end = text + len; ok && p < end; line_no++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = nl ? nl : end;
        const char *sp = memchr(p, ' ', (size_t)(line_end - p));
        if (line_end == p) { // blank line (e.g. a trailing newline)
            p = line_end + 1;
            continue;
        }
        long n = sp ? b64_decode(p, (size_t)(sp - p), buf) : -1;
        // The rank: decimal digits, then the line's end (or \r and its end); NUL bytes or anything else fail.
        const char *q = sp ? sp + 1 : line_end;
        long rank = 0;
        for (; q < line_end && *q >= '0' && *q <= '9' && rank < (1L << 30); q++) rank = rank * 10 + (*q - '0');
        int digits = sp && q > sp + 1;
        if (!sp || n <= 0 || !digits || (q != line_end && !(*q == '\r' && q + 1 == line_end)) || rank >= (1L << 30)) {
            snprintf(err, errn, "%s:%zu: malformed line (expected 'base64-token rank')", name, line_no + 1);
            ok = 0;
        } else if ((put = bpe_map_put(&t->ranks, buf, (size_t)n, (uint32_t)rank)) != 1) {
            snprintf(err, errn, "%s:%zu: %s", name, line_no + 1,
                     put ? "the tokens pass 4 GiB" : "duplicate token");
            ok = 0;
        }
        if (rank > max_rank) max_rank = rank;
        p = line_end + 1;
    }
    free(buf);
    long dup = -1;
    if (ok && ((long)t->ranks.count != max_rank + 1 || (dup = repeated_rank(&t->ranks)) >= 0)) {
        snprintf(err, errn, "%s: ranks are not 0..N-1 without gaps or repeats (%zu tokens, max rank %ld%s%ld)", name,
                 t->ranks.count, max_rank, dup >= 0 ? ", repeated rank " : "", dup >= 0 ? dup : 0L);
        ok = 0;
    }
    if (!ok) {
        bpe_map_free(&t->ranks);
        return 0;
    }
    t->n_ranks = (int)t->ranks.count;
    t->eot = t->n_ranks; // tiktoken's GPT-2 puts <|endoftext|> right after the ranks
    return 1;
}

Status bpe_load_tiktoken(Tokenizer *t, const char *path) {
    size_t len;
    char *text;
    TRY(read_user_file(path, "tokenizer file", &text, &len));
    char err[600];
    int ok = bpe_parse_tiktoken(t, text, len, path, err, sizeof err);
    free(text);
    return ok ? STATUS_OK : fail(STATUS_INPUT, "%s", err);
}

uint32_t bpe_byte_code_point(int b) {
    static uint32_t table[256];
    static int ready = 0;
    if (!ready) {
        uint32_t extra = 0;
        for (int c = 0; c < 256; c++) {
            int printable = (c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF);
            table[c] = printable ? (uint32_t)c : 256 + extra++;
        }
        ready = 1;
    }
    return table[b & 0xFF];
}

// The byte of a code point of GPT-2's alphabet, or -1.
static int unicode_to_byte(uint32_t cp) {
    static int table[324];
    static int ready = 0;
    if (!ready) {
        for (int i = 0; i < 324; i++) table[i] = -1;
        for (int b = 0; b < 256; b++) table[bpe_byte_code_point(b)] = b;
        ready = 1;
    }
    return cp < 324 ? table[cp] : -1;
}

// Converts a byte-level-unicode token string (UTF-8) into raw bytes.
static long token_to_bytes(const char *s, unsigned char *out) {
    long n = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t cp;
        if (p[0] < 0x80) { cp = p[0]; p += 1; }
        else if ((p[0] & 0xE0) == 0xC0 && (p[1] & 0xC0) == 0x80) { cp = (uint32_t)(p[0] & 0x1F) << 6 | (p[1] & 0x3F); p += 2; }
        else return -1; // every mapped code point is below U+0800
        int b = unicode_to_byte(cp);
        if (b < 0) return -1;
        out[n++] = (unsigned char)b;
    }
    return n;
}

// The ranks of one encoder.json entry (a token string and its id) into t.
static Status put_encoder_entry(Tokenizer *t, const cJSON *it, const char *path, long *max_rank) {
    unsigned char buf[1024];
    if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble >= (1 << 30))
        return fail(STATUS_INPUT, "%s: value of \"%s\" is not a token id", path, it->string);
    int id = it->valueint;
    if (strcmp(it->string, "<|endoftext|>") == 0) {
        t->eot = id;
        return STATUS_OK;
    }
    if (strlen(it->string) >= sizeof(buf))
        return fail(STATUS_INPUT, "%s: token \"%.40s...\" is too long", path, it->string);
    long n = token_to_bytes(it->string, buf);
    if (n <= 0) return fail(STATUS_INPUT, "%s: token \"%s\" is not in GPT-2's byte-level alphabet", path, it->string);
    int put = bpe_map_put(&t->ranks, buf, (size_t)n, (uint32_t)id);
    if (put != 1)
        return fail(STATUS_INPUT, "%s: %s \"%s\"", path, put ? "the tokens pass 4 GiB at" : "duplicate token",
                    it->string);
    if (id > *max_rank) *max_rank = id;
    return STATUS_OK;
}

// The ranks of encoder.json (a JSON object: token string -> id) into t.
static Status read_encoder_json(Tokenizer *t, const char *path) {
    size_t len;
    char *text;
    TRY(read_user_file(path, "tokenizer file", &text, &len));
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    Status s = STATUS_OK;
    if (!root || !cJSON_IsObject(root))
        s = fail(STATUS_INPUT, "%s: not a JSON object (expected GPT-2's encoder.json)", path);
    bpe_map_init(&t->ranks, 65536);
    long max_rank = -1;
    t->eot = -1;
    for (cJSON *it = root ? root->child : NULL; it && !s; it = it->next) s = put_encoder_entry(t, it, path, &max_rank);
    cJSON_Delete(root);
    if (s) return s;
    if ((long)t->ranks.count != max_rank + 1 || repeated_rank(&t->ranks) >= 0)
        return fail(STATUS_INPUT, "%s: ids are not 0..N-1 without gaps or repeats (%zu tokens, max id %ld)", path,
                    t->ranks.count, max_rank);
    t->n_ranks = (int)t->ranks.count;
    if (t->eot < 0) t->eot = t->n_ranks;
    if (t->eot != t->n_ranks)
        return fail(STATUS_INPUT, "%s: <|endoftext|> has id %d, expected %d", path, t->eot, t->n_ranks);
    return STATUS_OK;
}

// Checks one line of vocab.bpe ("A B", NUL-terminated, line_no from 1): the merge of A and B is token 256 + merge_no.
static Status check_merge(const Tokenizer *t, char *line, const char *bpe_path, size_t line_no, long merge_no,
                          const char *path) {
    unsigned char buf[1024];
    char *sp = strchr(line, ' ');
    if (!sp || strchr(sp + 1, ' '))
        return fail(STATUS_INPUT, "%s:%zu: expected two tokens separated by one space", bpe_path, line_no);
    *sp = '\0';
    if (strlen(line) + strlen(sp + 1) >= sizeof(buf))
        return fail(STATUS_INPUT, "%s:%zu: merge too long", bpe_path, line_no);
    long a = token_to_bytes(line, buf);
    long b = a > 0 ? token_to_bytes(sp + 1, buf + a) : -1;
    uint32_t id;
    if (a <= 0 || b <= 0)
        return fail(STATUS_INPUT, "%s:%zu: token not in GPT-2's byte-level alphabet", bpe_path, line_no);
    if (!bpe_map_get(&t->ranks, buf, (size_t)(a + b), &id) || (long)id != 256 + merge_no)
        return fail(STATUS_INPUT, "%s:%zu: merge %ld does not match %s (vocab.bpe and encoder.json disagree)", bpe_path,
                    line_no, merge_no, path);
    return STATUS_OK;
}

// vocab.bpe lists the merges in priority order. As tiktoken does, check
// that merge i produces the token with id 256 + i: then ranking pairs by
// the encoder id (what the merge loop does) is the same as ranking by merge.
static Status check_vocab_bpe(const Tokenizer *t, const char *path, const char *bpe_path) {
    if (!file_exists(bpe_path))
        return fail(STATUS_INPUT, "%s not found: an encoder.json needs its vocab.bpe beside it", bpe_path);
    size_t len;
    char *merges;
    TRY(read_user_file(bpe_path, "tokenizer file", &merges, &len));
    Status s = STATUS_OK;
    long merge_no = 0;
    size_t line_no = 0;
    for (char *p = merges, *end = merges + len; p < end && !s; line_no++) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *line_end = nl ? nl : end;
        if (line_end > p && line_end[-1] == '\r') line_end[-1] = '\0';
        *line_end = '\0';
        char *line = p;
        p = line_end + 1;
        if (line[0] == '\0' || (line_no == 0 && strncmp(line, "#version", 8) == 0)) continue;
        s = check_merge(t, line, bpe_path, line_no + 1, merge_no, path);
        merge_no++;
    }
    free(merges);
    if (!s && 256 + merge_no != t->n_ranks)
        s = fail(STATUS_INPUT, "%s: %ld merges for %d tokens (expected %d merges)", path, merge_no, t->n_ranks,
                 t->n_ranks - 256);
    return s;
}

Status bpe_load_encoder_json(Tokenizer *t, const char *path) {
    TRY(read_encoder_json(t, path));
    size_t dir_len = strrchr(path, '/') ? (size_t)(strrchr(path, '/') - path + 1) : 0;
    char *bpe_path = mallocCheck(dir_len + 16);
    memcpy(bpe_path, path, dir_len);
    strcpy(bpe_path + dir_len, "vocab.bpe");
    Status s = check_vocab_bpe(t, path, bpe_path);
    free(bpe_path);
    return s;
}
