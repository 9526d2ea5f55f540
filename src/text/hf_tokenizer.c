#include "text/hf_tokenizer.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "text/bpe_internal.h"
#include "util/util.h"

// A token's bytes in GPT-2's byte-to-unicode alphabet, as UTF-8 (every code point is below U+0800).
static void token_string(const unsigned char *b, size_t n, char *out) {
    for (size_t i = 0; i < n; i++) {
        uint32_t cp = bpe_byte_code_point(b[i]);
        if (cp < 0x80) {
            *out++ = (char)cp;
        } else {
            *out++ = (char)(0xC0 | cp >> 6);
            *out++ = (char)(0x80 | (cp & 0x3F));
        }
    }
    *out = '\0';
}

static char *vocab_json(const Tokenizer *t) {
    cJSON *root = cJSON_CreateObject();
    if (!root) out_of_memory("for vocab.json");
    char *s = NULL;
    size_t cap = 0;
    for (int id = 0; id < tokenizer_vocab_size(t); id++) {
        size_t n;
        const unsigned char *b = tokenizer_decode(t, id, &n);
        if (2 * n + 1 > cap) {
            cap = 2 * n + 64;
            free(s);
            s = mallocCheck(cap);
        }
        if (id == tokenizer_eot(t)) strcpy(s, "<|endoftext|>");
        else token_string(b, n, s);
        if (!cJSON_AddNumberToObject(root, s, id)) out_of_memory("for vocab.json");
    }
    free(s);
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text) out_of_memory("for vocab.json");
    return text;
}

// Byte-pair encodes b[0..n) with the ranks below limit (a piece is [start[i], start[i+1])); returns the count
// of pieces left, their starts in start.
static int merge_below(const Tokenizer *t, const unsigned char *b, size_t n, uint32_t limit, size_t *start) {
    size_t k = n;
    for (size_t i = 0; i <= n; i++) start[i] = i;
    for (;;) {
        uint32_t best = limit, r;
        size_t at = 0;
        for (size_t i = 0; i + 1 < k; i++)
            if (bpe_map_get(&t->ranks, b + start[i], start[i + 2] - start[i], &r) && r < best) {
                best = r;
                at = i;
            }
        if (best == limit) return (int)k;
        memmove(start + at + 1, start + at + 2, (k - at - 1) * sizeof *start);
        k--;
    }
}

// merges.txt: "#version: 0.2", then "A B" for each token of two or more bytes, by rank.
static Status merges_txt(const Tokenizer *t, char **out) {
    size_t cap = 1 << 20, len = 0;
    char *text = mallocCheck(cap);
    len += (size_t)sprintf(text, "#version: 0.2\n");
    for (int id = 0; id < t->n_ranks; id++) {
        size_t n;
        const unsigned char *b = tokenizer_decode(t, id, &n);
        if (n < 2) continue;
        size_t *start = mallocCheck((n + 1) * sizeof *start);
        int pieces = merge_below(t, b, n, (uint32_t)id, start);
        if (len + 4 * n + 8 > cap) text = realloc(text, cap = 2 * cap + 4 * n);
        if (!text) out_of_memory("for merges.txt");
        if (pieces == 2) {
            token_string(b, start[1], text + len);
            len += strlen(text + len);
            text[len++] = ' ';
            token_string(b + start[1], n - start[1], text + len);
            len += strlen(text + len);
            text[len++] = '\n';
        }
        free(start);
        if (pieces != 2) {
            free(text);
            return fail(STATUS_INPUT,
                        "tokenizer '%s': token %d is not the merge of two tokens of lower rank, so it has no "
                        "merges.txt form",
                        tokenizer_name(t), id);
        }
    }
    text[len] = '\0';
    *out = text;
    return STATUS_OK;
}

static char *config_json(int model_max_length) {
    cJSON *root = cJSON_CreateObject();
    if (!root) out_of_memory("for tokenizer_config.json");
    cJSON_AddFalseToObject(root, "add_prefix_space");
    cJSON_AddStringToObject(root, "bos_token", "<|endoftext|>");
    cJSON_AddStringToObject(root, "eos_token", "<|endoftext|>");
    cJSON_AddNumberToObject(root, "model_max_length", model_max_length);
    cJSON_AddStringToObject(root, "tokenizer_class", "GPT2Tokenizer");
    cJSON_AddStringToObject(root, "unk_token", "<|endoftext|>");
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) out_of_memory("for tokenizer_config.json");
    return text;
}

Status tokenizer_hf_files(const Tokenizer *t, int model_max_length, char **vocab, char **merges, char **config) {
    *merges = NULL;
    if (t->is_byte) {
        *merges = strdup_check("#version: 0.2\n");  // 256 byte tokens, no merges
    } else {
        TRY(merges_txt(t, merges));
    }
    *vocab = vocab_json(t);
    *config = config_json(model_max_length);
    return STATUS_OK;
}
