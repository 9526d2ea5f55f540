#include "runtime/tune_db_check.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "runtime/kernel_params.h"
#include "runtime/tunables.h"
#include "util/util.h"

// Warnings past this many are counted, not printed: a mangled file must not flood the terminal.
#define MAX_WARNINGS 5

typedef struct {
    const Device *dev;
    int removed;
} Check;

static void report(Check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(Check *c, const char *fmt, ...) {
    if (++c->removed > MAX_WARNINGS) return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    warn("tuning database: %s", msg);
}

// A JSON number that is a whole number in [min, max].
static int integer_in(const cJSON *x, double min, double max) {
    return cJSON_IsNumber(x) && isfinite(x->valuedouble) && x->valuedouble == floor(x->valuedouble) &&
           x->valuedouble >= min && x->valuedouble <= max;
}

static int finite_number(const cJSON *x) { return cJSON_IsNumber(x) && isfinite(x->valuedouble); }

// Removes item from parent (by pointer: a name may appear twice in a JSON object).
static void drop(cJSON *parent, cJSON *item) { cJSON_Delete(cJSON_DetachItemViaPointer(parent, item)); }

static int named(const cJSON *item, const char *name) { return item->string && !strcmp(item->string, name); }

// measurements: {"<workload>": {"<kernel>|<params>": {"ms": number|null, "shape_ms": [numbers], "pruned": bool}}}
static void check_measurements(Check *c, cJSON *m) {
    cJSON *w = m->child;
    while (w) {
        cJSON *next_w = w->next;
        if (!cJSON_IsObject(w)) {
            report(c, "measurements[\"%s\"] is not an object; ignored (`gpt2cl tune` measures it again)", w->string);
            drop(m, w);
            w = next_w;
            continue;
        }
        cJSON *e = w->child;
        while (e) {
            cJSON *next_e = e->next;
            const cJSON *ms = cJSON_GetObjectItemCaseSensitive(e, "ms");
            const cJSON *shape_ms = cJSON_GetObjectItemCaseSensitive(e, "shape_ms");
            const cJSON *pruned = cJSON_GetObjectItemCaseSensitive(e, "pruned");
            int ok = cJSON_IsObject(e) && (cJSON_IsNull(ms) || (finite_number(ms) && ms->valuedouble >= 0)) &&
                     (!pruned || cJSON_IsBool(pruned)) && (!shape_ms || cJSON_IsArray(shape_ms));
            const cJSON *x;
            if (ok && shape_ms) cJSON_ArrayForEach(x, shape_ms) ok = ok && finite_number(x);
            if (!ok) {
                report(c, "measurements[\"%s\"][\"%s\"] is malformed; ignored", w->string, e->string);
                drop(w, e);
            }
            e = next_e;
        }
        w = next_w;
    }
}

// best.clblast.<kernel>: exactly the parameters of the tuner's space s, each one of its values, legal together.
static int clblast_params_ok(Check *c, const TuneSpace *s, const cJSON *o) {
    if (!cJSON_IsObject(o) || cJSON_GetArraySize(o) != s->nparams) {
        report(c, "best.clblast.%s is not an object of the %d %s parameters; CLBlast's defaults are used for %s",
               s->kernel, s->nparams, s->kernel, s->kernel);
        return 0;
    }
    int v[TUNE_MAX_PARAMS];
    for (int i = 0; i < s->nparams; i++) {
        const TuneParam *p = &s->params[i];
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, p->name);
        int known = 0;
        for (int k = 0; integer_in(x, 0, 1 << 30) && k < p->nvalues; k++) known |= p->values[k] == x->valueint;
        if (!known) {
            report(c, "best.clblast.%s.%s is missing or not one of the values the tuner uses; CLBlast's defaults "
                      "are used for %s",
                   s->kernel, p->name, s->kernel);
            return 0;
        }
        v[i] = x->valueint;
    }
    if (!s->valid(v, c->dev)) {
        report(c, "best.clblast.%s holds an illegal combination for this device; CLBlast's defaults are used for %s",
               s->kernel, s->kernel);
        return 0;
    }
    return 1;
}

static void check_clblast(Check *c, cJSON *best, cJSON *clb) {
    if (!cJSON_IsObject(clb)) {
        report(c, "best.clblast is not an object; CLBlast's defaults are used");
        drop(best, clb);
        return;
    }
    cJSON *k = clb->child;
    while (k) {
        cJSON *next = k->next;
        int ok;
        if (!strcmp(k->string, tune_space_xgemm.kernel)) ok = clblast_params_ok(c, &tune_space_xgemm, k);
        else if (!strcmp(k->string, tune_space_xgemm_direct.kernel)) ok = clblast_params_ok(c, &tune_space_xgemm_direct, k);
        else if (!strcmp(k->string, "GemmRoutine")) {
            ok = cJSON_IsObject(k) && cJSON_GetArraySize(k) == 1 &&
                 integer_in(cJSON_GetObjectItemCaseSensitive(k, "XGEMM_MIN_INDIRECT_SIZE"), 0, 1e15);
            if (!ok) report(c, "best.clblast.GemmRoutine is not {\"XGEMM_MIN_INDIRECT_SIZE\": n}; CLBlast's default is used");
        } else {
            ok = 0;
            report(c, "best.clblast.%s is not a kernel the tuner sets; ignored", k->string);
        }
        if (!ok) drop(clb, k);
        k = next;
    }
}

