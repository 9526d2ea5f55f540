// Ops: the kernel program built with the tuned parameters, the GEMM routes
// applied, the profiler and the shape recorder; the launchers are in ops_*.c.
#include "runtime/ops.h"

#include "util/status.h"
#include "util/util.h"

// Builds the kernel set with o->kp (already checked legal). *bad: K_COUNT, or
// the first kernel that cannot run its work-group size (then everything is freed; *fits as in kernel_set_build).
static Status ops_build(Ops *o, size_t *fits, KernelId *bad) {
    double t0 = now_seconds();
    Status s = kernel_set_build(&o->ks, o->dev, &o->kp, fits, bad);
    o->build_seconds = now_seconds() - t0;
    if (s || *bad != K_COUNT) ops_free(o);
    return s;
}

static void ops_start(Ops *o, const Device *dev, const Tuned *tuned) {
    *o = (Ops){.dev = dev, .kp = tuned ? tuned->kp : kernel_params_default(dev), .prof = {.on = dev->profiling}};
}

// Sends tuned's routes, then its rules, through our kernel; with warn, says which cannot run here.
static void ops_route(Ops *o, const Tuned *tuned, int warn_unfit) {
    for (int i = 0; tuned && i < tuned->num_routes; i++) {
        const GemmRoute *r = &tuned->routes[i];
        if (!ops_use_gemm_cl(o, r->all ? NULL : &r->s, r->clblast ? NULL : &r->p) && warn_unfit)
            warn("tuning database: a gemm_cl entry is malformed or illegal here; that shape stays with CLBlast");
    }
    for (int i = 0; tuned && i < tuned->num_rules; i++)
        if (!ops_use_gemm_rule(o, &tuned->rules[i]) && warn_unfit)
            warn("device class '%s': GEMM rule %d does not fit this device; those shapes stay with CLBlast",
                 tuned->class_label, i);
}

int ops_try_init(Ops *o, const Device *dev, const Tuned *tuned) {
    ops_start(o, dev, tuned);
    size_t fits;
    KernelId bad;
    if (!kernel_params_valid(&o->kp, dev, NULL) || ops_build(o, &fits, &bad) || bad != K_COUNT) return 0;
    ops_route(o, tuned, 0);
    return 1;
}

// "SOFTMAX_WG=512 x SOFTMAX_ROWS=2" or "CE_WG=256": a family's work-group defines in p.
static const char *family_sizes(const KernelParams *p, KernelParamId wg, KernelParamId rows, char *buf, size_t n) {
    int used = snprintf(buf, n, "%s=%d", kernel_param_name(wg), p->v[wg]);
    if (rows != KP_COUNT && used >= 0 && (size_t)used < n)
        snprintf(buf + used, n - (size_t)used, " x %s=%d", kernel_param_name(rows), p->v[rows]);
    return buf;
}

Status ops_init(Ops *o, const Device *dev, const Tuned *tuned) {
    ops_start(o, dev, tuned);
    const char *bad = NULL;
    if (!kernel_params_valid(&o->kp, dev, &bad))
        return fail(STATUS_INPUT, "kernel parameter %s=%d is not legal on %s (work-groups of at most %zu items, %llu bytes of local memory)",
            bad, o->kp.v[kernel_param_find(bad)], dev->name, dev->max_wg, (unsigned long long)dev->local_mem);
    // A tuning database or a device class's defaults may come from another driver, whose compiled
    // kernels allowed more: halve the family's work-group until this driver's kernel runs it.
    size_t fits;
    KernelId too_big;
    for (;;) {
        TRY(ops_build(o, &fits, &too_big));
        if (too_big == K_COUNT) break;
        KernelParamId wg, rows;
        kernel_family(too_big, &wg, &rows);
        KernelParams was = o->kp;
        if (!kernel_params_fit(&o->kp, wg, rows, fits))
            return fail(STATUS_DEVICE, "kernel %s cannot run even one work-item on %s", kernel_name(too_big), dev->name);
        char from[64], to[64];
        warn("kernel %s runs work-groups of at most %zu items on %s, not %s; using %s", kernel_name(too_big), fits,
             dev->name, family_sizes(&was, wg, rows, from, sizeof from), family_sizes(&o->kp, wg, rows, to, sizeof to));
    }
    ops_route(o, tuned, 1);
    return STATUS_OK;
}

void ops_free(Ops *o) {
    kernel_set_free(&o->ks);
    if (o->col_partials) CL_CHECK(clReleaseMemObject(o->col_partials));
    o->col_partials = NULL;
    o->col_partials_floats = 0;
    gemm_router_free(&o->route);
}

int ops_use_gemm_cl(Ops *o, const GemmShape *s, const GemmParams *p) {
    return gemm_router_use_shape(&o->route, o->dev, s, p);
}

int ops_use_gemm_rule(Ops *o, const GemmRule *r) { return gemm_router_use_rule(&o->route, o->dev, r); }

const GemmKernels *ops_gemm_cl_for(Ops *o, const GemmShape *s) { return gemm_router_for(&o->route, o->dev, s); }

void ops_record_begin(Ops *o, int dry_run) { o->rec = (GemmRecorder){.on = 1, .dry_run = dry_run}; }

int ops_record_end(Ops *o, GemmShape *shapes) {
    for (int i = 0; i < o->rec.num; i++) shapes[i] = o->rec.log[i];
    int n = o->rec.num;
    o->rec.on = o->rec.dry_run = 0;
    return n;
}

void ops_profile_totals(const Ops *o, double *gemm_ms, double *kernel_ms) {
    profiler_totals(&o->prof, gemm_ms, kernel_ms);
}

void ops_profile_reset(Ops *o) { o->prof.num = 0; }

void ops_profile_print(const Ops *o, int steps, FILE *f) { profiler_print(&o->prof, steps, f); }
