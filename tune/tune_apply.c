#include <stdlib.h>
#include <string.h>

#include "peak.h"
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

// best.gemm_cl as tune_apply last read it, for tune_apply_gemm_cl (which runs
// once Ops exists), so the database is read, and warned about, once.
static cJSON *applied_gemm_cl;
static cl_device_id applied_device;

// best.kernels: {"LN_WG": 64, ...}, our kernels' tunables by define name (kernel_params.h).
static KernelParams apply_kernel_params(const Device *dev, const cJSON *kernels) {
    KernelParams def = kernel_params_default(dev), p = def;
    const cJSON *x;
    cJSON_ArrayForEach(x, kernels) {
        int id = kernel_param_find(x->string);
        if (id < 0 || !cJSON_IsNumber(x)) {
            warn("tuning database: ignoring unknown kernel parameter '%s'", x->string);
            continue;
        }
        p.v[id] = x->valueint;
    }
    const char *bad;
    if (!kernel_params_valid(&p, dev, &bad)) {
        warn("tuning database: kernel parameter %s is illegal on this device; using the default kernel parameters",
             bad);
        return def;
    }
    return p;
}

KernelParams tune_apply(const Device *dev, FILE *out) {
    cJSON_Delete(applied_gemm_cl);
    applied_gemm_cl = NULL;
    KernelParams kp = kernel_params_default(dev);
    const char *env = getenv("GPT2CL_TUNE");
    if (env && !strcmp(env, "0")) {
        fprintf(out, "tuned: off (GPT2CL_TUNE=0)\n");
        return kp;
    }
    TuneDb db;
    int found = tune_db_load(&db, dev);
    const cJSON *best = found ? tune_db_best(&db) : NULL;
    if (!best) {
        fprintf(out, "tuned: no, run gpt2cl tune\n");
        tune_db_free(&db);
        return kp;
    }
    const cJSON *clblast = cJSON_GetObjectItemCaseSensitive(best, "clblast"), *k;
    cJSON_ArrayForEach(k, clblast) apply_kernel(dev, k, k->string);
    kp = apply_kernel_params(dev, cJSON_GetObjectItemCaseSensitive(best, "kernels"));
    const cJSON *ours_list = cJSON_GetObjectItemCaseSensitive(best, "gemm_cl");
    applied_gemm_cl = ours_list ? cJSON_Duplicate(ours_list, 1) : NULL;
    applied_device = dev->device;
    int ours = cJSON_GetArraySize(ours_list);
    int ours_all = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(ours_list, 0), "all"));
    const cJSON *date = cJSON_GetObjectItemCaseSensitive(best, "date");
    const cJSON *d0 = cJSON_GetObjectItemCaseSensitive(best, "gemm_ms_default");
    const cJSON *d1 = cJSON_GetObjectItemCaseSensitive(best, "gemm_ms_tuned");
    const cJSON *k0 = cJSON_GetObjectItemCaseSensitive(best, "kernels_ms_default");
    const cJSON *k1 = cJSON_GetObjectItemCaseSensitive(best, "kernels_ms_tuned");
    char gain[96] = "";
    int used = 0;
    if (cJSON_IsNumber(d0) && cJSON_IsNumber(d1) && d1->valuedouble > 0)
        used = snprintf(gain, sizeof gain, ", GEMMs %.2fx vs defaults", d0->valuedouble / d1->valuedouble);
    if (cJSON_IsNumber(k0) && cJSON_IsNumber(k1) && k1->valuedouble > 0)
        snprintf(gain + used, sizeof gain - (size_t)used, ", our kernels %.2fx", k0->valuedouble / k1->valuedouble);
    char mix[64] = "";
    if (ours_all) snprintf(mix, sizeof mix, ", our GEMM on every shape");
    else if (ours > 0) snprintf(mix, sizeof mix, ", our GEMM on %d shape(s)", ours);
    fprintf(out, "tuned: yes (%s%s%s)\n", cJSON_IsString(date) ? date->valuestring : "undated", gain, mix);
    tune_db_free(&db);
    return kp;
}

static int json_int(const cJSON *o, const char *name, int *ok) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsNumber(x) || x->valuedouble < 0) *ok = 0;
    return cJSON_IsNumber(x) ? x->valueint : 0;
}

static size_t json_size(const cJSON *o, const char *name, int *ok) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsNumber(x) || x->valuedouble < 0) *ok = 0;
    return cJSON_IsNumber(x) && x->valuedouble >= 0 ? (size_t)x->valuedouble : 0;
}

// best.gemm_cl: [{"trans_a", "trans_b", "m", "n", "k", "lda", "ldb", "ldc", "stride_a", "stride_b",
// "stride_c", "batch", "VW", "TM", "TN", "WG0", "WG1", ...}], or one entry {"all": true, "VW", ...}
// that sends every GEMM through our kernel (for testing).
int tune_apply_gemm_cl(const Device *dev, Ops *ops) {
    if (!applied_gemm_cl || applied_device != dev->device) return 0;  // tune_apply found nothing for dev
    const cJSON *e;
    int applied = 0;
    cJSON_ArrayForEach(e, applied_gemm_cl) {
        int ok = 1;
        GemmParams p = {.vw = json_int(e, "VW", &ok), .tm = json_int(e, "TM", &ok), .tn = json_int(e, "TN", &ok),
                        .wg0 = json_int(e, "WG0", &ok), .wg1 = json_int(e, "WG1", &ok)};
        int all = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "all"));
        GemmShape s = {0};
        if (!all)
            s = (GemmShape){.trans_a = json_int(e, "trans_a", &ok), .trans_b = json_int(e, "trans_b", &ok),
                            .m = json_size(e, "m", &ok), .n = json_size(e, "n", &ok), .k = json_size(e, "k", &ok),
                            .lda = json_size(e, "lda", &ok), .ldb = json_size(e, "ldb", &ok),
                            .ldc = json_size(e, "ldc", &ok), .stride_a = json_size(e, "stride_a", &ok),
                            .stride_b = json_size(e, "stride_b", &ok), .stride_c = json_size(e, "stride_c", &ok),
                            .batch = json_size(e, "batch", &ok)};
        if (ok && ops_use_gemm_cl(ops, all ? NULL : &s, &p)) applied++;
        else warn("tuning database: a gemm_cl entry is malformed or illegal here; that shape stays with CLBlast");
    }
    return applied;
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

double tune_peak_flops(const Device *dev, FILE *out) {
    TuneDb db;
    tune_db_load(&db, dev);
    double flops = tune_db_peak(&db);
    if (flops <= 0) {
        flops = peak_measure_flops(dev);
        tune_db_set_peak(&db, flops);
        if (!db.not_a_file) tune_db_save(&db);
        fprintf(out, "peak: %.1f GFLOP/s FP32 (measured now, kept in the tuning database)\n", flops / 1e9);
    } else {
        fprintf(out, "peak: %.1f GFLOP/s FP32 (measured earlier)\n", flops / 1e9);
    }
    tune_db_free(&db);
    return flops;
}
