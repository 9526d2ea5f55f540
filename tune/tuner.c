// The run behind `gpt2cl tune` (tune/tuner.h): the baseline, the budget's
// phases (one table each for a full and a quick tune), the database's earlier
// measurements, and the watchdog that keeps the budget.
#include "tune/tuner.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime/tunables.h"
#include "runtime/tune_apply.h"
#include "tune/tuner_state.h"
#include "util/util.h"

#define DIRECT_MAX_MNK (1ULL << 30)  // larger shapes are never tried with the direct kernel
#define HUGE_MIN_INDIRECT ((size_t)1 << 62)

double tuner_elapsed(const Tuner *t) { return now_seconds() - t->job->t_start; }

void tuner_fail(Tuner *t, Status s) {
    if (!t->status) t->status = s;
}

// final: 0 = transient (terminal only), 1 = end of a phase, 2 = a candidate's
// result (one line each when stdout is not a terminal, e.g. in CI logs). Progress
// is information, so it goes to stdout: stderr carries only a failure's one line.
void tuner_progress(Tuner *t, int final) {
    int tty = isatty(1);
    if (!tty && !final) return;
    if (tty && final == 2) final = 0;
    double e = tuner_elapsed(t), frac = e / t->job->budget;
    if (frac > 1) frac = 1;
    int bar = (int)(frac * 30);
    printf("%s[%.*s%.*s] %3.0f%% %5.1f/%.0f s  %-12s #%-4d best %.2fx vs defaults%s", tty ? "\r" : "", bar,
            "##############################", 30 - bar, "..............................", 100 * frac, e,
            t->job->budget, t->phase, t->cand, t->best_ratio, final ? "\n" : "");
    fflush(stdout);
}

int tuner_parse_id(const TuneSpace *s, const char *id, int *v) {
    size_t kl = strlen(s->kernel);
    return strncmp(id, s->kernel, kl) == 0 && id[kl] == '|' && tune_space_parse(s, id + kl + 1, v);
}

double tuner_recorded_total(const cJSON *e) {
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(e, "ms");
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "pruned"))) return INFINITY;
    return cJSON_IsNumber(ms) ? ms->valuedouble : -1;
}

void tuner_record(Tuner *t, const char *id, double ms, const double *shape_ms, int nshapes) {
    tune_db_record(t->job->db, t->job->workload, id, ms, shape_ms, nshapes);
    tuner_fail(t, tune_db_save(t->job->db));
}

const GemmRule *tuner_class_rule(const TuneJob *j, const GemmShape *s) {
    for (int r = 0; j->cls && r < j->cls->ngemm; r++)
        if (gemm_rule_matches(&j->cls->gemm[r], s)) return &j->cls->gemm[r];
    return NULL;
}

size_t tuner_mnk(const GemmShape *s) { return s->m * s->n * s->k; }

// The defaults' times to beat: the database's record of them where it has
// one, since the recorded candidates were timed beside it (a new measurement
// under other load would make them look better or worse than they were);
// otherwise this run's, recorded for the next. base_ms is this run's on entry.
static void use_recorded_base(Tuner *t, double *base_total) {
    const TuneJob *j = t->job;
    const char *id = j->quick ? "class|defaults" : "CLBlast|defaults";
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(tune_db_find(j->db, j->workload, id), "shape_ms");
    int ok = cJSON_GetArraySize(ms) == j->nshapes;
    for (int i = 0; ok && i < j->nshapes; i++) ok = cJSON_IsNumber(cJSON_GetArrayItem(ms, i)) &&
                                                   cJSON_GetArrayItem(ms, i)->valuedouble > 0;
    if (!ok) {
        pthread_mutex_lock(&t->mu);
        tuner_record(t, id, *base_total, t->base_ms, j->nshapes);
        pthread_mutex_unlock(&t->mu);
        return;
    }
    *base_total = 0;
    for (int i = 0; i < j->nshapes; i++) {
        t->base_ms[i] = cJSON_GetArrayItem(ms, i)->valuedouble;
        *base_total += t->base_ms[i] * (double)j->shapes[i].calls;
    }
}

