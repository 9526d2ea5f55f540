#include "model/safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/half.h"
#include "util/util.h"

// Every dtype of the format, so that byte counts are checked even for tensors gpt2cl ignores.
static const struct {
    const char *name;
    int size;
    SafeDtype type;
} dtypes[] = {
    {"F32", 4, ST_F32},     {"F16", 2, ST_F16},     {"BF16", 2, ST_BF16},   {"F64", 8, ST_OTHER},
    {"I64", 8, ST_OTHER},   {"U64", 8, ST_OTHER},   {"I32", 4, ST_OTHER},   {"U32", 4, ST_OTHER},
    {"I16", 2, ST_OTHER},   {"U16", 2, ST_OTHER},   {"I8", 1, ST_OTHER},    {"U8", 1, ST_OTHER},
    {"BOOL", 1, ST_OTHER},  {"F8_E4M3", 1, ST_OTHER}, {"F8_E5M2", 1, ST_OTHER},
};

static int dtype_index(const char *name) {
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (!strcmp(dtypes[i].name, name)) return (int)i;
    return -1;
}

// A JSON number that is a non-negative integer below 2^53 (exact in a double), into *v.
static int json_uint(const cJSON *j, uint64_t *v) {
    if (!cJSON_IsNumber(j)) return 0;
    double d = j->valuedouble;
    if (!(d >= 0 && d < 9007199254740992.0) || d != floor(d)) return 0;
    *v = (uint64_t)d;
    return 1;
}

// The shape of one header entry into t (and t->count); 0 with the reason in err.
static int parse_shape(const cJSON *shape, SafeTensor *t, char *err, size_t n) {
    int nd = cJSON_GetArraySize(shape);
    if (!cJSON_IsArray(shape) || nd > SAFETENSORS_MAX_DIMS) {
        snprintf(err, n, "has a \"shape\" that is not a list of at most %d sizes", SAFETENSORS_MAX_DIMS);
        return 0;
    }
    t->ndim = 0;
    t->count = 1;
    for (const cJSON *d = shape->child; d; d = d->next) {
        uint64_t v;
        if (!json_uint(d, &v)) {
            snprintf(err, n, "has a \"shape\" entry that is not a non-negative integer");
            return 0;
        }
        if (v && t->count > SIZE_MAX / 16 / v) {
            snprintf(err, n, "has a shape too large to hold");
            return 0;
        }
        t->shape[t->ndim++] = (int64_t)v;
        t->count *= (size_t)v;
    }
    return 1;
}

// One tensor entry of the header, checked against the data section [data, data + data_size).
static int parse_entry(const cJSON *e, const unsigned char *data, size_t data_size, SafeTensor *t, char *err,
                       size_t n) {
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    uint64_t begin, end;
    if (!cJSON_IsObject(e) || !cJSON_IsString(dtype) || !cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2 ||
        !json_uint(offs->child, &begin) || !json_uint(offs->child->next, &end) || begin > end) {
        snprintf(err, n, "is not {\"dtype\": STRING, \"shape\": [...], \"data_offsets\": [BEGIN, END]}");
        return 0;
    }
    int di = dtype_index(dtype->valuestring);
    if (di < 0) {
        snprintf(err, n, "has unknown dtype '%.20s'", dtype->valuestring);
        return 0;
    }
    snprintf(t->dtype, sizeof t->dtype, "%s", dtypes[di].name);
    t->type = dtypes[di].type;
    if (!parse_shape(cJSON_GetObjectItemCaseSensitive(e, "shape"), t, err, n)) return 0;
    if (end > data_size) {
        snprintf(err, n, "has data_offsets [%llu, %llu] past the end of the data (%zu bytes)",
                 (unsigned long long)begin, (unsigned long long)end, data_size);
        return 0;
    }
    if (end - begin != (uint64_t)t->count * (uint64_t)dtypes[di].size) {
        snprintf(err, n, "holds %llu bytes but its shape and dtype %s need %zu", (unsigned long long)(end - begin),
                 t->dtype, t->count * (size_t)dtypes[di].size);
        return 0;
    }
    t->data = data + begin;
    return 1;
}

static int by_data(const void *a, const void *b) {
    const SafeTensor *x = a, *y = b;
    return x->data < y->data ? -1 : x->data > y->data;
}

static size_t tensor_bytes(const SafeTensor *t) { return t->count * (size_t)dtypes[dtype_index(t->dtype)].size; }

// No two tensors share a byte and no name repeats; sorts st->tensors by position.
static Status check_layout(SafeTensors *st) {
    for (int i = 0; i < st->count; i++)
        for (int k = i + 1; k < st->count; k++)
            if (!strcmp(st->tensors[i].name, st->tensors[k].name))
                return fail(STATUS_INPUT, "safetensors file '%s': tensor '%s' appears twice", st->path,
                            st->tensors[i].name);
    qsort(st->tensors, (size_t)st->count, sizeof *st->tensors, by_data);
    for (int i = 1; i < st->count; i++) {
        const SafeTensor *a = &st->tensors[i - 1], *b = &st->tensors[i];
        if (a->data + tensor_bytes(a) > b->data)
            return fail(STATUS_INPUT, "safetensors file '%s': tensors '%s' and '%s' overlap", st->path, a->name,
                        b->name);
    }
    return STATUS_OK;
}

