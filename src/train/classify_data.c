#include "train/classify_data.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "util/rng.h"
#include "util/util.h"

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

// Index of name in the sorted labels, or -1.
static int label_index(char *const *labels, int n, const char *name) {
    char *const *hit = bsearch(&name, labels, (size_t)n, sizeof *labels, cmp_str);
    return hit ? (int)(hit - labels) : -1;
}

// The sorted distinct labels of the lines' objects.
static void collect_labels(ClassifyData *d, cJSON **items, int n) {
    char **all = mallocCheck((size_t)n * sizeof *all);
    for (int i = 0; i < n; i++) all[i] = cJSON_GetObjectItemCaseSensitive(items[i], "label")->valuestring;
    qsort(all, (size_t)n, sizeof *all, cmp_str);
    d->labels = mallocCheck((size_t)n * sizeof *d->labels);
    for (int i = 0; i < n; i++)
        if (i == 0 || strcmp(all[i], all[i - 1])) d->labels[d->num_labels++] = strdup_check(all[i]);
    free(all);
}

// One example from a checked line object into row i.
static Status add_example(ClassifyData *d, int i, const cJSON *item, Tokenizer *tok, const char *what, int line) {
    const char *text = cJSON_GetObjectItemCaseSensitive(item, "text")->valuestring;
    const char *label = cJSON_GetObjectItemCaseSensitive(item, "label")->valuestring;
    d->label[i] = label_index(d->labels, d->num_labels, label);
    if (d->label[i] < 0)
        return fail(STATUS_INPUT, "%s line %d: label '%s' is not one of the %d labels of train_data", what, line,
                    label, d->num_labels);
    TokenIds ids = {0};
    Status s = tokenizer_encode(tok, text, strlen(text), &ids, NULL);
    if (!s && ids.len == 0) s = fail(STATUS_INPUT, "%s line %d: \"text\" is empty", what, line);
    const int eot = tokenizer_eot(tok), n = ids.len < (size_t)d->T ? (int)ids.len : d->T;
    for (int t = 0; !s && t < d->T; t++) d->tokens[(size_t)i * d->T + t] = t < n ? ids.ids[t] : eot;
    d->last[i] = n - 1;
    token_ids_free(&ids);
    return s;
}

// Parses each non-blank line into items (NULL-free), checking the two string fields.
static Status parse_lines(char *text, const char *what, cJSON ***items, int **lines, int *n) {
    int cap = 1, line = 0;
    for (const char *p = text; (p = strchr(p, '\n')); p++) cap++;  // at most one example per line
    *n = 0;
    *items = mallocCheck((size_t)cap * sizeof **items);
    *lines = mallocCheck((size_t)cap * sizeof **lines);
    for (char *p = text, *next; p && *p; p = next) {
        next = strchr(p, '\n');
        if (next) *next++ = '\0';
        line++;
        if (p[strspn(p, " \t\r")] == '\0') continue;
        cJSON *item = cJSON_Parse(p);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(item, "text"),
                    *l = cJSON_GetObjectItemCaseSensitive(item, "label");
        if (!cJSON_IsObject(item) || !cJSON_IsString(t) || !cJSON_IsString(l)) {
            cJSON_Delete(item);
            for (int i = 0; i < *n; i++) cJSON_Delete((*items)[i]);
            *n = 0;
            return fail(STATUS_INPUT, "%s line %d: expected a JSON object with string fields \"text\" and \"label\"",
                        what, line);
        }
        (*items)[*n] = item;
        (*lines)[(*n)++] = line;
    }
    return *n ? STATUS_OK : fail(STATUS_INPUT, "%s: no examples", what);
}

static Status load_examples(ClassifyData *d, char *text, const char *what, Tokenizer *tok,
                            const ClassifyData *labels_from) {
    cJSON **items;
    int *lines, n;
    Status s = parse_lines(text, what, &items, &lines, &n);
    if (!s && labels_from) {
        d->labels = labels_from->labels;
        d->num_labels = labels_from->num_labels;
        d->borrowed = 1;
    } else if (!s) {
        collect_labels(d, items, n);
        if (d->num_labels < 2) s = fail(STATUS_INPUT, "%s: a classification needs at least 2 labels", what);
    }
    if (!s) {
        d->n = n;
        d->tokens = mallocCheck((size_t)n * d->T * sizeof(int32_t));
        d->last = mallocCheck((size_t)n * sizeof(int32_t));
        d->label = mallocCheck((size_t)n * sizeof(int32_t));
        d->perm = mallocCheck((size_t)n * sizeof(int));
        d->perm_epoch = -1;
    }
    for (int i = 0; !s && i < n; i++) s = add_example(d, i, items[i], tok, what, lines[i]);
    for (int i = 0; i < n; i++) cJSON_Delete(items[i]);
    free(items);
    free(lines);
    return s;
}