// Earlier measurements of this workload (an interrupted or shorter tune) seed
// every search's best before any phase runs, so that a budget which ends
// early still writes all that is known.
static void load_recorded(Tuner *t) {
    const TuneJob *j = t->job;
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j->db->root, "measurements"),
                                                      j->workload), *e;
    int v[TUNE_MAX_PARAMS];
    double *shape_ms = mallocCheck((size_t)j->nshapes * sizeof *shape_ms);
    // Each GEMM space's entries; a quick tune neither searches nor sets CLBlast's parameters.
    const struct { const TuneSpace *s; Best *best; int quick_too; } spaces[] = {
        {&tune_space_xgemm, &t->ind, 0}, {&tune_space_xgemm_direct, &t->dir, 0}, {&tune_space_gemm_cl, &t->ours, 1}};
    pthread_mutex_lock(&t->mu);
    cJSON_ArrayForEach(e, w) {
        const cJSON *ms = cJSON_GetObjectItemCaseSensitive(e, "shape_ms");
        for (int i = 0; i < j->nshapes; i++) {
            const cJSON *x = cJSON_GetArrayItem(ms, i);
            shape_ms[i] = cJSON_IsNumber(x) ? x->valuedouble : -1;
        }
        char id[256];
        snprintf(id, sizeof id, "%s", e->string);
        size_t len = strlen(id), ql = strlen(QUICK_SUFFIX);
        int partial = len > ql && !strcmp(id + len - ql, QUICK_SUFFIX);  // timed on some shapes only
        if (partial) id[len - ql] = '\0';
        for (size_t s = 0; s < sizeof spaces / sizeof spaces[0]; s++) {
            if ((j->quick && !spaces[s].quick_too) || !tuner_parse_id(spaces[s].s, id, v) ||
                !spaces[s].s->valid(v, j->dev))
                continue;
            if (spaces[s].s == &tune_space_gemm_cl) shape_bests_offer(t, v, shape_ms);
            if (!partial) best_offer(spaces[s].best, v, tuner_recorded_total(e), shape_ms, j->nshapes);
        }
    }
    kernels_load_recorded(t, w);
    pthread_mutex_unlock(&t->mu);
    free(shape_ms);
}