// The tensors of the parsed header object into st.
static Status parse_entries(const cJSON *root, const unsigned char *data, size_t data_size, SafeTensors *st) {
    int n = cJSON_GetArraySize(root);
    st->tensors = callocCheck((size_t)n + 1, sizeof *st->tensors);
    char err[300];
    for (const cJSON *e = root->child; e; e = e->next) {
        if (!strcmp(e->string, "__metadata__")) {
            if (!cJSON_IsObject(e))
                return fail(STATUS_INPUT, "safetensors file '%s': \"__metadata__\" is not an object", st->path);
            continue;
        }
        SafeTensor *t = &st->tensors[st->count];
        if (!parse_entry(e, data, data_size, t, err, sizeof err))
            return fail(STATUS_INPUT, "safetensors file '%s': tensor '%.200s' %s", st->path, e->string, err);
        t->name = strdup_check(e->string);
        st->count++;
    }
    return check_layout(st);
}

Status safetensors_parse(const unsigned char *data, size_t size, const char *path, SafeTensors *st) {
    memset(st, 0, sizeof *st);
    st->path = strdup_check(path);
    if (size < 8) return fail(STATUS_INPUT, "safetensors file '%s' is too short to hold its header length", path);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | data[i];
    if (n > SAFETENSORS_MAX_HEADER)
        return fail(STATUS_INPUT, "safetensors file '%s' announces a header of %llu bytes, over the limit of %u", path,
                    (unsigned long long)n, SAFETENSORS_MAX_HEADER);
    if (n > size - 8)
        return fail(STATUS_INPUT,
                    "safetensors file '%s' announces a header of %llu bytes but holds %zu after the length: "
                    "truncated or not a safetensors file",
                    path, (unsigned long long)n, size - 8);
    cJSON *root = cJSON_ParseWithLength((const char *)data + 8, (size_t)n);
    Status s = STATUS_OK;
    if (!root || !cJSON_IsObject(root))
        s = fail(STATUS_INPUT, "safetensors file '%s': its header is not a JSON object", path);
    else s = parse_entries(root, data + 8 + n, size - 8 - (size_t)n, st);
    cJSON_Delete(root);
    return s;
}

Status safetensors_open(const char *path, SafeTensors *st) {
    FILE *f;
    TRY(open_user_file(path, "safetensors file", &f));
    long long size = file_size(f);
    void *map = size > 0 ? mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fileno(f), 0) : MAP_FAILED;
    int map_errno = errno;
    fclose(f);  // the mapping stays valid
    if (size <= 0) {
        memset(st, 0, sizeof *st);
        return fail(STATUS_INPUT, "safetensors file '%s' is empty", path);
    }
    if (map == MAP_FAILED) {
        memset(st, 0, sizeof *st);
        return fail(STATUS_IO, "cannot map safetensors file '%s': %s", path, strerror(map_errno));
    }
    posix_madvise(map, (size_t)size, POSIX_MADV_WILLNEED);  // read ahead: every byte is about to be used
    Status s = safetensors_parse(map, (size_t)size, path, st);
    st->map = map;
    st->map_size = (size_t)size;
    if (s) safetensors_close(st);
    return s;
}

void safetensors_close(SafeTensors *st) {
    for (int i = 0; i < st->count; i++) free(st->tensors[i].name);
    free(st->tensors);
    free(st->path);
    if (st->map) munmap(st->map, st->map_size);
    memset(st, 0, sizeof *st);
}

const SafeTensor *safetensors_find(const SafeTensors *st, const char *name) {
    for (int i = 0; i < st->count; i++)
        if (!strcmp(st->tensors[i].name, name)) return &st->tensors[i];
    return NULL;
}

void safetensor_to_f32(const SafeTensor *t, float *out) {
    if (t->type == ST_F32) {
        memcpy(out, t->data, t->count * sizeof(float));  // data may be unaligned
        return;
    }
    if (t->type != ST_F16 && t->type != ST_BF16) internal_error("safetensor_to_f32 of dtype %s", t->dtype);
    for (size_t i = 0; i < t->count; i++) {
        uint16_t h = (uint16_t)(t->data[2 * i] | t->data[2 * i + 1] << 8);
        out[i] = t->type == ST_BF16 ? bf16_to_f32(h) : f16_to_f32(h);
    }
}

// The JSON header for the tensors laid out one after the other in order.
static char *header_json(const SafeTensorOut *t, int n) {
    cJSON *root = cJSON_CreateObject(), *meta = cJSON_CreateObject();
    if (!root || !meta) out_of_memory("for a safetensors header");
    cJSON_AddStringToObject(meta, "format", "pt");
    cJSON_AddItemToObject(root, "__metadata__", meta);
    size_t offset = 0;
    for (int i = 0; i < n; i++) {
        cJSON *e = cJSON_CreateObject(), *shape = cJSON_CreateArray(), *offs = cJSON_CreateArray();
        if (!e || !shape || !offs) out_of_memory("for a safetensors header");
        cJSON_AddStringToObject(e, "dtype", t[i].dtype);
        for (int d = 0; d < t[i].ndim; d++) cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t[i].shape[d]));
        cJSON_AddItemToObject(e, "shape", shape);
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)offset));
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)(offset + t[i].bytes)));
        cJSON_AddItemToObject(e, "data_offsets", offs);
        cJSON_AddItemToObject(root, t[i].name, e);
        offset += t[i].bytes;
    }
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text) out_of_memory("for a safetensors header");
    return text;
}

void safetensors_serialize(const SafeTensorOut *t, int n, unsigned char **out, size_t *size) {
    char *json = header_json(t, n);
    size_t hlen = (strlen(json) + 7) / 8 * 8, data = 0;
    for (int i = 0; i < n; i++) data += t[i].bytes;
    unsigned char *buf = mallocCheck(8 + hlen + data);
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    memset(buf + 8, ' ', hlen);
    memcpy(buf + 8, json, strlen(json));
    free(json);
    unsigned char *p = buf + 8 + hlen;
    for (int i = 0; i < n; i++) {
        memcpy(p, t[i].data, t[i].bytes);
        p += t[i].bytes;
    }
    *out = buf;
    *size = 8 + hlen + data;
}
