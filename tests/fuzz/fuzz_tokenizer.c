// libFuzzer target: the tokenizer (src/text/tokenizer.c, bpe_*.c). Input: a
// .tiktoken vocabulary, a NUL byte, then text; without a NUL, all of it is
// text. A vocabulary either loads or is refused with a reason (never a
// crash); the text is encoded with it (if it loaded), with the GPT-2
// vocabulary of the data folder (if there is one) and with the byte
// tokenizer, and must decode back to itself exactly, every id in range, also
// when cut into pieces where `prepare` cuts big documents. The text is also
// read as token ids, as `gpt2cl decode` reads them: parsed or refused, every id in range.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/token_ids_parse.h"
#include "text/tokenizer.h"
#include "util/util.h"

static Tokenizer *gpt2, *bytes;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    char path[4200];
    const char *data;
    if (gpt2cl_data_dir(&data)) abort();
    snprintf(path, sizeof path, "%s/gpt2.tiktoken", data);
    if (!file_exists(path))
        fprintf(stderr, "fuzz_tokenizer: no %s, fuzzing the byte tokenizer and fuzzed vocabularies only\n", path);
    else if (tokenizer_load("gpt2", &gpt2))
        abort();
    if (tokenizer_load("byte", &bytes)) abort();
    return 0;
}

static void round_trip(Tokenizer *t, const unsigned char *s, size_t len) {
    TokenIds ids = {0}, parts = {0};
    if (tokenizer_encode(t, s, len, &ids, NULL)) abort();
    size_t at = 0;
    for (size_t i = 0; i < ids.len; i++) {
        size_t n;
        const unsigned char *b = tokenizer_decode(t, ids.ids[i], &n);
        if (!b || ids.ids[i] == tokenizer_eot(t) || at + n > len || memcmp(s + at, b, n) != 0) {
            fprintf(stderr, "%s: id %d at byte %zu does not decode back\n", tokenizer_name(t), ids.ids[i], at);
            abort();
        }
        at += n;
    }
    if (at != len) abort();
    // Cut where prepare cuts a big document: the ids must not change.
    for (size_t pos = 0; pos < len;) {
        size_t end = tokenizer_split_point(s, len, pos + 1 + len / 3);
        if (end <= pos || end > len) abort();
        if (tokenizer_encode(t, s + pos, end - pos, &parts, NULL)) abort();
        pos = end;
    }
    if (parts.len != ids.len || memcmp(parts.ids, ids.ids, ids.len * sizeof(int32_t)) != 0) {
        fprintf(stderr, "%s: encoding in pieces differs\n", tokenizer_name(t));
        abort();
    }
    token_ids_free(&ids);
    token_ids_free(&parts);
}

static void parse_ids(const unsigned char *s, size_t len) {
    TokenIds ids = {0};
    if (!token_ids_parse((const char *)s, len, 257, &ids))
        for (size_t i = 0; i < ids.len; i++)
            if (ids.ids[i] < 0 || ids.ids[i] >= 257) abort();
    token_ids_free(&ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const unsigned char *nul = memchr(data, '\0', size);
    const unsigned char *text = nul ? nul + 1 : data;
    size_t len = nul ? size - (size_t)(text - data) : size;
    if (nul) {
        char err[600];
        err[0] = '\0';
        Tokenizer *t = tokenizer_from_tiktoken_text((const char *)data, (size_t)(nul - data), "fuzzed", err, sizeof err);
        if (t) {
            round_trip(t, text, len);
            tokenizer_free(t);
        } else if (!err[0]) {
            abort();
        }
    }
    if (gpt2) round_trip(gpt2, text, len);
    round_trip(bytes, text, len);
    parse_ids(text, len);
    return 0;
}
