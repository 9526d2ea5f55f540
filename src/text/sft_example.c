#include "text/sft_example.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

void mask_bytes_push(MaskBytes *m, unsigned char b) {
    if (m->len == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 256;
        unsigned char *p = realloc(m->bytes, cap);
        if (!p) out_of_memory("for %zu mask bytes", cap);
        m->bytes = p;
        m->cap = cap;
    }
    m->bytes[m->len++] = b;
}

void mask_bytes_free(MaskBytes *m) {
    free(m->bytes);
    memset(m, 0, sizeof *m);
}

// Appends the tokens of text (n bytes) with mask byte b each.
static Status append(Tokenizer *tok, const char *text, size_t n, unsigned char b, TokenIds *ids, MaskBytes *mask) {
    size_t before = ids->len;
    TRY(tokenizer_encode(tok, text, n, ids, NULL));
    for (size_t i = before; i < ids->len; i++) mask_bytes_push(mask, b);
    return STATUS_OK;
}

static const char *string_field(const cJSON *obj, const char *name) {
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(f) ? f->valuestring : NULL;
}

static Status encode_pair(Tokenizer *tok, const char *prompt, const char *completion, TokenIds *ids, MaskBytes *mask) {
    if (!completion[0]) return fail(STATUS_INPUT, "empty \"completion\": nothing to train on");
    TRY(append(tok, prompt, strlen(prompt), 0, ids, mask));
    return append(tok, completion, strlen(completion), MASK_TARGET, ids, mask);
}

static Status encode_messages(Tokenizer *tok, const cJSON *messages, TokenIds *ids, MaskBytes *mask) {
    if (!cJSON_IsArray(messages) || cJSON_GetArraySize(messages) == 0)
        return fail(STATUS_INPUT, "\"messages\" must be a non-empty array of {\"role\", \"content\"} objects");
    int i = 0, scored = 0;
    for (const cJSON *msg = messages->child; msg; msg = msg->next, i++) {
        const char *role = string_field(msg, "role"), *content = string_field(msg, "content");
        if (!cJSON_IsObject(msg) || !role || !content)
            return fail(STATUS_INPUT, "message %d has no string \"role\" and \"content\"", i + 1);
        if (!role[0]) return fail(STATUS_INPUT, "message %d has an empty \"role\"", i + 1);
        int assistant = strcmp(role, "assistant") == 0;
        if (assistant && !content[0]) return fail(STATUS_INPUT, "message %d: empty assistant \"content\"", i + 1);
        size_t n = strlen(role) + 2, m = strlen(content) + 3;
        char *head = mallocCheck(n), *body = mallocCheck(m);
        snprintf(head, n, "%s:", role);
        snprintf(body, m, " %s\n", content);
        Status s = append(tok, head, strlen(head), 0, ids, mask);
        if (!s) s = append(tok, body, strlen(body), assistant ? MASK_TARGET : 0, ids, mask);
        free(head);
        free(body);
        TRY(s);
        scored += assistant;
    }
    if (!scored) return fail(STATUS_INPUT, "no message with role \"assistant\": nothing to train on");
    return STATUS_OK;
}

// The example's first scored token must lie inside the context.
static Status check_context(const MaskBytes *mask, int context) {
    size_t first = 0;
    while (first < mask->len && !(mask->bytes[first] & MASK_TARGET)) first++;
    if (first > (size_t)context)
        return fail(STATUS_INPUT,
                    "the prompt is %zu tokens (with <|endoftext|>), longer than the context of %d tokens "
                    "(--context): no completion token would be trained on",
                    first, context);
    return STATUS_OK;
}

Status sft_example_encode(Tokenizer *tok, const char *line, size_t len, int context, TokenIds *ids,
                          MaskBytes *mask) {
    ids->len = 0;
    mask->len = 0;
    cJSON *obj = cJSON_ParseWithLength(line, len);
    if (!obj) return fail(STATUS_INPUT, "malformed JSON line");
    token_ids_push(ids, tokenizer_eot(tok));
    mask_bytes_push(mask, MASK_START);
    const char *prompt = string_field(obj, "prompt"), *completion = string_field(obj, "completion");
    const cJSON *messages = cJSON_GetObjectItemCaseSensitive(obj, "messages");
    Status s;
    if (!cJSON_IsObject(obj)) s = fail(STATUS_INPUT, "expected a JSON object");
    else if (prompt && completion) s = encode_pair(tok, prompt, completion, ids, mask);
    else if (messages) s = encode_messages(tok, messages, ids, mask);
    else
        s = fail(STATUS_INPUT,
                 "expected string fields \"prompt\" and \"completion\", or \"messages\": "
                 "[{\"role\", \"content\"}, ...]");
    cJSON_Delete(obj);
    return s ? s : check_context(mask, context);
}

char *mask_path_of(const char *shard_path) {
    size_t n = strlen(shard_path);
    size_t stem = n >= 4 && strcmp(shard_path + n - 4, ".bin") == 0 ? n - 4 : n;
    char *p = mallocCheck(stem + 6);
    memcpy(p, shard_path, stem);
    memcpy(p + stem, ".mask", 6);
    return p;
}
