#include <stdlib.h>
#include <string.h>

#include "tune.h"
#include "tune_db.h"
#include "util.h"

static int apply_kernel(const Device *dev, const cJSON *params, const char *kernel) {
    int n = cJSON_GetArraySize(params);
    if (n <= 0) return 1;
    const char **names = mallocCheck((size_t)n * sizeof *names);
    size_t *values = mallocCheck((size_t)n * sizeof *values);
    int i = 0, ok = 1;
    const cJSON *p;
    cJSON_ArrayForEach(p, params) {
        if (!cJSON_IsNumber(p) || p->valuedouble < 0) ok = 0;
        names[i] = p->string;
        values[i++] = ok ? (size_t)p->valuedouble : 0;
    }
    CLBlastStatusCode st = ok ? CLBlastOverrideParameters(dev->device, kernel, CLBlastPrecisionSingle, (size_t)n,
                                                          names, values)
                              : CLBlastInvalidValue;
    if (st != CLBlastSuccess)
        warn("tuning database: CLBlast rejected the %s parameters (%s); using its defaults for %s", kernel,
             clblast_error_name(st), kernel);
    free(names);
    free(values);
    return st == CLBlastSuccess;
}

size_t tune_apply(const Device *dev, FILE *out) {
    const char *env = getenv("GPT2CL_TUNE");
    if (env && !strcmp(env, "0")) {
        fprintf(out, "tuned: off (GPT2CL_TUNE=0)\n");
        return 0;
    }
    TuneDb db;
    int found = tune_db_load(&db, dev);
    const cJSON *best = found ? tune_db_best(&db) : NULL;
    if (!best) {
        fprintf(out, "tuned: no, run gpt2cl tune\n");
        tune_db_free(&db);
        return 0;
    }
    const cJSON *clblast = cJSON_GetObjectItemCaseSensitive(best, "clblast"), *k;
    cJSON_ArrayForEach(k, clblast) apply_kernel(dev, k, k->string);
    size_t wg = 0;
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(best, "kernels"), "WG");
    if (cJSON_IsNumber(w) && w->valueint > 0 && (size_t)w->valueint <= dev->max_wg) wg = (size_t)w->valueint;
    const cJSON *date = cJSON_GetObjectItemCaseSensitive(best, "date");
    const cJSON *d0 = cJSON_GetObjectItemCaseSensitive(best, "gemm_ms_default");
    const cJSON *d1 = cJSON_GetObjectItemCaseSensitive(best, "gemm_ms_tuned");
    char gain[64] = "";
    if (cJSON_IsNumber(d0) && cJSON_IsNumber(d1) && d1->valuedouble > 0)
        snprintf(gain, sizeof gain, ", GEMMs %.2fx vs defaults", d0->valuedouble / d1->valuedouble);
    fprintf(out, "tuned: yes (%s%s)\n", cJSON_IsString(date) ? date->valuestring : "undated", gain);
    tune_db_free(&db);
    return wg;
}

int tune_available(const char *selector) {
    const char *env = getenv("GPT2CL_TUNE");
    if (env && !strcmp(env, "0")) return 0;
    Device dev;
    device_open(&dev, selector, 0);
    TuneDb db;
    int ok = tune_db_load(&db, &dev) && tune_db_best(&db);
    tune_db_free(&db);
    device_close(&dev);
    return ok;
}
