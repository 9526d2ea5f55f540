// Our kernels' tunables (runtime/kernel_params.h), searched family by family
// (runtime/tunables.h's tune_space_families). Families are independent, so
// every round builds one program holding the next candidate of each family
// and times each family with its own defines.
#include <string.h>

#include "runtime/tunables.h"
#include "tune/tuner_state.h"
#include "util/util.h"

enum { NF = TUNE_NUM_FAMILIES };

void kernels_init(Tuner *t) {
    const TuneJob *j = t->job;
    for (int f = 0; f < NF; f++) {
        FamilySearch *fs = &t->fam[f];
        fs->best.found = 1;  // the starting point, set before the first candidate
        fs->c = (Candidates){.space = &tune_space_families[f], .dev = j->dev, .db = j->db, .workload = j->workload,
                             .around = j->quick ? AROUND_SWEEP_NEAR : AROUND_SWEEP, .centre = &fs->best,
                             .replay = 1};
    }
}

// Under t->mu: the step's time of our kernels with every family at its best.
static void kernels_total(Tuner *t) {
    t->kern_best = 0;
    for (int f = 0; f < NF; f++) t->kern_best += t->fam[f].best.total;
    t->best_ratio = t->kern_base / t->kern_best;
}

// Under t->mu: family f's candidate w took ms (-1: wrong or illegal).
static void family_result(Tuner *t, int f, const int *w, double ms) {
    Best *b = &t->fam[f].best;
    if (ms >= 0 && ms < b->total) {
        memcpy(b->v, w, sizeof b->v);
        b->total = ms;
        tune_family_params(&tune_space_families[f], w, &t->kp);
    }
    kernels_total(t);
}

// Under t->mu: records family f's candidate w (saved by the caller, once per round) and takes its result.
static void family_record(Tuner *t, int f, const int *w, double ms) {
    char id[256];
    tune_space_id(&tune_space_families[f], w, id, sizeof id);
    tune_db_record(t->job->db, t->job->workload, id, ms, NULL, 0);
    family_result(t, f, w, ms);
}

// The starting point's times (ms) are the ones to beat, unless the database
// (kernels_load_recorded) or an earlier call already holds them: the recorded
// candidates were timed beside those.
static void kernels_start(Tuner *t, const double *ms) {
    pthread_mutex_lock(&t->mu);
    if (!(t->kern_best > 0)) {
        t->kern_base = 0;
        t->kp = t->start_kp;
        for (int f = 0; f < NF; f++) {
            Best *b = &t->fam[f].best;
            tune_family_values(&tune_space_families[f], &t->start_kp, b->v);
            b->total = ms[f];
            t->kern_base += ms[f];
            family_record(t, f, b->v, ms[f]);
        }
        tuner_fail(t, tune_db_save(t->job->db));
    }
    pthread_mutex_unlock(&t->mu);
}

// Each family's next unmeasured candidate into w[f] and cand (want[f] set);
// measured ones count from the database. Returns 0 when no family has one.
static int kernels_round(Tuner *t, KernelParams *cand, int *want, int (*w)[TUNE_MAX_PARAMS]) {
    char id[256];
    int any = 0;
    *cand = t->kp;
    for (int f = 0; f < NF; f++) {
        Candidates *c = &t->fam[f].c;
        want[f] = 0;
        while (candidates_next(c, w[f], id, sizeof id)) {
            if (!c->recorded) {
                want[f] = any = 1;
                tune_family_params(c->space, w[f], cand);
                break;
            }
            pthread_mutex_lock(&t->mu);
            family_result(t, f, w[f], tuner_recorded_total(c->recorded));
            pthread_mutex_unlock(&t->mu);
        }
    }
    return any;
}

// Times a round into ms. When it cannot be built or launched, each family's
// candidate runs alone on top of the best to find the one that cannot (ms -1).
static void kernels_time(Tuner *t, KernelBench *kb, const KernelParams *cand, const int *want,
                         int (*w)[TUNE_MAX_PARAMS], double *ms) {
    if (kernel_bench_run(kb, cand, want, ms)) return;
    for (int f = 0; f < NF; f++) {
        if (!want[f]) continue;
        int one[NF] = {0};
        one[f] = 1;
        KernelParams p = t->kp;
        tune_family_params(&tune_space_families[f], w[f], &p);
        if (!kernel_bench_run(kb, &p, one, ms)) ms[f] = -1;
    }
}

void search_kernels(Tuner *t, double deadline) {
    TuneJob *j = t->job;
    t->cand = 0;
    if (t->kern_done || tuner_elapsed(t) + 1.0 > deadline) return;
    KernelBench *kb;
    Status s = kernel_bench_create(j->dev, j->cls, &j->model, &kb);
    if (s) {
        tuner_fail(t, s);
        return;
    }
    int want[NF], w[NF][TUNE_MAX_PARAMS];
    double ms[NF], t0 = now_seconds();
    for (int f = 0; f < NF; f++) want[f] = 1;
    // The starting point first, always: its outputs are the reference of every check.
    if (!kernel_bench_run(kb, &t->start_kp, want, ms))
        tuner_fail(t, fail(STATUS_DEVICE, "our kernels do not build with the device class's parameters"));
    tuner_fail(t, device_status(j->dev));
    double cost = now_seconds() - t0;  // of a round, for the deadline
    if (!t->status) kernels_start(t, ms);
    KernelParams cand;
    while (!t->status && tuner_elapsed(t) + 2 * cost <= deadline) {
        if (!kernels_round(t, &cand, want, w)) {
            t->kern_done = 1;
            break;
        }
        t->cand++;
        tuner_progress(t, 0);
        t0 = now_seconds();
        kernels_time(t, kb, &cand, want, w, ms);
        cost = now_seconds() - t0;
        tuner_fail(t, device_status(j->dev));
        if (t->status) break;
        pthread_mutex_lock(&t->mu);
        for (int f = 0; f < NF; f++)
            if (want[f]) family_record(t, f, w[f], ms[f]);
        tuner_fail(t, tune_db_save(j->db));
        pthread_mutex_unlock(&t->mu);
        if (!t->status) tuner_progress(t, 2);
    }
    kernel_bench_free(kb);
}

void kernels_load_recorded(Tuner *t, const cJSON *recorded) {
    const TuneJob *j = t->job;
    double base = 0, best = 0;
    int complete = 1, v[TUNE_MAX_PARAMS];
    char id[256];
    const cJSON *e;
    for (int f = 0; f < NF && complete; f++) {
        const TuneSpace *s = &tune_space_families[f];
        Best *b = &t->fam[f].best;
        tune_family_values(s, &t->start_kp, b->v);
        tune_space_id(s, b->v, id, sizeof id);
        const cJSON *d = tune_db_find(j->db, j->workload, id);
        b->total = d ? tuner_recorded_total(d) : -1;
        complete = b->total >= 0;
        base += b->total;
        cJSON_ArrayForEach(e, recorded) if (tuner_parse_id(s, e->string, v) && s->valid(v, j->dev)) {
            double x = tuner_recorded_total(e);
            if (x >= 0 && x < b->total) {
                b->total = x;
                memcpy(b->v, v, sizeof b->v);
            }
        }
        best += b->total;
    }
    if (!complete) return;
    t->kern_base = base;
    t->kern_best = best;
    t->kp = t->start_kp;
    for (int f = 0; f < NF; f++) tune_family_params(&tune_space_families[f], t->fam[f].best.v, &t->kp);
}