// The budget is a promise: a candidate cannot be interrupted inside CLBlast or
// the OpenCL compiler (which on POCL can take tens of seconds), so at the
// deadline this thread writes the best found so far and ends the process. The
// interrupted candidate was not recorded; the next tune tries it again.
static void *watchdog(void *arg) {
    Tuner *t = arg;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    double left = t->job->budget - tuner_elapsed(t);
    until.tv_sec += (time_t)left;
    until.tv_nsec += (long)((left - (double)(time_t)left) * 1e9);
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&t->mu);
    while (!t->done)
        if (pthread_cond_timedwait(&t->cond, &t->mu, &until) != 0) break;
    if (!t->done) {
        // _exit: the main thread may be inside CLBlast or the compiler; stdio is flushed by hand.
        printf("\ntune: budget reached during %s candidate #%d (not recorded; the next tune retries it)\n", t->phase,
               t->cand);
        Status s = t->have_base && !t->status ? tuner_finalize(t, -1) : t->status;
        fflush(stdout);
        if (s)
            fprintf(stderr, "gpt2cl: error: %s\n", status_message());
        else if (!t->have_base)
            fprintf(stderr, "gpt2cl: error: the budget of %.0f s did not even cover timing the baseline; nothing "
                    "written (give a larger --budget)\n", t->job->budget);
        _exit(t->have_base && !s ? 0 : 1);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

static void tuner_free(Tuner *t) {
    for (int i = 0; t->ref && i < t->job->nshapes; i++) free(t->ref[i]);
    free(t->ref);
    free(t->out);
    free(t->base_ms);
    free(t->order);
    free(t->ind.shape_ms);
    free(t->dir.shape_ms);
    free(t->dir_default);
    free(t->ours_ms);
    free(t->ours_v);
    gemm_bufs_free(&t->bufs);
}

// The budget's phases (see the README's Tuning section). Each runs until its
// deadline: now + share x (the budget left - the time it keeps for later).
enum { KEEP_CHECK = 1, KEEP_CANDIDATE = 2 };  // the final check's time, one candidate's (t->est)
typedef struct {
    const char *name;  // the progress line's phase
    double share;
    int keep;
    int (*run)(Tuner *t, double deadline);  // 1 when it ran (a progress line ends it)
} BudgetPhase;

static int run_kernels(Tuner *t, double deadline) {
    search_kernels(t, deadline);
    return 1;
}

// Xgemm, every GEMM forced through the indirect path.
static int run_xgemm(Tuner *t, double deadline) {
    t->best_ratio = 1.0;
    CLBLAST_CHECK(tune_override_min_indirect(t->job->dev, 0));
    search_clblast(t, &tune_space_xgemm, NULL, deadline, &t->ind);
    return 1;
}

// XgemmDirect, forced direct, on the shapes small enough for it.
static int run_xgemm_direct(Tuner *t, double deadline) {
    const TuneJob *j = t->job;
    unsigned char *mask = mallocCheck((size_t)j->nshapes);
    int ndirect = 0;
    for (int i = 0; i < j->nshapes; i++) ndirect += mask[i] = tuner_mnk(&j->shapes[i]) <= DIRECT_MAX_MNK;
    if (ndirect) {
        t->best_ratio = 1.0;
        CLBLAST_CHECK(tune_override_min_indirect(j->dev, HUGE_MIN_INDIRECT));
        search_clblast(t, &tune_space_xgemm_direct, mask, deadline, &t->dir);
    }
    free(mask);
    return ndirect > 0;
}

static int run_gemm_cl(Tuner *t, double deadline) {
    t->best_ratio = 1.0;
    search_gemm_cl(t, deadline, t->check_cost);
    return 1;
}

// Back to Xgemm, the kernel that dominates large models, while a candidate fits.
static int run_xgemm_more(Tuner *t, double deadline) {
    if (tuner_elapsed(t) + t->est >= deadline) return 0;
    t->best_ratio = t->ind.found ? t->base_total / t->ind.total : 1.0;
    CLBLAST_CHECK(tune_override_min_indirect(t->job->dev, 0));
    search_clblast(t, &tune_space_xgemm, NULL, deadline, &t->ind);
    return 1;
}

// The CLBlast combination, checked and timed once more, if the budget allows: t->checked.
static int run_final_check(Tuner *t, double deadline) {
    const TuneJob *j = t->job;
    if (!t->ind.found || tuner_elapsed(t) + t->check_cost >= deadline) return 0;
    double predicted;
    size_t thr = tuner_crossover(t, t->ind.shape_ms, t->dir.found ? t->dir.shape_ms : t->dir_default, &predicted);
    tuner_progress(t, 0);
    CLBLAST_CHECK(tune_space_override(&tune_space_xgemm, j->dev, t->ind.v));
    if (t->dir.found) CLBLAST_CHECK(tune_space_override(&tune_space_xgemm_direct, j->dev, t->dir.v));
    CLBLAST_CHECK(tune_override_min_indirect(j->dev, thr));
    double *shape_ms = mallocCheck((size_t)j->nshapes * sizeof *shape_ms);
    t->checked = eval_shapes(t, NULL, INFINITY, NULL, shape_ms);
    free(shape_ms);
    if (t->checked < 0)
        tuner_fail(t, fail(STATUS_DEVICE, "the tuned combination gives wrong results; run `gpt2cl tune --restart`"));
    return 0;
}

// A full tune: up to a third for our kernels (their search ends by itself; on
// POCL each round is mostly the 4 s program build), about a third of what is
// left for Xgemm, a fifth for XgemmDirect, most of the rest for our GEMM; time
// left over goes to our kernels' search if it did not finish (it resumes from
// the database), then back to Xgemm, keeping room for the final check.
static const BudgetPhase full_phases[] = {
    {"our kernels", 0.35, KEEP_CHECK, run_kernels},
    {"Xgemm", 0.35, 0, run_xgemm},
    {"XgemmDirect", 0.3, 0, run_xgemm_direct},
    {"our GEMM", 0.7, KEEP_CHECK, run_gemm_cl},
    {"our kernels", 1, KEEP_CHECK | KEEP_CANDIDATE, run_kernels},
    {"Xgemm", 1, KEEP_CHECK, run_xgemm_more},
    {"final check", 1, 0, run_final_check},
};
// A quick tune: our GEMM first, the larger share of a step wherever the class uses it; then our kernels.
static const BudgetPhase quick_phases[] = {
    {"our GEMM", 1, KEEP_CHECK, run_gemm_cl},
    {"our kernels", 1, 0, run_kernels},
};

static void run_phases(Tuner *t, const BudgetPhase *phases, int n) {
    for (int p = 0; p < n && !t->status; p++) {
        double now = tuner_elapsed(t);
        double kept = (phases[p].keep & KEEP_CHECK ? t->check_cost : 0) + (phases[p].keep & KEEP_CANDIDATE ? t->est : 0);
        t->phase = phases[p].name;
        int ran = phases[p].run(t, now + phases[p].share * (t->job->budget - now - kept));
        tuner_fail(t, device_status(t->job->dev));
        if (ran && !t->status) tuner_progress(t, 1);
    }
}

// The baseline, the reference results and the time to beat: CLBlast's
// defaults, or for a quick tune each shape as the device class runs it.
// Sets t->base_ms and their calls-weighted total *total.
static Status time_baseline(Tuner *t, double *total_out) {
    const TuneJob *j = t->job;
    double total = 0;
    GemmKernels rule_k[GEMM_RULES_MAX] = {0};
    Status s = STATUS_OK;
    for (int i = 0; i < j->nshapes && !s; i++) {
        t->ref[i] = mallocCheck(gemm_c_elems(&j->shapes[i]) * sizeof(float));
        const GemmRule *r = j->quick ? tuner_class_rule(j, &j->shapes[i]) : NULL;
        if (r) {
            GemmKernels *k = &rule_k[r - j->cls->gemm];
            if (!k->program && (s = gemm_kernels_build(k, j->dev, &r->p))) break;
            t->base_ms[i] = gemm_time_cl(j->dev, &j->shapes[i], &t->bufs, k, TIME_PER_SHAPE, t->ref[i]);
        } else {
            t->base_ms[i] = gemm_time(j->dev, &j->shapes[i], &t->bufs, TIME_PER_SHAPE, t->ref[i]);
        }
        if (!(s = device_status(j->dev)) && t->base_ms[i] < 0)
            s = fail(STATUS_DEVICE, "the GEMM of shape %d fails with %s", i,
                     r ? "the class's tile" : "CLBlast's defaults");
        total += t->base_ms[i] * (double)j->shapes[i].calls;
    }
    for (int r = 0; r < GEMM_RULES_MAX; r++) gemm_kernels_free(&rule_k[r]);
    *total_out = total;
    return s;
}

// t->order: the shapes by the baseline's time x calls, largest first (so pruning cuts early).
static void order_shapes(Tuner *t) {
    const TuneJob *j = t->job;
    for (int i = 0; i < j->nshapes; i++) t->order[i] = i;
    for (int a = 1; a < j->nshapes; a++)  // insertion sort
        for (int b = a; b > 0 && t->base_ms[t->order[b]] * (double)j->shapes[t->order[b]].calls >
                                      t->base_ms[t->order[b - 1]] * (double)j->shapes[t->order[b - 1]].calls;
             b--) {
            int x = t->order[b];
            t->order[b] = t->order[b - 1];
            t->order[b - 1] = x;
        }
}

static Status tuner_alloc(Tuner *t) {
    const TuneJob *j = t->job;
    int n = j->nshapes;
    t->ind.shape_ms = mallocCheck((size_t)n * sizeof(double));
    t->dir.shape_ms = mallocCheck((size_t)n * sizeof(double));
    t->ours_ms = mallocCheck((size_t)n * sizeof *t->ours_ms);
    t->ours_v = mallocCheck((size_t)n * sizeof *t->ours_v);
    for (int i = 0; i < n; i++) t->ours_ms[i] = t->dir.shape_ms[i] = -1;
    Status s = gemm_bufs_alloc(&t->bufs, j->dev, j->shapes, n, 1234);
    t->out = mallocCheck(t->bufs.c_elems * sizeof(float));
    t->ref = callocCheck((size_t)n, sizeof *t->ref);
    t->base_ms = mallocCheck((size_t)n * sizeof *t->base_ms);
    t->order = mallocCheck((size_t)n * sizeof *t->order);
    t->dir_default = mallocCheck((size_t)n * sizeof(double));
    return s;
}

// The baseline, then the budget's phases; the first failure ends it.
static Status tuner_search(Tuner *t) {
    const TuneJob *j = t->job;
    int n = j->nshapes;
    TRY(tuner_alloc(t));
    kernels_init(t);

    t->start_kp = j->cls ? device_class_kernel_params(j->cls, j->dev) : kernel_params_default(j->dev);
    if (j->quick && j->cls) device_class_apply_clblast(j->cls, j->dev);
    if (j->quick) tune_apply_clblast(j->dev, cJSON_GetObjectItemCaseSensitive(tune_db_best(j->db), "clblast"));
    tuner_progress(t, 0);
    double t0 = now_seconds(), base_total;
    TRY(time_baseline(t, &base_total));
    t->est = t->check_cost = now_seconds() - t0;  // a final check runs every shape once more, like this
    t->base_fresh = base_total;
    use_recorded_base(t, &base_total);
    // Below 384^3 (the smallest crossover in CLBlast's database) the defaults
    // ran the direct kernel: its default parameters are a direct candidate too.
    for (int i = 0; i < n; i++) t->dir_default[i] = tuner_mnk(&j->shapes[i]) < 384 * 384 * 384 ? t->base_ms[i] : -1;
    order_shapes(t);
    pthread_mutex_lock(&t->mu);
    t->base_total = base_total;
    t->have_base = 1;
    t->best_ratio = 1.0;
    pthread_mutex_unlock(&t->mu);
    load_recorded(t);
    printf("tune: %s: %.2f ms of GEMMs per step (measured in %.1f s, with compilation)\n",
           j->quick ? "device-class defaults" : "CLBlast defaults", t->base_total, t->est);
    if (j->quick) run_phases(t, quick_phases, sizeof quick_phases / sizeof quick_phases[0]);
    else run_phases(t, full_phases, sizeof full_phases / sizeof full_phases[0]);
    return t->status;
}

Status tuner_run(TuneJob *j) {
    Tuner t = {.job = j, .phase = "defaults", .checked = -1};
    rng_seed(&t.rng, 0x9E3779B97F4A7C15ULL);
    pthread_mutex_init(&t.mu, NULL);
    pthread_cond_init(&t.cond, NULL);
    if (j->restart) {
        cJSON *m = cJSON_GetObjectItemCaseSensitive(j->db->root, "measurements");
        cJSON_DeleteItemFromObjectCaseSensitive(m, j->workload);
    }
    pthread_t dog;
    if (pthread_create(&dog, NULL, watchdog, &t) != 0)
        return fail(STATUS_IO, "cannot start the tuning watchdog thread");
    Status s = tuner_search(&t);
    pthread_mutex_lock(&t.mu);
    if (!s) s = tuner_finalize(&t, t.checked);
    tuner_fail(&t, s);  // the watchdog, if it wakes now, writes nothing more
    t.done = 1;
    pthread_cond_signal(&t.cond);
    pthread_mutex_unlock(&t.mu);
    pthread_join(dog, NULL);
    tuner_free(&t);
    return s;
}

