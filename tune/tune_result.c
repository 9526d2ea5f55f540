// What a tune writes: the "best" entry of the database, from the measurements
// so far (at the end, or when the budget's watchdog stops the search), and the summary.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/tunables.h"
#include "runtime/tune_apply.h"
#include "tune/tuner_state.h"
#include "util/util.h"

static cJSON *params_json(const TuneSpace *s, const int *v) {
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; i < s->nparams; i++) cJSON_AddNumberToObject(o, s->params[i].name, v[i]);
    return o;
}

size_t tuner_crossover(const Tuner *t, const double *ind, const double *dir, double *total_out) {
    const TuneJob *j = t->job;
    size_t best_thr = 0;
    double best = INFINITY;
    for (int c = -1; c < j->nshapes; c++) {
        size_t thr = c < 0 ? 0 : tuner_mnk(&j->shapes[c]) + 1;  // shapes with m*n*k < thr go direct
        double total = 0;
        for (int i = 0; i < j->nshapes && isfinite(total); i++) {
            double ms = tuner_mnk(&j->shapes[i]) < thr ? dir[i] : ind[i];
            total = ms < 0 ? INFINITY : total + ms * (double)j->shapes[i].calls;
        }
        if (total < best) {
            best = total;
            best_thr = thr;
        }
    }
    *total_out = best;
    return best_thr;
}

static void date_now(char *buf, size_t n) {
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, n, "%Y-%m-%d %H:%M UTC", &tm);
}

// Under "clblast": the searched parameters and crossover where they beat the
// defaults (a final check, when timed in this run, against this run's
// defaults). Returns the GEMMs' ms per step with CLBlast as chosen.
static double best_clblast(Tuner *t, double checked_total, cJSON *clb) {
    const TuneJob *j = t->job;
    // A quick tune keeps the CLBlast parameters an earlier full tune chose.
    const cJSON *old_clb = cJSON_GetObjectItemCaseSensitive(tune_db_best(j->db), "clblast"), *x;
    if (j->quick) cJSON_ArrayForEach(x, old_clb) cJSON_AddItemToObject(clb, x->string, cJSON_Duplicate(x, 1));
    if (!t->ind.found) return t->base_total;
    double predicted = t->ind.total;
    size_t thr = tuner_crossover(t, t->ind.shape_ms, t->dir.found ? t->dir.shape_ms : t->dir_default, &predicted);
    double total = checked_total >= 0 ? checked_total : predicted;
    if (total >= (checked_total >= 0 ? t->base_fresh : t->base_total)) {
        // A run that timed no final check keeps what an earlier run of this workload chose by a final check:
        // a timing of the whole set outranks a prediction from its parts.
        const cJSON *prev = tune_db_best(j->db), *prev_ms = cJSON_GetObjectItemCaseSensitive(prev, "gemm_ms_tuned");
        const cJSON *prev_wl = cJSON_GetObjectItemCaseSensitive(prev, "workload");
        if (!j->quick && checked_total < 0 && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(prev, "gemm_checked")) &&
            cJSON_IsString(prev_wl) && !strcmp(prev_wl->valuestring, j->workload) && cJSON_IsNumber(prev_ms) &&
            cJSON_GetObjectItemCaseSensitive(old_clb, "Xgemm")) {
            cJSON_ArrayForEach(x, old_clb) cJSON_AddItemToObject(clb, x->string, cJSON_Duplicate(x, 1));
            printf("tune: keeping the CLBlast parameters an earlier run checked (%.2f ms)\n", prev_ms->valuedouble);
            return prev_ms->valuedouble;
        }
        printf("tune: nothing beat CLBlast's defaults (%.2f vs %.2f ms); keeping them\n", total, t->base_total);
        return t->base_total;
    }
    cJSON_AddItemToObject(clb, "Xgemm", params_json(&tune_space_xgemm, t->ind.v));
    if (t->dir.found) cJSON_AddItemToObject(clb, "XgemmDirect", params_json(&tune_space_xgemm_direct, t->dir.v));
    cJSON *gr = cJSON_AddObjectToObject(clb, "GemmRoutine");
    cJSON_AddNumberToObject(gr, "XGEMM_MIN_INDIRECT_SIZE", (double)thr);
    return total;
}

// Per shape, CLBlast's time as chosen (tuned: its ms per step) into clb_ms.
static void clblast_shape_ms(const Tuner *t, double tuned, double *clb_ms) {
    const TuneJob *j = t->job;
    for (int i = 0; i < j->nshapes; i++) clb_ms[i] = t->base_ms[i];
    if (!(tuned < t->base_total)) return;
    double unused;
    const double *dir = t->dir.found ? t->dir.shape_ms : t->dir_default;
    size_t thr = tuner_crossover(t, t->ind.shape_ms, dir, &unused);
    for (int i = 0; i < j->nshapes; i++) {
        double ms = tuner_mnk(&j->shapes[i]) < thr ? dir[i] : t->ind.shape_ms[i];
        if (ms >= 0) clb_ms[i] = ms;
    }
}

