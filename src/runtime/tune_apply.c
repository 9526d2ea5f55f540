#include <stdlib.h>
#include <string.h>

#include "runtime/device_classes.h"
#include "runtime/peak.h"
#include "runtime/tune_apply.h"
#include "runtime/tune_db.h"
#include "util/util.h"

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

void tune_apply_clblast(const Device *dev, const cJSON *clblast) {
    const cJSON *k;
    cJSON_ArrayForEach(k, clblast) apply_kernel(dev, k, k->string);
}

// best.kernels: {"LN_WG": 64, ...}, our kernels' tunables by define name (kernel_params.h), over base.
static KernelParams apply_kernel_params(const Device *dev, const cJSON *kernels, KernelParams base) {
    KernelParams p = base;
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
        return base;
    }
    return p;
}

static int env_off(const char *name) {
    const char *v = getenv(name);
    return v && !strcmp(v, "0");
}

// "tuned: defaults for <class>" with the hint to tune, or "tuned: no".
static void print_untuned_line(const DeviceClass *c, const char *why, FILE *out) {
    if (!c) fprintf(out, "tuned: no (gpt2cl's generic defaults%s)\n", why);
    else
        fprintf(out, "tuned: defaults for %s%s; `gpt2cl tune --quick` tunes this device in about a minute%s%s%s\n",
                c->label, why, c->quick_gain ? " (measured: " : "", c->quick_gain ? c->quick_gain : "",
                c->quick_gain ? ")" : "");
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

// One entry of best.gemm_cl: {"trans_a", "trans_b", "m", "n", "k", "lda", "ldb", "ldc", "stride_a",
// "stride_b", "stride_c", "batch", "VW", "TM", "TN", "WG0", "WG1", "KC", ...} (a shape with "clblast": true
// and no parameters stays with CLBlast), or {"all": true, "VW", ...}, every GEMM through our kernel (for
// testing). 0 when a field is missing or negative.
static int read_route(const cJSON *e, GemmRoute *r) {
    int ok = 1, has_kc = 1;  // KC is absent in databases written before the k chunk existed: no chunks
    *r = (GemmRoute){.all = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "all")),
                     .clblast = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "clblast"))};
    if (!r->clblast)
        r->p = (GemmParams){.vw = json_int(e, "VW", &ok), .tm = json_int(e, "TM", &ok), .tn = json_int(e, "TN", &ok),
                            .wg0 = json_int(e, "WG0", &ok), .wg1 = json_int(e, "WG1", &ok),
                            .kc = json_int(e, "KC", &has_kc)};
    if (!r->all)
        r->s = (GemmShape){.trans_a = json_int(e, "trans_a", &ok), .trans_b = json_int(e, "trans_b", &ok),
                           .m = json_size(e, "m", &ok), .n = json_size(e, "n", &ok), .k = json_size(e, "k", &ok),
                           .lda = json_size(e, "lda", &ok), .ldb = json_size(e, "ldb", &ok),
                           .ldc = json_size(e, "ldc", &ok), .stride_a = json_size(e, "stride_a", &ok),
                           .stride_b = json_size(e, "stride_b", &ok), .stride_c = json_size(e, "stride_c", &ok),
                           .batch = json_size(e, "batch", &ok)};
    return ok;
}

// best.gemm_cl into t->routes, in order; a malformed entry (or one past the table) is skipped.
static void read_routes(Tuned *t, const cJSON *list) {
    const cJSON *e;
    cJSON_ArrayForEach(e, list) {
        if (t->num_routes < GEMM_LOG_MAX && read_route(e, &t->routes[t->num_routes])) t->num_routes++;
        else warn("tuning database: a gemm_cl entry is malformed or illegal here; that shape stays with CLBlast");
    }
}

void tuned_add_class_rules(Tuned *t, const DeviceClass *c) {
    for (int i = 0; i < c->ngemm && t->num_rules < GEMM_RULES_MAX; i++) t->rules[t->num_rules++] = c->gemm[i];
    t->class_label = c->label;
}

// ", GEMMs 1.23x vs defaults, our kernels 1.05x": best's measured gains, where it has them.
static void gain_text(const cJSON *best, char *gain, size_t n) {
    const cJSON *d0 = cJSON_GetObjectItemCaseSensitive(best, "gemm_ms_default");
    const cJSON *d1 = cJSON_GetObjectItemCaseSensitive(best, "gemm_ms_tuned");
    const cJSON *k0 = cJSON_GetObjectItemCaseSensitive(best, "kernels_ms_default");
    const cJSON *k1 = cJSON_GetObjectItemCaseSensitive(best, "kernels_ms_tuned");
    int used = 0;
    gain[0] = '\0';
    if (cJSON_IsNumber(d0) && cJSON_IsNumber(d1) && d1->valuedouble > 0)
        used = snprintf(gain, n, ", GEMMs %.2fx vs defaults", d0->valuedouble / d1->valuedouble);
    if (cJSON_IsNumber(k0) && cJSON_IsNumber(k1) && k1->valuedouble > 0)
        snprintf(gain + used, n - (size_t)used, ", our kernels %.2fx", k0->valuedouble / k1->valuedouble);
}