// best.kernels: {"<define>": integer}. Unknown names and illegal combinations are
// tuned_load's to report (kernel_params_valid); a value that is no integer at all makes the set unusable.
static void check_kernels(Check *c, cJSON *best, cJSON *kernels) {
    const cJSON *x;
    int ok = cJSON_IsObject(kernels);
    if (ok) cJSON_ArrayForEach(x, kernels) {
            if (integer_in(x, 0, 1 << 30)) continue;
            report(c, "best.kernels.%s is not a whole number; the default kernel parameters are used", x->string);
            drop(best, kernels);
            return;
        }
    if (!ok) {
        report(c, "best.kernels is not an object; the default kernel parameters are used");
        drop(best, kernels);
    }
}

// best.gemm_cl: [{"VW", "TM", "TN", "WG0", "WG1", "KC", "all": true} or with the shape's fields, or
// {"clblast": true} with the shape's fields]. KC may be absent (databases from before it: no chunks).
static int gemm_cl_entry_ok(const Check *c, const cJSON *e) {
    if (!cJSON_IsObject(e)) return 0;
    const cJSON *clblast = cJSON_GetObjectItemCaseSensitive(e, "clblast");
    if (clblast && !cJSON_IsBool(clblast)) return 0;
    const TuneSpace *s = &tune_space_gemm_cl;
    int v[TUNE_MAX_PARAMS];
    for (int i = 0; !cJSON_IsTrue(clblast) && i < s->nparams; i++) {
        const TuneParam *p = &s->params[i];
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(e, p->name);
        int known = !x && !strcmp(p->name, "KC");
        v[i] = 0;
        for (int k = 0; integer_in(x, 0, 1 << 30) && k < p->nvalues; k++) known |= p->values[k] == x->valueint;
        if (!known) return 0;
        if (x) v[i] = x->valueint;
    }
    if (!cJSON_IsTrue(clblast) && !s->valid(v, c->dev)) return 0;
    const cJSON *all = cJSON_GetObjectItemCaseSensitive(e, "all");
    if (all && cJSON_IsTrue(clblast)) return 0;
    if (all) return cJSON_IsBool(all);
    static const char *const sizes[] = {"m", "n", "k", "lda", "ldb", "ldc", "stride_a", "stride_b", "stride_c", "batch"};
    int ok = integer_in(cJSON_GetObjectItemCaseSensitive(e, "trans_a"), 0, 1) &&
             integer_in(cJSON_GetObjectItemCaseSensitive(e, "trans_b"), 0, 1);
    for (size_t i = 0; ok && i < sizeof sizes / sizeof sizes[0]; i++)
        ok = integer_in(cJSON_GetObjectItemCaseSensitive(e, sizes[i]), 0, 1e15);
    return ok;
}

static void check_gemm_cl(Check *c, cJSON *best, cJSON *list) {
    if (!cJSON_IsArray(list)) {
        report(c, "best.gemm_cl is not an array; every GEMM stays with CLBlast");
        drop(best, list);
        return;
    }
    for (int i = cJSON_GetArraySize(list) - 1; i >= 0; i--)
        if (!gemm_cl_entry_ok(c, cJSON_GetArrayItem(list, i))) {
            report(c, "best.gemm_cl[%d] is malformed or illegal here; that shape stays with CLBlast", i);
            cJSON_DeleteItemFromArray(list, i);
        }
}

static void check_best(Check *c, cJSON *root, cJSON *best) {
    if (!cJSON_IsObject(best)) {
        report(c, "best is not an object; the defaults are used");
        drop(root, best);
        return;
    }
    static const char *const times[] = {"gemm_ms_default", "gemm_ms_tuned", "kernels_ms_default", "kernels_ms_tuned"};
    cJSON *x = best->child;
    while (x) {  // every member, so a name given twice is checked both times
        cJSON *next = x->next;
        int time = 0;
        for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) time |= named(x, times[i]);
        if ((named(x, "date") || named(x, "workload")) && !cJSON_IsString(x)) {
            report(c, "best.%s is not a string; ignored", x->string);
            drop(best, x);
        } else if (time && !(finite_number(x) && x->valuedouble >= 0)) {
            report(c, "best.%s is not a time in ms; ignored", x->string);
            drop(best, x);
        } else if (named(x, "gemm_checked") && !cJSON_IsBool(x)) {
            report(c, "best.gemm_checked is not true or false; ignored");
            drop(best, x);
        } else if (named(x, "clblast")) {
            check_clblast(c, best, x);
        } else if (named(x, "kernels")) {
            check_kernels(c, best, x);
        } else if (named(x, "gemm_cl")) {
            check_gemm_cl(c, best, x);
        }
        x = next;
    }
}

int tune_db_check(cJSON *root, const Device *dev) {
    Check c = {.dev = dev};
    cJSON *x = root->child;
    while (x) {
        cJSON *next = x->next;
        if (named(x, "measurements") && !cJSON_IsObject(x)) {
            report(&c, "measurements is not an object; ignored");
            drop(root, x);
        } else if (named(x, "measurements")) {
            check_measurements(&c, x);
        } else if (named(x, "peak_flops") && !(finite_number(x) && x->valuedouble > 0 && x->valuedouble < 1e21)) {
            report(&c, "peak_flops is not a FLOP/s figure; it is measured again");
            drop(root, x);
        } else if (named(x, "best")) {
            check_best(&c, root, x);
        }
        x = next;
    }
    if (c.removed > MAX_WARNINGS)
        warn("tuning database: %d more problems like these; each was ignored", c.removed - MAX_WARNINGS);
    return c.removed;
}
