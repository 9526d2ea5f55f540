#include "runtime/tune_db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/tune_db_check.h"
#include "util/util.h"

unsigned long long tune_hash(unsigned long long h, const void *data, size_t n) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static unsigned long long hash_str(unsigned long long h, const char *s) { return tune_hash(h, s, strlen(s) + 1); }

Status tune_db_path(const Device *dev, char *path, size_t n) {
    const char *cache;
    path[0] = '\0';
    TRY(gpt2cl_cache_dir(&cache));
    // The file is found by the device alone; the driver is checked inside, so
    // a driver update is reported as stale rather than silently missed.
    unsigned long long h = hash_str(hash_str(hash_str(TUNE_HASH_INIT, dev->platform_name), dev->name), dev->vendor);
    char name[64];
    size_t j = 0;
    for (const char *s = dev->name; *s && j < sizeof name - 1; s++)
        name[j++] = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ? *s : '_';
    name[j] = '\0';
    snprintf(path, n, "%s/tune-%s-%016llx.json", cache, name, h);
    return STATUS_OK;
}

static void device_key(const Device *dev, char key[17]) {
    unsigned long long h = TUNE_HASH_INIT;
    const char *parts[] = {dev->platform_name, dev->name, dev->vendor, dev->driver_version, dev->cl_version};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) h = hash_str(h, parts[i]);
    snprintf(key, 17, "%016llx", h);
}

static cJSON *fresh_root(const Device *dev, const char *key) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "format", TUNE_DB_FORMAT);
    cJSON_AddStringToObject(root, "key", key);
    cJSON *d = cJSON_AddObjectToObject(root, "device");
    cJSON_AddStringToObject(d, "platform", dev->platform_name);
    cJSON_AddStringToObject(d, "name", dev->name);
    cJSON_AddStringToObject(d, "vendor", dev->vendor);
    cJSON_AddStringToObject(d, "driver_version", dev->driver_version);
    cJSON_AddStringToObject(d, "opencl_version", dev->cl_version);
    cJSON_AddObjectToObject(root, "measurements");
    if (!root || !d) out_of_memory("building the tuning database");
    return root;
}

static const char *str_item(const cJSON *o, const char *name) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(it) ? it->valuestring : NULL;
}

// "tune-<name>-<hash>.json", a database's file name (its temporaries are ours to clean up).
static int tune_file_name(const char *name, const void *ctx) {
    (void)ctx;
    size_t n = strlen(name);
    return !strncmp(name, "tune-", 5) && n > 10 && !strcmp(name + n - 5, ".json");
}

int tune_db_load(TuneDb *db, const Device *dev) {
    memset(db, 0, sizeof *db);
    device_key(dev, db->key);
    int ok = 0;
    if (tune_db_path(dev, db->path, sizeof db->path)) {
        warn("%s; no tuning database is read", status_message());
    } else {
        static int cleaned;
        const char *cache;
        if (!cleaned++ && !gpt2cl_cache_dir(&cache)) remove_stale_temporaries(cache, tune_file_name, NULL);
    }
    if (db->path[0] && file_exists(db->path)) {
        char why[256];
        char *text = try_read_file(db->path, NULL, why, sizeof why);
        cJSON *root = text ? cJSON_Parse(text) : NULL;
        free(text);
        const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
        const cJSON *dv = cJSON_GetObjectItemCaseSensitive(root, "device");
        const char *key = str_item(root, "key");
        if (!text) {
            db->not_a_file = 1;
            warn("tuning database '%s' cannot be read (%s); ignored", db->path, why);
        } else if (!root || !cJSON_IsObject(root) || !cJSON_IsNumber(fmt) || fmt->valueint != TUNE_DB_FORMAT || !key ||
            !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(root, "measurements"))) {
            warn("tuning database '%s' is corrupt or of another format; ignored (`gpt2cl tune` rewrites it)", db->path);
        } else if (strcmp(key, db->key) != 0) {
            const char *drv = str_item(dv, "driver_version"), *clv = str_item(dv, "opencl_version");
            warn("tuning database '%s' was made for driver '%s' (%s), the device now reports '%s' (%s); ignored "
                 "(run `gpt2cl tune` again)",
                 db->path, drv ? drv : "?", clv ? clv : "?", dev->driver_version, dev->cl_version);
        } else {
            tune_db_check(root, dev);
            db->root = root;
            root = NULL;
            ok = 1;
        }
        cJSON_Delete(root);
    }
    if (!db->root) db->root = fresh_root(dev, db->key);
    return ok;
}

Status tune_db_save(const TuneDb *db) {
    const char *cache;
    TRY(gpt2cl_cache_dir(&cache));
    if (db->not_a_file)
        return fail(STATUS_IO, "cannot write the tuning database '%s': something other than a file is there",
                    db->path);
    char *text = cJSON_Print(db->root);
    if (!text) out_of_memory("writing the tuning database");
    Status s = make_dirs(cache);
    if (!s) s = write_file_atomic(db->path, text, strlen(text));
    cJSON_free(text);
    return s;
}

void tune_db_free(TuneDb *db) {
    cJSON_Delete(db->root);
    db->root = NULL;
}

double tune_db_peak(const TuneDb *db) {
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(db->root, "peak_flops");
    return cJSON_IsNumber(p) && p->valuedouble > 0 ? p->valuedouble : 0;
}

void tune_db_set_peak(TuneDb *db, double flops) {
    cJSON_DeleteItemFromObjectCaseSensitive(db->root, "peak_flops");
    if (!cJSON_AddNumberToObject(db->root, "peak_flops", flops)) out_of_memory("building the tuning database");
}

cJSON *tune_db_find(const TuneDb *db, const char *workload, const char *id) {
    cJSON *m = cJSON_GetObjectItemCaseSensitive(db->root, "measurements");
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, workload), id);
}

void tune_db_record(TuneDb *db, const char *workload, const char *id, double ms, const double *shape_ms, int nshapes) {
    cJSON *m = cJSON_GetObjectItemCaseSensitive(db->root, "measurements");
    cJSON *w = cJSON_GetObjectItemCaseSensitive(m, workload);
    if (!w) w = cJSON_AddObjectToObject(m, workload);
    cJSON *e = cJSON_CreateObject();
    if (!w || !e) out_of_memory("recording a tuning measurement");
    if (ms >= 0) cJSON_AddNumberToObject(e, "ms", ms);
    else cJSON_AddNullToObject(e, "ms");
    if (shape_ms) {
        cJSON *a = cJSON_AddArrayToObject(e, "shape_ms");
        for (int i = 0; i < nshapes; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(shape_ms[i]));
    }
    if (cJSON_GetObjectItemCaseSensitive(w, id)) cJSON_ReplaceItemInObjectCaseSensitive(w, id, e);
    else cJSON_AddItemToObject(w, id, e);
}

void tune_db_set_best(TuneDb *db, cJSON *best) {
    if (cJSON_GetObjectItemCaseSensitive(db->root, "best")) cJSON_ReplaceItemInObjectCaseSensitive(db->root, "best", best);
    else cJSON_AddItemToObject(db->root, "best", best);
}

const cJSON *tune_db_best(const TuneDb *db) {
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(db->root, "best");
    return cJSON_IsObject(b) ? b : NULL;
}