static cJSON *shape_json(const GemmShape *g, cJSON *e) {
    const char *names[] = {"m", "n", "k", "lda", "ldb", "ldc", "stride_a", "stride_b", "stride_c", "batch"};
    const size_t vals[] = {g->m, g->n, g->k, g->lda, g->ldb, g->ldc, g->stride_a, g->stride_b, g->stride_c, g->batch};
    cJSON_AddNumberToObject(e, "trans_a", g->trans_a);
    cJSON_AddNumberToObject(e, "trans_b", g->trans_b);
    for (size_t f = 0; f < sizeof vals / sizeof vals[0]; f++) cJSON_AddNumberToObject(e, names[f], (double)vals[f]);
    return e;
}

// Under "gemm_cl" (ours): per shape, our GEMM where its best checked candidate
// beats CLBlast's time there. Returns the GEMMs' ms per step, less what our
// GEMM saves on tuned's; *nours: the shapes it takes.
static double best_gemm_cl(Tuner *t, double tuned, cJSON *ours, int *nours) {
    const TuneJob *j = t->job;
    double *clb_ms = mallocCheck((size_t)j->nshapes * sizeof *clb_ms);
    clblast_shape_ms(t, tuned, clb_ms);
    *nours = 0;
    for (int i = 0; i < j->nshapes; i++) {
        const GemmShape *g = &j->shapes[i];
        int win = t->ours_ms[i] >= 0 && t->ours_ms[i] < clb_ms[i];
        // A full tune's baseline is CLBlast: where it wins on a shape the class's rules send through our
        // GEMM, the database keeps that shape with CLBlast.
        int keep_clblast = !win && !j->quick && tuner_class_rule(j, g);
        if (!win && !keep_clblast) continue;
        cJSON *e = win ? params_json(&tune_space_gemm_cl, t->ours_v[i]) : cJSON_CreateObject();
        if (keep_clblast) cJSON_AddTrueToObject(e, "clblast");
        shape_json(g, e);
        if (t->ours_ms[i] >= 0) cJSON_AddNumberToObject(e, "ms", t->ours_ms[i]);
        cJSON_AddNumberToObject(e, j->quick ? "class_ms" : "clblast_ms", clb_ms[i]);
        cJSON_AddItemToArray(ours, e);
        if (!win) continue;
        tuned -= (clb_ms[i] - t->ours_ms[i]) * (double)g->calls;
        (*nours)++;
    }
    free(clb_ms);
    return tuned;
}

static void print_summary(const Tuner *t, double tuned, int checked, int nours) {
    const TuneJob *j = t->job;
    printf("tune: GEMMs per step %.2f ms with %s, %.2f ms tuned (%.2fx%s)", t->base_total,
           j->quick ? "the device class's defaults" : "CLBlast defaults", tuned, t->base_total / tuned,
           checked ? "" : ", predicted from the parts");
    if (t->kern_best > 0)
        printf("; our kernels %.2f ms with the class's defaults, %.2f ms tuned (%.2fx)", t->kern_base, t->kern_best,
               t->kern_base / t->kern_best);
    if (nours) printf("; our GEMM on %d of %d shapes", nours, j->nshapes);
    printf("; %.0f s of %.0f s budget\ntune: wrote %s\n", tuner_elapsed(t), j->budget, j->db->path);
    fflush(stdout);
}

// checked_total >= 0 is the CLBlast combination's re-measured time; otherwise
// the prediction from its parts (each of which was checked against the
// defaults) is used.
Status tuner_finalize(Tuner *t, double checked_total) {
    TuneJob *j = t->job;
    cJSON *best = cJSON_CreateObject();
    char date[64];
    date_now(date, sizeof date);
    cJSON_AddStringToObject(best, "date", date);
    cJSON_AddStringToObject(best, "workload", j->workload);
    cJSON_AddNumberToObject(best, "gemm_ms_default", t->base_total);
    cJSON_AddStringToObject(best, "baseline", j->quick ? TUNE_BASELINE_QUICK : "CLBlast defaults");
    double tuned = best_clblast(t, checked_total, cJSON_AddObjectToObject(best, "clblast"));
    int nours;
    tuned = best_gemm_cl(t, tuned, cJSON_AddArrayToObject(best, "gemm_cl"), &nours);
    cJSON_AddNumberToObject(best, "gemm_ms_tuned", tuned);
    cJSON_AddBoolToObject(best, "gemm_checked", checked_total >= 0);
    if (t->kern_best > 0) {
        cJSON *k = cJSON_AddObjectToObject(best, "kernels");
        for (int i = 0; i < KP_COUNT; i++) cJSON_AddNumberToObject(k, kernel_param_name((KernelParamId)i), t->kp.v[i]);
        cJSON_AddNumberToObject(best, "kernels_ms_default", t->kern_base);
        cJSON_AddNumberToObject(best, "kernels_ms_tuned", t->kern_best);
    }
    tune_db_set_best(j->db, best);
    TRY(tune_db_save(j->db));
    t->best_ratio = t->base_total / tuned;
    t->phase = "done";
    tuner_progress(t, 1);
    print_summary(t, tuned, checked_total >= 0, nours);
    return STATUS_OK;
}