Status classify_data_load(ClassifyData *d, const char *path, const char *what, Tokenizer *tok, int T,
                          const ClassifyData *labels_from) {
    memset(d, 0, sizeof *d);
    d->T = T;
    char *text;
    size_t len;
    TRY(read_user_file(path, what, &text, &len));
    Status s = strlen(text) == len ? load_examples(d, text, what, tok, labels_from)
                                   : fail(STATUS_INPUT, "%s '%s' holds a NUL byte", what, path);
    free(text);
    if (s) classify_data_free(d);
    return s;
}

void classify_data_free(ClassifyData *d) {
    if (!d->borrowed) labels_free(d->labels, d->num_labels);
    free(d->tokens);
    free(d->last);
    free(d->label);
    free(d->perm);
    memset(d, 0, sizeof *d);
}

int classify_data_order(ClassifyData *d, uint64_t seed, long long g) {
    const long long epoch = g / d->n;
    if (epoch != d->perm_epoch) {  // Fisher-Yates with the epoch's own seed
        Rng rng;
        rng_seed(&rng, seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(epoch + 1)));
        for (int i = 0; i < d->n; i++) d->perm[i] = i;
        for (int i = d->n - 1; i > 0; i--) {
            int j = (int)(rng_u64(&rng) % (uint64_t)(i + 1)), tmp = d->perm[i];
            d->perm[i] = d->perm[j];
            d->perm[j] = tmp;
        }
        d->perm_epoch = epoch;
    }
    return d->perm[g % d->n];
}

void classify_data_gather(const ClassifyData *d, const int *idx, int B, int *tokens, int *last, int *labels) {
    for (int b = 0; b < B; b++) {
        memcpy(tokens + (size_t)b * d->T, d->tokens + (size_t)idx[b] * d->T, (size_t)d->T * sizeof(int));
        last[b] = d->last[idx[b]];
        labels[b] = d->label[idx[b]];
    }
}

Status labels_save(const char *path, char *const *labels, int n) {
    cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "labels");
    if (!root || !arr) out_of_memory("labels.json");
    for (int i = 0; i < n; i++) {
        cJSON *s = cJSON_CreateString(labels[i]);
        if (!s) out_of_memory("labels.json");
        cJSON_AddItemToArray(arr, s);
    }
    char *text = cJSON_Print(root);
    if (!text) out_of_memory("labels.json");
    cJSON_Delete(root);
    size_t len = strlen(text);
    text[len] = '\n';  // cJSON_Print's NUL becomes the final newline
    Status s = write_file_atomic(path, text, len + 1);
    free(text);
    return s;
}

Status labels_load(const char *path, char ***labels, int *n) {
    char *text;
    size_t len;
    TRY(read_user_file(path, "labels", &text, &len));
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "labels");
    int count = cJSON_GetArraySize(arr), ok = cJSON_IsArray(arr) && count >= 2;
    char **out = ok ? mallocCheck((size_t)count * sizeof *out) : NULL;
    *n = 0;
    for (const cJSON *e = ok ? arr->child : NULL; e && ok; e = e->next) {
        ok = cJSON_IsString(e) && (*n == 0 || strcmp(out[*n - 1], e->valuestring) < 0);  // sorted, distinct
        if (ok) out[(*n)++] = strdup_check(e->valuestring);
    }
    cJSON_Delete(root);
    if (!ok) {
        labels_free(out, *n);
        return fail(STATUS_INPUT, "'%s' is not a labels file: expected {\"labels\": [at least 2 sorted strings]}",
                    path);
    }
    *labels = out;
    return STATUS_OK;
}

void labels_free(char **labels, int n) {
    for (int i = 0; labels && i < n; i++) free(labels[i]);
    free(labels);
}
