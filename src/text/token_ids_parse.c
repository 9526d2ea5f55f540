#include "text/token_ids_parse.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/parse_num.h"
#include "util/util.h"

static int is_separator(char c) { return c == ' ' || c == ',' || c == '\t' || c == '\n' || c == '\r'; }

static Status id_out_of_range(double v, size_t index, int vocab_size) {
    return fail(STATUS_INPUT, "token id %.0f (number %zu) is out of the vocabulary: ids are 0 to %d", v, index + 1,
                vocab_size - 1);
}

static Status parse_json_array(const char *text, size_t len, int vocab_size, TokenIds *out) {
    cJSON *a = cJSON_ParseWithLength(text, len);
    Status s = STATUS_OK;
    if (!a || !cJSON_IsArray(a)) s = fail(STATUS_INPUT, "token ids start with '[' but are not a JSON array");
    size_t i = 0;
    for (const cJSON *e = a ? a->child : NULL; e && !s; e = e->next, i++) {
        double v = cJSON_IsNumber(e) ? e->valuedouble : 0.5;
        if (v != floor(v)) s = fail(STATUS_INPUT, "token id number %zu of the JSON array is not an integer", i + 1);
        else if (v < 0 || v >= vocab_size) s = id_out_of_range(v, i, vocab_size);
        else token_ids_push(out, (int32_t)v);
    }
    cJSON_Delete(a);
    return s;
}

Status token_ids_parse(const char *text, size_t len, int vocab_size, TokenIds *out) {
    size_t p = 0;
    while (p < len && is_separator(text[p])) p++;
    if (p < len && text[p] == '[') return parse_json_array(text + p, len - p, vocab_size, out);
    char word[32];
    for (size_t index = 0; p < len; index++) {
        size_t end = p;
        while (end < len && !is_separator(text[end])) end++;
        size_t n = end - p;
        snprintf(word, sizeof word, "%.*s", (int)(n < sizeof word - 1 ? n : sizeof word - 1), text + p);
        long long v;
        char why[200];
        if (n >= sizeof word - 1 || memchr(text + p, '\0', n) ||
            !parse_integer(word, -((long long)1 << 40), (long long)1 << 40, &v, why, sizeof why))
            return fail(STATUS_INPUT, "token id number %zu ('%s%s') is not an integer", index + 1, word,
                        n >= sizeof word - 1 ? "..." : "");
        if (v < 0 || v >= vocab_size) return id_out_of_range((double)v, index, vocab_size);
        token_ids_push(out, (int32_t)v);
        p = end;
        while (p < len && is_separator(text[p])) p++;
    }
    return STATUS_OK;
}
