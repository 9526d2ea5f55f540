// libFuzzer target: the tuning-database reader (src/runtime/tune_db.c, the field
// checks of src/runtime/tune_db_check.c) and what applies it at start-up
// (src/runtime/tune_apply.c), on the real default OpenCL device. The input is a
// database's JSON text; its "format" and "key" are set to this device's, so
// that every input reaches the field checks (type confusion: arrays for
// objects, strings for numbers, fractions, huge values). Nothing may crash,
// and after the checks the shapes the readers rely on must hold.
#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/cl_device.h"
#include "runtime/tune_apply.h"
#include "runtime/tune_db.h"
#include "util/util.h"

static Device dev;
static TuneDb fresh;  // this device's key and the database's path
static FILE *devnull;
static char dir[] = "/tmp/gpt2cl_fuzz_tune_db_XXXXXX";  // a cache folder of its own, never the user's

static void remove_dir(void) {
    unlink(fresh.path);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    if (!mkdtemp(dir)) abort();
    setenv("GPT2CL_CACHE_DIR", dir, 1);
    atexit(remove_dir);
    if (device_open(&dev, "", 0)) abort();
    tune_db_load(&fresh, &dev);
    devnull = fopen("/dev/null", "w");
    return 0;
}

static void require(int ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "after tune_db_check: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cJSON *root = cJSON_ParseWithLength((const char *)data, size);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return 0;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(root, "format");
    cJSON_DeleteItemFromObjectCaseSensitive(root, "key");
    cJSON_AddNumberToObject(root, "format", TUNE_DB_FORMAT);
    cJSON_AddStringToObject(root, "key", fresh.key);
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text) return 0;
    FILE *f = fopen(fresh.path, "w");
    if (!f) abort();
    fputs(text, f);
    fclose(f);
    cJSON_free(text);

    TuneDb db;
    if (tune_db_load(&db, &dev)) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(db.root, "measurements"), *w, *e, *x;
        require(cJSON_IsObject(m), "measurements is an object");
        cJSON_ArrayForEach(w, m) {
            require(cJSON_IsObject(w), "each workload is an object");
            cJSON_ArrayForEach(e, w) require(cJSON_IsObject(e) && e->string, "each measurement is a named object");
        }
        const cJSON *best = tune_db_best(&db);
        cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(best, "kernels"))
            require(x->string && cJSON_IsNumber(x) && x->valuedouble == floor(x->valuedouble), "kernels are integers");
        cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(best, "clblast"))
            require(x->string && cJSON_IsObject(x), "clblast holds named objects");
        x = cJSON_GetObjectItemCaseSensitive(best, "gemm_cl");
        require(!x || cJSON_IsArray(x), "gemm_cl is an array");
    }
    tune_db_free(&db);
    Tuned tuned;
    tuned_load(&tuned, &dev, TUNE_DATABASE, devnull);  // reads it again and applies it: CLBlast overrides, kernel parameters
    unlink(fresh.path);
    return 0;
}