// "tuned: yes (<date>, <gains>, our GEMM on N shape(s))".
static void print_tuned_line(const cJSON *best, FILE *out) {
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(best, "gemm_cl"), *k;
    int ours = 0;  // shapes sent through our GEMM (an entry marked "clblast" keeps its shape with CLBlast)
    cJSON_ArrayForEach(k, list) ours += !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(k, "clblast"));
    int ours_all = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(list, 0), "all"));
    const cJSON *date = cJSON_GetObjectItemCaseSensitive(best, "date");
    char gain[96], mix[64] = "";
    gain_text(best, gain, sizeof gain);
    if (ours_all) snprintf(mix, sizeof mix, ", our GEMM on every shape");
    else if (ours > 0) snprintf(mix, sizeof mix, ", our GEMM on %d shape(s)", ours);
    fprintf(out, "tuned: yes (%s%s%s)\n", cJSON_IsString(date) ? date->valuestring : "undated", gain, mix);
}

// The device's FP32 peak into *peak: measured now, and the highest measurement kept in db (saved there
// when this one is higher). Measured at every start (half a second): a machine busy with other work reads
// low, so the database keeps the highest reading, which approaches the device's peak from below.
static Status record_peak(const Device *dev, TuneDb *db, FILE *out, double *peak) {
    double now;
    TRY(peak_measure_flops(dev, &now));
    double kept = tune_db_peak(db);
    if (now > kept) {
        tune_db_set_peak(db, now);
        if (!db->not_a_file && db->path[0]) TRY(tune_db_save(db));
        kept = now;
    }
    fprintf(out, "peak: %.1f GFLOP/s FP32 (the highest measured on this device; now %.1f)\n", kept / 1e9, now / 1e9);
    *peak = kept;
    return STATUS_OK;
}

// tuned_load, and with peak the FP32 peak, from one reading of the database.
static Status load(Tuned *t, const Device *dev, TuneLevel level, FILE *out, double *peak) {
    const char *why = "";
    if (level == TUNE_DATABASE && env_off("GPT2CL_TUNE")) level = TUNE_CLASS, why = ", GPT2CL_TUNE=0";
    if (level >= TUNE_CLASS && env_off("GPT2CL_CLASS_DEFAULTS")) level = TUNE_GENERIC, why = ", GPT2CL_CLASS_DEFAULTS=0";
    const DeviceClass *cls = level >= TUNE_CLASS ? device_class_find(dev) : NULL;
    *t = (Tuned){.kp = cls ? device_class_kernel_params(cls, dev) : kernel_params_default(dev)};
    TuneDb db;
    const int read_db = level == TUNE_DATABASE || peak;  // the peak is kept in the database whatever the level
    const int usable = read_db && tune_db_load(&db, dev);
    const cJSON *best = level == TUNE_DATABASE && usable ? tune_db_best(&db) : NULL;
    // A full tune measured CLBlast from its own defaults, so its best.clblast (empty where those won) replaces
    // the class's CLBlast parameters; a quick tune timed the class's, and keeps them beneath its own.
    const cJSON *baseline = cJSON_GetObjectItemCaseSensitive(best, "baseline");
    int quick = cJSON_IsString(baseline) && !strcmp(baseline->valuestring, TUNE_BASELINE_QUICK);
    if (cls && (!best || quick)) device_class_apply_clblast(cls, dev);
    if (!best) print_untuned_line(cls, why, out);
    else {
        tune_apply_clblast(dev, cJSON_GetObjectItemCaseSensitive(best, "clblast"));
        t->kp = apply_kernel_params(dev, cJSON_GetObjectItemCaseSensitive(best, "kernels"), t->kp);
        print_tuned_line(best, out);
        read_routes(t, cJSON_GetObjectItemCaseSensitive(best, "gemm_cl"));
    }
    if (cls) tuned_add_class_rules(t, cls);
    Status s = peak ? record_peak(dev, &db, out, peak) : STATUS_OK;
    if (read_db) tune_db_free(&db);
    return s;
}

void tuned_load(Tuned *t, const Device *dev, TuneLevel level, FILE *out) { (void)load(t, dev, level, out, NULL); }

Status tuned_load_with_peak(Tuned *t, const Device *dev, TuneLevel level, FILE *out, double *peak) {
    return load(t, dev, level, out, peak);
}

int tune_available(const char *selector) {
    const char *env = getenv("GPT2CL_TUNE");
    if (env && !strcmp(env, "0")) return 0;
    Device dev;
    if (device_open(&dev, selector, 0)) return 0;
    TuneDb db;
    int ok = tune_db_load(&db, &dev) && tune_db_best(&db);
    tune_db_free(&db);
    device_close(&dev);
    return ok;
}

