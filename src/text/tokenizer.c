// Tokenizer API: loading by spec, GPT-2 pre-tokenization with PCRE2, the
// pre-token cache, and decoding. Merging is in bpe_merge.c, file formats in
// bpe_load.c.
#include <stdlib.h>
#include <string.h>

#include "text/bpe_internal.h"
#include "util/util.h"

// GPT-2's pattern with \s and \S spelled out as Unicode White_Space, which is
// what tiktoken's regex engine means by \s. PCRE2's \s with UCP also matches
// U+180E (MONGOLIAN VOWEL SEPARATOR, no longer White_Space since Unicode 6.3).
#define WS "\\t\\n\\x0B\\f\\r\\x20\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"
static const char GPT2_PATTERN[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" WS "\\p{L}\\p{N}]+|[" WS "]+(?![^" WS "])|[" WS "]+";

static const char EOT_TEXT[] = "<|endoftext|>";

// Bounds on the pre-token cache; it is simply cleared when full.
#define CACHE_MAX_ENTRIES (1u << 20)
#define CACHE_MAX_IDS (1u << 24)
#define CACHE_MAX_PIECE 256

void token_ids_reserve(TokenIds *t, size_t n) {
    if (t->len + n <= t->cap) return;
    size_t cap = t->cap ? t->cap : 1024;
    while (cap < t->len + n) cap *= 2;
    int32_t *p = realloc(t->ids, cap * sizeof(int32_t));
    if (!p) out_of_memory("growing a token array to %zu ids", cap);
    t->ids = p;
    t->cap = cap;
}

void token_ids_push(TokenIds *t, int32_t id) {
    if (t->len == t->cap) token_ids_reserve(t, 1);
    t->ids[t->len++] = id;
}

void token_ids_free(TokenIds *t) {
    free(t->ids);
    t->ids = NULL;
    t->len = t->cap = 0;
}

size_t utf8_first_invalid(const unsigned char *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        // Skip ASCII 8 bytes at a time: most text is ASCII.
        while (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ull) break;
            i += 8;
        }
        if (i >= len) break;
        unsigned char c = s[i];
        if (c < 0x80) { i++; continue; }
        size_t n;
        uint32_t cp, min;
        if (c >= 0xC2 && c <= 0xDF) { n = 2; cp = c & 0x1F; min = 0x80; }
        else if (c >= 0xE0 && c <= 0xEF) { n = 3; cp = c & 0x0F; min = 0x800; }
        else if (c >= 0xF0 && c <= 0xF4) { n = 4; cp = c & 0x07; min = 0x10000; }
        else return i;
        if (i + n > len) return i;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return i;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
        i += n;
    }
    return len;
}

static int ascii_non_space(unsigned char c) {
    return c < 0x80 && c != ' ' && c != '\t' && c != '\n' && c != '\v' && c != '\f' && c != '\r';
}

size_t tokenizer_split_point(const unsigned char *s, size_t len, size_t min) {
    // Cut before a '\n' that follows an ASCII non-space byte. Only the space
    // prefixes (" ?\p{L}+", ...) join whitespace and non-whitespace in one
    // pre-token, and always whitespace first, so a non-space/space border is a
    // pre-token border; matching from the cut sees the same text as before.
    for (size_t i = min ? min : 1; i < len; i++) {
        const unsigned char *nl = memchr(s + i, '\n', len - i);
        if (!nl) break;
        i = (size_t)(nl - s);
        if (ascii_non_space(s[i - 1])) return i;
    }
    return len;
}

static void compile_regex(Tokenizer *t) {
    int err;
    PCRE2_SIZE err_off;
    t->re = pcre2_compile((PCRE2_SPTR)GPT2_PATTERN, PCRE2_ZERO_TERMINATED,
                          PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &err_off, NULL);
    if (!t->re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof(msg));
        internal_error("cannot compile the GPT-2 pre-tokenization regex at offset %zu: %s", (size_t)err_off,
                       (char *)msg);
    }
    // Without JIT (unsupported CPU) pcre2_match still works, just slower.
    if (pcre2_jit_compile(t->re, PCRE2_JIT_COMPLETE) == 0) {
        t->jit_stack = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, NULL);
        t->mctx = pcre2_match_context_create(NULL);
        if (!t->jit_stack || !t->mctx) out_of_memory("creating the PCRE2 JIT stack");
        pcre2_jit_stack_assign(t->mctx, NULL, t->jit_stack);
    }
    t->md = pcre2_match_data_create_from_pattern(t->re, NULL);
    if (!t->md) out_of_memory("creating PCRE2 match data");
}

// Every byte must be a token, or some text could not be encoded. Returns 0 with the reason in err.
static int check_bytes(Tokenizer *t, const char *path, char *err, size_t n) {
    for (int b = 0; b < 256; b++) {
        unsigned char c = (unsigned char)b;
        if (!bpe_map_get(&t->ranks, &c, 1, &t->byte_rank[b])) {
            snprintf(err, n, "%s: byte 0x%02x has no token, so some text could not be encoded", path, b);
            return 0;
        }
    }
    return 1;
}

static void finish_bpe(Tokenizer *t) {
    t->vocab_size = t->n_ranks + 1;
    t->tok_off = callocCheck((size_t)t->vocab_size, sizeof(uint32_t));
    t->tok_len = callocCheck((size_t)t->vocab_size, sizeof(uint32_t));
    // Token bytes for decoding stay in the rank map's key arena.
    for (size_t i = 0; i <= t->ranks.mask; i++) {
        const BpeMapSlot *s = &t->ranks.slots[i];
        if (!s->hash) continue;
        t->tok_off[s->value] = s->off;
        t->tok_len[s->value] = s->len;
    }
    t->tok_bytes = t->ranks.arena;
    bpe_map_init(&t->cache, 1 << 16);
    t->cache_ids_cap = 1 << 16;
    t->cache_ids = mallocCheck(t->cache_ids_cap * sizeof(int32_t));
    compile_regex(t);
}

Tokenizer *tokenizer_from_tiktoken_text(const char *text, size_t len, const char *name, char *err, size_t n) {
    Tokenizer *t = callocCheck(1, sizeof(Tokenizer));
    t->name = strdup_check(name);
    if (!bpe_parse_tiktoken(t, text, len, name, err, n)) {
        tokenizer_free(t);
        return NULL;
    }
    if (!check_bytes(t, name, err, n)) {
        bpe_map_free(&t->ranks);
        memset(&t->ranks, 0, sizeof t->ranks);
        tokenizer_free(t);
        return NULL;
    }
    finish_bpe(t);
    return t;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

// The byte tokenizer: 256 byte tokens and end-of-text.
static void load_bytes(Tokenizer *t) {
    t->n_ranks = 256;
    t->eot = 256;
    t->vocab_size = 257;
    t->tok_bytes = mallocCheck(256);
    t->tok_off = mallocCheck(257 * sizeof(uint32_t));
    t->tok_len = mallocCheck(257 * sizeof(uint32_t));
    for (int b = 0; b < 256; b++) {
        t->tok_bytes[b] = (unsigned char)b;
        t->tok_off[b] = (uint32_t)b;
        t->tok_len[b] = 1;
    }
}

// A BPE tokenizer from a .tiktoken file or an encoder.json (spec "gpt2": the data folder's GPT-2 ranks).
static Status load_bpe(Tokenizer *t, const char *spec) {
    char path_buf[4200];
    const char *path = spec;
    if (strcmp(spec, "gpt2") == 0) {
        const char *data;
        TRY(gpt2cl_data_dir(&data));
        snprintf(path_buf, sizeof(path_buf), "%s/gpt2.tiktoken", data);
        path = path_buf;
        if (!file_exists(path))
            return fail(STATUS_INPUT,
                        "GPT-2 vocabulary not found at %s: run scripts/setup.sh (or scripts/fetch_vocab.sh) first",
                        path);
    } else if (!file_exists(path)) {
        return fail(STATUS_INPUT, "tokenizer '%s' not found: expected gpt2, byte, a .tiktoken file or an encoder.json",
                    spec);
    }
    TRY(ends_with(path, ".json") ? bpe_load_encoder_json(t, path) : bpe_load_tiktoken(t, path));
    if (strcmp(spec, "gpt2") == 0 && t->n_ranks != 50256)
        return fail(STATUS_INPUT, "%s: expected 50256 GPT-2 ranks, found %d (re-run scripts/fetch_vocab.sh)", path,
                    t->n_ranks);
    char err[600];
    if (!check_bytes(t, path, err, sizeof err)) return fail(STATUS_INPUT, "%s", err);
    finish_bpe(t);
    return STATUS_OK;
}

Status tokenizer_load(const char *spec, Tokenizer **out) {
    Tokenizer *t = callocCheck(1, sizeof(Tokenizer));
    if (!spec || !spec[0]) spec = "gpt2";
    t->name = strdup_check(spec);
    t->is_byte = strcmp(spec, "byte") == 0;
    Status s = STATUS_OK;
    if (t->is_byte) load_bytes(t);
    else s = load_bpe(t, spec);
    if (s) tokenizer_free(t);
    *out = s ? NULL : t;
    return s;
}

void tokenizer_free(Tokenizer *t) {
    if (!t) return;
    if (t->is_byte) {
        free(t->tok_bytes);
    } else {
        bpe_map_free(&t->ranks); // owns tok_bytes
        bpe_map_free(&t->cache);
        pcre2_match_data_free(t->md);
        pcre2_match_context_free(t->mctx);
        pcre2_jit_stack_free(t->jit_stack);
        pcre2_code_free(t->re);
    }
    free(t->tok_off);
    free(t->tok_len);
    free(t->cache_ids);
    free(t->s_start); free(t->s_rank); free(t->s_next); free(t->s_prev); free(t->s_heap);
    free(t->name);
    free(t);
}

int tokenizer_vocab_size(const Tokenizer *t) { return t->vocab_size; }
int tokenizer_eot(const Tokenizer *t) { return t->eot; }
const char *tokenizer_name(const Tokenizer *t) { return t->name; }

const unsigned char *tokenizer_decode(const Tokenizer *t, int id, size_t *len) {
    if (id < 0 || id >= t->vocab_size) return NULL;
    if (id == t->eot) {
        *len = sizeof(EOT_TEXT) - 1;
        return (const unsigned char *)EOT_TEXT;
    }
    *len = t->tok_len[id];
    return t->tok_bytes + t->tok_off[id];
}

static void cache_put(Tokenizer *t, const unsigned char *piece, size_t len, const int32_t *ids, size_t n) {
    if (t->cache.count >= CACHE_MAX_ENTRIES || t->cache_ids_len + n + 1 > CACHE_MAX_IDS) {
        bpe_map_clear(&t->cache);
        t->cache_ids_len = 0;
    }
    if (t->cache_ids_len + n + 1 > t->cache_ids_cap) {
        while (t->cache_ids_len + n + 1 > t->cache_ids_cap) t->cache_ids_cap *= 2;
        int32_t *p = realloc(t->cache_ids, t->cache_ids_cap * sizeof(int32_t));
        if (!p) out_of_memory("growing the tokenizer cache");
        t->cache_ids = p;
    }
    // Cannot pass 4 GiB: the cache is cleared at CACHE_MAX_ENTRIES pieces of at most CACHE_MAX_PIECE bytes.
    bpe_map_put(&t->cache, piece, len, (uint32_t)t->cache_ids_len);
    t->cache_ids[t->cache_ids_len] = (int32_t)n;
    memcpy(t->cache_ids + t->cache_ids_len + 1, ids, n * sizeof(int32_t));
    t->cache_ids_len += n + 1;
}

static Status encode_piece(Tokenizer *t, const unsigned char *p, size_t len, TokenIds *out) {
    if (len == 1) {
        token_ids_push(out, (int32_t)t->byte_rank[p[0]]);
        return STATUS_OK;
    }
    uint32_t v;
    if (bpe_map_get(&t->ranks, p, len, &v)) {
        token_ids_push(out, (int32_t)v);
        return STATUS_OK;
    }
    int cacheable = len <= CACHE_MAX_PIECE;
    if (cacheable && bpe_map_get(&t->cache, p, len, &v)) {
        size_t n = (size_t)t->cache_ids[v];
        token_ids_reserve(out, n);
        memcpy(out->ids + out->len, t->cache_ids + v + 1, n * sizeof(int32_t));
        out->len += n;
        return STATUS_OK;
    }
    size_t before = out->len;
    TRY(bpe_merge(t, p, len, out));
    if (cacheable) cache_put(t, p, len, out->ids + before, out->len - before);
    return STATUS_OK;
}

Status tokenizer_encode(Tokenizer *t, const void *bytes, size_t len, TokenIds *out, size_t *invalid_out) {
    const unsigned char *s = bytes;
    size_t invalid = 0;
    if (t->is_byte) {
        token_ids_reserve(out, len);
        for (size_t i = 0; i < len; i++) out->ids[out->len++] = s[i];
        for (size_t i = 0; (i += utf8_first_invalid(s + i, len - i)) < len; i++) invalid++;
        if (invalid_out) *invalid_out = invalid;
        return STATUS_OK;
    }
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(t->md);
    size_t off = 0;
    while (off < len) {
        int rc = t->jit_stack ? pcre2_jit_match(t->re, s, len, off, 0, t->md, t->mctx)
                              : pcre2_match(t->re, s, len, off, 0, t->md, NULL);
        size_t ms, me;
        if (rc == PCRE2_ERROR_NOMATCH) {
            ms = me = len;
        } else if (rc < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof(msg));
            return fail(STATUS_INPUT, "pre-tokenization regex failed at byte %zu: %s", off, (char *)msg);
        } else {
            ms = ov[0];
            me = ov[1];
        }
        // Every valid character matches some alternative, so a gap before the
        // match is a run of invalid UTF-8: one pre-token of its raw bytes.
        if (ms > off) {
            TRY(encode_piece(t, s + off, ms - off, out));
            invalid += ms - off;
        }
        if (me > ms) TRY(encode_piece(t, s + ms, me - ms, out));
        off = me;
    }
    if (invalid_out) *invalid_out = invalid;
    return STATUS_OK;
}

Status tokenizer_load_for_model(const char *spec, int vocab_size, Tokenizer **out) {
    if (!spec || !*spec) {
        if (vocab_size == 257) spec = "byte";
        else if (vocab_size == 50257) spec = "gpt2";
        else
            return fail(STATUS_INPUT,
                        "cannot tell the tokenizer of a model with vocabulary %d: set tokenizer=gpt2|byte|PATH",
                        vocab_size);
    }
    TRY(tokenizer_load(spec, out));
    if (tokenizer_vocab_size(*out) <= vocab_size) return STATUS_OK;
    Status s = fail(STATUS_INPUT, "tokenizer '%s' has %d tokens but the model's vocabulary has %d", spec,
                    tokenizer_vocab_size(*out), vocab_size);
    tokenizer_free(*out);
    *out = NULL;
    return s;
}
