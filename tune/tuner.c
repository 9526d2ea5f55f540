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
#include "tune/gemm_bench.h"
#include "util/util.h"

#define TIME_PER_SHAPE 0.05   // seconds of repetitions per shape and candidate (one run at least)
#define MAX_REL_ERROR 1e-3    // vs the default parameters' result, relative to max |C|
#define DIRECT_MAX_MNK (1ULL << 30)  // larger shapes are never tried with the direct kernel
#define HUGE_MIN_INDIRECT ((size_t)1 << 62)
#define QUICK_SUFFIX " (quick)"  // a candidate timed on some shapes only

typedef struct {
    int found;
    int v[TUNE_MAX_PARAMS];
    double total;
    double *shape_ms;
} Best;

// Coordinate search of one kernel family: each parameter in turn through its
// values, the others at their best so far; a second sweep if the first improved.
typedef struct {
    int v[TUNE_MAX_PARAMS];  // best values so far
    double ms;               // their ms per step
    int p, i, sweep, improved, done;  // cursor: parameter, next value index
} FamilySearch;

typedef struct {
    TuneJob *job;
    GemmBufs bufs;
    float **ref, *out;
    double *base_ms, base_total;
    double base_fresh;  // the defaults' total as measured in this run (base_total may be the recorded one)
    int *order;  // shapes by default time x calls, largest first (so pruning cuts early)
    double est;  // seconds one full candidate evaluation takes, for the budget
    unsigned long long rng;
    // progress line
    const char *phase;
    int cand;
    double best_ratio;
    // Results so far, shared with the watchdog thread under mu.
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int done, have_base;
    Best ind, dir;
    double *dir_default;  // per shape: the defaults' time where they surely ran the direct kernel, else -1
    // Our kernels: the search's starting point and reference (the class's tunables),
    // the best tunables so far (all families merged) and their ms per step.
    KernelParams start_kp, kp;
    double kern_base, kern_best;
    FamilySearch fam[TUNE_NUM_FAMILIES];
    int kern_done;  // the search of our kernels ran to its end
    // Our GEMM: per shape the fastest checked candidate (ms -1: none yet).
    double *ours_ms;
    int (*ours_v)[TUNE_MAX_PARAMS];
    Best ours;  // the best candidate over all shapes, the centre of the search
} Tuner;

static double elapsed(const Tuner *t) { return now_seconds() - t->job->t_start; }

// final: 0 = transient (terminal only), 1 = end of a phase, 2 = a candidate's
// result (one line each when stdout is not a terminal, e.g. in CI logs). Progress
// is information, so it goes to stdout: stderr carries only a failure's one line.
static void progress(Tuner *t, int final) {
    int tty = isatty(1);
    if (!tty && !final) return;
    if (tty && final == 2) final = 0;
    double e = elapsed(t), frac = e / t->job->budget;
    if (frac > 1) frac = 1;
    int bar = (int)(frac * 30);
    printf("%s[%.*s%.*s] %3.0f%% %5.1f/%.0f s  %-12s #%-4d best %.2fx vs defaults%s", tty ? "\r" : "", bar,
            "##############################", 30 - bar, "..............................", 100 * frac, e,
            t->job->budget, t->phase, t->cand, t->best_ratio, final ? "\n" : "");
    fflush(stdout);
}

// Runs every shape in mask; fills shape_ms (-1 when skipped). Returns the
// calls-weighted total in ms, -1 if CLBlast failed or a result was wrong, or
// INFINITY once the partial total passes prune_at.
static double eval_shapes(Tuner *t, const unsigned char *mask, double prune_at, double *shape_ms) {
    const TuneJob *j = t->job;
    double total = 0;
    for (int i = 0; i < j->nshapes; i++) shape_ms[i] = -1;
    for (int oi = 0; oi < j->nshapes; oi++) {
        int i = t->order[oi];
        if (mask && !mask[i]) continue;
        double ms = gemm_time(j->dev, &j->shapes[i], &t->bufs, TIME_PER_SHAPE, t->out);
        if (ms < 0) return -1;
        if (gemm_rel_error(t->out, t->ref[i], gemm_c_elems(&j->shapes[i])) > MAX_REL_ERROR) return -1;
        shape_ms[i] = ms;
        total += ms * (double)j->shapes[i].calls;
        if (total > prune_at) return INFINITY;
    }
    return total;
}

// Parses "Kernel|A=1 B=2" back into values; 0 if it does not fit the space.
static int parse_id(const TuneSpace *s, const char *id, int *v) {
    size_t kl = strlen(s->kernel);
    return strncmp(id, s->kernel, kl) == 0 && id[kl] == '|' && tune_space_parse(s, id + kl + 1, v);
}


static void best_update(Best *b, const int *v, double total, const cJSON *shape_ms, int nshapes) {
    if (total < 0 || !isfinite(total) || (b->found && total >= b->total)) return;
    b->found = 1;
    b->total = total;
    memcpy(b->v, v, sizeof b->v);
    for (int i = 0; i < nshapes; i++) {
        const cJSON *x = cJSON_GetArrayItem(shape_ms, i);
        b->shape_ms[i] = cJSON_IsNumber(x) ? x->valuedouble : -1;
    }
}

static double recorded_total(const cJSON *e) {
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(e, "ms");
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "pruned"))) return INFINITY;
    return cJSON_IsNumber(ms) ? ms->valuedouble : -1;
}

static unsigned long long next_rand(Tuner *t) {
    t->rng ^= t->rng << 13;
    t->rng ^= t->rng >> 7;
    t->rng ^= t->rng << 17;
    return t->rng;
}

// Two thirds of the candidates explore around the best so far, one third anywhere.
static int next_pick(Tuner *t) { return next_rand(t) % 3 != 0; }

static double masked_total(const Tuner *t, const unsigned char *mask, const double *ms) {
    double total = 0;
    for (int i = 0; i < t->job->nshapes; i++)
        if (!mask || mask[i]) total += ms[i] * (double)t->job->shapes[i].calls;
    return total;
}

// Searches one CLBlast kernel's space until the deadline (seconds since start).
static void search_clblast(Tuner *t, const TuneSpace *s, const unsigned char *mask, double deadline, Best *best) {
    TuneJob *j = t->job;
    const char *wl = j->workload;
    int v[TUNE_MAX_PARAMS];
    double *shape_ms = mallocCheck((size_t)j->nshapes * sizeof *shape_ms);
    char id[512];
    int seed = 0, skipped = 0;
    t->cand = 0;
    while (skipped < 500) {
        if (seed < s->nseeds) memcpy(v, s->seeds[seed++], sizeof v);
        else if (!(best->found && next_pick(t) ? tune_space_neighbour(s, j->dev, &t->rng, best->v, v)
                                               : tune_space_random(s, j->dev, &t->rng, v)))
            break;
        if (!s->valid(v, j->dev)) continue;
        tune_space_id(s, v, id, sizeof id);
        if (tune_db_find(j->db, wl, id)) {  // measured before: resume, not repeat
            skipped++;
            continue;
        }
        skipped = 0;
        if (elapsed(t) + t->est > deadline) break;
        t->cand++;
        progress(t, 0);
        double t0 = now_seconds(), total = -1;
        if (tune_space_override(s, j->dev, v) == CLBlastSuccess)
            total = eval_shapes(t, mask, best->found ? best->total : INFINITY, shape_ms);
        double took = now_seconds() - t0;
        if (took > t->est) t->est = took;
        pthread_mutex_lock(&t->mu);
        tune_db_record(j->db, wl, id, isfinite(total) ? total : (total < 0 ? -1 : best->total), shape_ms, j->nshapes);
        if (isinf(total)) cJSON_AddTrueToObject(tune_db_find(j->db, wl, id), "pruned");
        tune_db_save(j->db);
        if (total >= 0 && isfinite(total) && (!best->found || total < best->total)) {
            best->found = 1;
            best->total = total;
            memcpy(best->v, v, sizeof v);
            memcpy(best->shape_ms, shape_ms, (size_t)j->nshapes * sizeof *shape_ms);
        }
        if (best->found) t->best_ratio = masked_total(t, mask, t->base_ms) / best->total;
        pthread_mutex_unlock(&t->mu);
        progress(t, 2);
    }
    free(shape_ms);
}

static cJSON *params_json(const TuneSpace *s, const int *v) {
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; i < s->nparams; i++) cJSON_AddNumberToObject(o, s->params[i].name, v[i]);
    return o;
}

static size_t mnk(const GemmShape *s) { return s->m * s->n * s->k; }

// The crossover minimising the calls-weighted time, from per-shape times of the
// best indirect and best direct kernels (direct: -1 where not measured).
static size_t pick_crossover(const Tuner *t, const double *ind, const double *dir, double *total_out) {
    const TuneJob *j = t->job;
    size_t best_thr = 0;
    double best = INFINITY;
    for (int c = -1; c < j->nshapes; c++) {
        size_t thr = c < 0 ? 0 : mnk(&j->shapes[c]) + 1;  // shapes with m*n*k < thr go direct
        double total = 0;
        for (int i = 0; i < j->nshapes && isfinite(total); i++) {
            double ms = mnk(&j->shapes[i]) < thr ? dir[i] : ind[i];
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

static int index_of_value(const TuneParam *p, int value) {
    for (int i = 0; i < p->nvalues; i++)
        if (p->values[i] == value) return i;
    return -1;
}

// The family's next candidate into w; 0 once its search is over. quick: one
// sweep, and only the values next to the best so far in each define's list.
static int family_next(const TuneSpace *s, FamilySearch *fs, const Device *dev, int quick, int *w) {
    while (!fs->done) {
        if (fs->i == s->params[fs->p].nvalues) {
            fs->i = 0;
            fs->p++;
        }
        if (fs->p == s->nparams) {
            fs->p = 0;
            if (quick || !fs->improved || ++fs->sweep == 2 || s->nparams == 1) fs->done = 1;
            fs->improved = 0;
            continue;
        }
        memcpy(w, fs->v, sizeof fs->v);
        int i = fs->i++, at = index_of_value(&s->params[fs->p], fs->v[fs->p]);
        if (quick && at >= 0 && abs(i - at) != 1) continue;
        w[fs->p] = s->params[fs->p].values[i];
        if (w[fs->p] != fs->v[fs->p] && s->valid(w, dev)) return 1;
    }
    return 0;
}

// Under t->mu: the step's time of our kernels with every family at its best.
static void kernels_total(Tuner *t) {
    t->kern_best = 0;
    for (int f = 0; f < TUNE_NUM_FAMILIES; f++) t->kern_best += t->fam[f].ms;
    t->best_ratio = t->kern_base / t->kern_best;
}

// Under t->mu: family f's candidate w took ms (-1: wrong or illegal).
static void family_result(Tuner *t, int f, const int *w, double ms) {
    FamilySearch *fs = &t->fam[f];
    if (ms >= 0 && ms < fs->ms) {
        memcpy(fs->v, w, sizeof fs->v);
        fs->ms = ms;
        fs->improved = 1;
        tune_family_params(&tune_space_families[f], w, &t->kp);
    }
    kernels_total(t);
}

// Our kernels' tunables (src/runtime/kernel_params.h). Families are independent, so
// every round builds one program holding the next candidate of each family
// and times each family with its own defines.
static void search_kernels(Tuner *t, double deadline) {
    TuneJob *j = t->job;
    enum { NF = TUNE_NUM_FAMILIES };
    t->phase = "our kernels";
    t->cand = 0;
    if (t->kern_done || elapsed(t) + 1.0 > deadline) return;
    KernelBench *kb = kernel_bench_create(j->dev, j->cls, &j->model);
    KernelParams def = t->start_kp;
    FamilySearch *fam = t->fam;
    int want[NF], w[NF][TUNE_MAX_PARAMS];
    double ms[NF], t0 = now_seconds();
    for (int f = 0; f < NF; f++) want[f] = 1;
    // The starting point first, always: its outputs are the reference of every check.
    if (!kernel_bench_run(kb, &def, want, ms)) die("our kernels do not build with the device class's parameters");
    double cost = now_seconds() - t0;  // of a round, for the deadline
    char id[256];
    // Their times are the ones to beat, unless the database (load_recorded) or
    // an earlier call already holds them: the recorded candidates were timed beside those.
    pthread_mutex_lock(&t->mu);
    if (!(t->kern_best > 0)) {
        t->kern_base = 0;
        t->kp = def;
        for (int f = 0; f < NF; f++) {
            tune_family_values(&tune_space_families[f], &def, fam[f].v);
            fam[f].ms = ms[f];
            t->kern_base += ms[f];
            tune_space_id(&tune_space_families[f], fam[f].v, id, sizeof id);
            tune_db_record(j->db, j->workload, id, ms[f], NULL, 0);
        }
        kernels_total(t);
        tune_db_save(j->db);
    }
    pthread_mutex_unlock(&t->mu);
    while (elapsed(t) + 2 * cost <= deadline) {
        // Each family's next unmeasured candidate; measured ones come from the database.
        KernelParams cand = t->kp;
        int any = 0;
        for (int f = 0; f < NF; f++) {
            const TuneSpace *s = &tune_space_families[f];
            want[f] = 0;
            while (family_next(s, &fam[f], j->dev, j->quick, w[f])) {
                tune_space_id(s, w[f], id, sizeof id);
                const cJSON *e = tune_db_find(j->db, j->workload, id);
                if (!e) {
                    want[f] = any = 1;
                    tune_family_params(s, w[f], &cand);
                    break;
                }
                pthread_mutex_lock(&t->mu);
                family_result(t, f, w[f], recorded_total(e));
                pthread_mutex_unlock(&t->mu);
            }
        }
        if (!any) {
            t->kern_done = 1;
            break;
        }
        t->cand++;
        progress(t, 0);
        t0 = now_seconds();
        if (!kernel_bench_run(kb, &cand, want, ms)) {
            // Some family's candidate cannot run here: find which, alone on top of the best.
            for (int f = 0; f < NF; f++) {
                if (!want[f]) continue;
                int one[NF] = {0};
                one[f] = 1;
                KernelParams p = t->kp;
                tune_family_params(&tune_space_families[f], w[f], &p);
                if (!kernel_bench_run(kb, &p, one, ms)) ms[f] = -1;
            }
        }
        cost = now_seconds() - t0;
        pthread_mutex_lock(&t->mu);
        for (int f = 0; f < NF; f++) {
            if (!want[f]) continue;
            tune_space_id(&tune_space_families[f], w[f], id, sizeof id);
            tune_db_record(j->db, j->workload, id, ms[f], NULL, 0);
            family_result(t, f, w[f], ms[f]);
        }
        tune_db_save(j->db);
        pthread_mutex_unlock(&t->mu);
        progress(t, 2);
    }
    kernel_bench_free(kb);
}

static void ours_update(Tuner *t, const int *v, double total, const double *shape_ms) {
    for (int i = 0; i < t->job->nshapes; i++)
        if (shape_ms[i] >= 0 && (t->ours_ms[i] < 0 || shape_ms[i] < t->ours_ms[i])) {
            t->ours_ms[i] = shape_ms[i];
            memcpy(t->ours_v[i], v, sizeof t->ours_v[i]);
        }
    if (total >= 0 && (!t->ours.found || total < t->ours.total)) {
        t->ours.found = 1;
        t->ours.total = total;
        memcpy(t->ours.v, v, sizeof t->ours.v);
    }
}

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
        tune_db_record(j->db, j->workload, id, *base_total, t->base_ms, j->nshapes);
        tune_db_save(j->db);
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
// every GEMM search's best before any phase runs, so that a budget which ends
// early still writes all that is known.
static void load_recorded(Tuner *t) {
    const TuneJob *j = t->job;
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j->db->root, "measurements"),
                                                      j->workload), *e;
    int v[TUNE_MAX_PARAMS];
    double *shape_ms = mallocCheck((size_t)j->nshapes * sizeof *shape_ms);
    pthread_mutex_lock(&t->mu);
    cJSON_ArrayForEach(e, w) {
        const cJSON *ms = cJSON_GetObjectItemCaseSensitive(e, "shape_ms");
        // A quick tune neither searches nor sets CLBlast's parameters.
        if (!j->quick && parse_id(&tune_space_xgemm, e->string, v) && tune_space_xgemm.valid(v, j->dev))
            best_update(&t->ind, v, recorded_total(e), ms, j->nshapes);
        if (!j->quick && parse_id(&tune_space_xgemm_direct, e->string, v) && tune_space_xgemm_direct.valid(v, j->dev))
            best_update(&t->dir, v, recorded_total(e), ms, j->nshapes);
        char id[256];
        snprintf(id, sizeof id, "%s", e->string);
        size_t len = strlen(id), ql = strlen(QUICK_SUFFIX);
        int partial = len > ql && !strcmp(id + len - ql, QUICK_SUFFIX);
        if (partial) id[len - ql] = '\0';
        if (parse_id(&tune_space_gemm_cl, id, v) && tune_space_gemm_cl.valid(v, j->dev)) {
            for (int i = 0; i < j->nshapes; i++) {
                const cJSON *x = cJSON_GetArrayItem(ms, i);
                shape_ms[i] = cJSON_IsNumber(x) ? x->valuedouble : -1;
            }
            ours_update(t, v, partial ? -1 : recorded_total(e), shape_ms);
        }
    }
    // Our kernels: each family's best recorded candidate, if every family's starting point was recorded too.
    KernelParams def = t->start_kp;
    double base = 0, best = 0;
    int complete = 1;
    char id[256];
    for (int f = 0; f < TUNE_NUM_FAMILIES && complete; f++) {
        const TuneSpace *s = &tune_space_families[f];
        FamilySearch *fs = &t->fam[f];
        tune_family_values(s, &def, fs->v);
        tune_space_id(s, fs->v, id, sizeof id);
        const cJSON *d = tune_db_find(j->db, j->workload, id);
        fs->ms = d ? recorded_total(d) : -1;
        complete = fs->ms >= 0;
        base += fs->ms;
        cJSON_ArrayForEach(e, w) if (parse_id(s, e->string, v) && s->valid(v, j->dev)) {
            double x = recorded_total(e);
            if (x >= 0 && x < fs->ms) {
                fs->ms = x;
                memcpy(fs->v, v, sizeof fs->v);
            }
        }
        best += fs->ms;
    }
    if (complete) {
        t->kern_base = base;
        t->kern_best = best;
        t->kp = def;
        for (int f = 0; f < TUNE_NUM_FAMILIES; f++) tune_family_params(&tune_space_families[f], t->fam[f].v, &t->kp);
    }
    pthread_mutex_unlock(&t->mu);
    free(shape_ms);
}

// The device class's GEMM rule for shape s, or NULL (CLBlast).
static const GemmRule *class_rule_for(const TuneJob *j, const GemmShape *s) {
    for (int r = 0; j->cls && r < j->cls->ngemm; r++)
        if (gemm_rule_matches(&j->cls->gemm[r], s)) return &j->cls->gemm[r];
    return NULL;
}

static void gemm_values(const GemmParams *p, int *v) {
    const int x[] = {p->vw, p->tm, p->tn, p->wg0, p->wg1, p->kc};
    memcpy(v, x, sizeof x);
}

// The parameters a quick tune moves, most effective first (TM, TN, WG1, KC; KC only in a rule
// that splits k): each candidate is a program build, seconds on a CPU device.
static const int quick_params[] = {1, 2, 4, 5};
#define KC_PARAM 5

// Our GEMM's next candidate into v (cursor counts them); 0 when there is none.
// *rule is the class rule it serves (quick) or -1 (every shape). Quick: for
// each of the device class's rules by its share of the baseline time, every
// tile one value away from its tile in one parameter. Otherwise the class's
// tiles, the hand-picked seeds, then two thirds around the best so far, one
// third anywhere.
static int gemm_cl_next(Tuner *t, int *cursor, const int *rule_order, int *v, int *rule) {
    const TuneJob *j = t->job;
    const TuneSpace *s = &tune_space_gemm_cl;
    int c = (*cursor)++, nrules = j->cls ? j->cls->ngemm : 0;
    const int nq = (int)(sizeof quick_params / sizeof quick_params[0]);
    *rule = -1;
    if (j->quick) {  // the class's own tiles are the baseline, already timed
        if (c >= nrules * nq * 2) return 0;
        int r = rule_order[c / (nq * 2)], p = quick_params[c / 2 % nq], at;
        *rule = r;
        gemm_values(&j->cls->gemm[r].p, v);
        at = index_of_value(&s->params[p], v[p]) + (c % 2 ? 1 : -1);
        if (p == KC_PARAM && v[p] == 0) at = -1;
        if (at < 0 || at >= s->params[p].nvalues) v[p] = -1;  // no neighbour there: invalid, skipped
        else v[p] = s->params[p].values[at];
        return 1;
    }
    if (c < nrules) {
        gemm_values(&j->cls->gemm[c].p, v);
        return 1;
    }
    c -= nrules;
    if (c < s->nseeds) {
        memcpy(v, s->seeds[c], (size_t)s->nparams * sizeof *v);
        return 1;
    }
    return t->ours.found && next_pick(t) ? tune_space_neighbour(s, j->dev, &t->rng, t->ours.v, v)
                                         : tune_space_random(s, j->dev, &t->rng, v);
}

// Our GEMM (cl/gemm.cl) as a candidate family next to CLBlast: each parameter
// set is built once, checked against the reference results on every shape and
// timed; each shape keeps its fastest set, which finalize() sets against the baseline.
// est: seconds one candidate is expected to take (grows with the slowest seen).
static void search_gemm_cl(Tuner *t, double deadline, double est) {
    TuneJob *j = t->job;
    const TuneSpace *s = &tune_space_gemm_cl;
    const char *wl = j->workload;
    int n = j->nshapes, v[TUNE_MAX_PARAMS];
    double *shape_ms = mallocCheck((size_t)n * sizeof *shape_ms);
    t->phase = "our GEMM";
    t->cand = 0;
    char id[256];
    int cursor = 0, skipped = 0, rule;
    // Quick: the class rules by their shapes' share of the baseline time, largest first.
    int nrules = j->cls ? j->cls->ngemm : 0, rule_order[GEMM_RULES_MAX];
    double share[GEMM_RULES_MAX] = {0};
    for (int i = 0; i < n; i++) {
        const GemmRule *r = class_rule_for(j, &j->shapes[i]);
        if (r) share[r - j->cls->gemm] += t->base_ms[i] * (double)j->shapes[i].calls;
    }
    for (int r = 0; r < nrules; r++) {
        int at = r;
        while (at > 0 && share[rule_order[at - 1]] < share[r]) rule_order[at] = rule_order[at - 1], at--;
        rule_order[at] = r;
    }
    while (skipped < 500) {
        if (!gemm_cl_next(t, &cursor, rule_order, v, &rule)) break;
        if (!s->valid(v, j->dev) || (rule >= 0 && share[rule] <= 0)) continue;
        tune_space_id(s, v, id, sizeof id);
        // A quick candidate is timed on its rule's shapes only: recorded apart, so a full tune times it on all.
        if (rule >= 0) strncat(id, QUICK_SUFFIX, sizeof id - strlen(id) - 1);
        if (tune_db_find(j->db, wl, id)) {
            skipped++;
            continue;
        }
        skipped = 0;
        if (elapsed(t) + est > deadline) break;
        t->cand++;
        progress(t, 0);
        double t0 = now_seconds(), total = 0;
        GemmParams p = tune_gemm_params(v);
        GemmKernels k;
        gemm_kernels_build(&k, j->dev, &p);
        for (int i = 0; i < n; i++) shape_ms[i] = -1;
        for (int oi = 0; oi < n && total >= 0; oi++) {
            int i = t->order[oi];
            if (rule >= 0 && class_rule_for(j, &j->shapes[i]) != &j->cls->gemm[rule]) continue;
            double ms = gemm_time_cl(j->dev, &j->shapes[i], &t->bufs, &k, TIME_PER_SHAPE, t->out);
            // A wrong result on any shape rejects the whole set: it is a bug, not a trade-off.
            if (ms < 0 || gemm_rel_error(t->out, t->ref[i], gemm_c_elems(&j->shapes[i])) > MAX_REL_ERROR) total = -1;
            else total += ms * (double)j->shapes[i].calls;
            shape_ms[i] = total < 0 ? -1 : ms;
        }
        gemm_kernels_free(&k);
        double took = now_seconds() - t0;
        if (took > est) est = took;
        pthread_mutex_lock(&t->mu);
        if (total < 0)
            for (int i = 0; i < n; i++) shape_ms[i] = -1;
        tune_db_record(j->db, wl, id, total, shape_ms, n);
        tune_db_save(j->db);
        ours_update(t, v, rule >= 0 ? -1 : total, shape_ms);  // a partial total is no candidate for "best overall"
        if (t->ours.found) t->best_ratio = t->base_total / t->ours.total;
        pthread_mutex_unlock(&t->mu);
        progress(t, 2);
    }
    free(shape_ms);
}

static void date_now(char *buf, size_t n) {
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, n, "%Y-%m-%d %H:%M UTC", &tm);
}

// Writes "best" from what has been measured so far. checked_total >= 0 is the
// combination's re-measured time; otherwise the prediction from its parts
// (each of which was checked against the defaults) is used.
static void finalize(Tuner *t, double checked_total) {
    TuneJob *j = t->job;
    cJSON *best = cJSON_CreateObject();
    char date[64];
    date_now(date, sizeof date);
    cJSON_AddStringToObject(best, "date", date);
    cJSON_AddStringToObject(best, "workload", j->workload);
    cJSON_AddNumberToObject(best, "gemm_ms_default", t->base_total);
    cJSON_AddStringToObject(best, "baseline", j->quick ? TUNE_BASELINE_QUICK : "CLBlast defaults");
    cJSON *clb = cJSON_AddObjectToObject(best, "clblast");
    double tuned = t->base_total;
    // A quick tune keeps the CLBlast parameters an earlier full tune chose.
    const cJSON *old_clb = cJSON_GetObjectItemCaseSensitive(tune_db_best(j->db), "clblast"), *x;
    if (j->quick) cJSON_ArrayForEach(x, old_clb) cJSON_AddItemToObject(clb, x->string, cJSON_Duplicate(x, 1));
    if (t->ind.found) {
        double predicted = t->ind.total;
        size_t thr = pick_crossover(t, t->ind.shape_ms, t->dir.found ? t->dir.shape_ms : t->dir_default, &predicted);
        double total = checked_total >= 0 ? checked_total : predicted;
        // A final check was timed in this run: compare it with this run's defaults.
        if (total < (checked_total >= 0 ? t->base_fresh : t->base_total)) {
            tuned = total;
            cJSON_AddItemToObject(clb, "Xgemm", params_json(&tune_space_xgemm, t->ind.v));
            if (t->dir.found)
                cJSON_AddItemToObject(clb, "XgemmDirect", params_json(&tune_space_xgemm_direct, t->dir.v));
            cJSON *gr = cJSON_AddObjectToObject(clb, "GemmRoutine");
            cJSON_AddNumberToObject(gr, "XGEMM_MIN_INDIRECT_SIZE", (double)thr);
        } else {
            printf("tune: nothing beat CLBlast's defaults (%.2f vs %.2f ms); keeping them\n", total,
                    t->base_total);
        }
    }
    // Per shape, our GEMM where its best checked candidate beats CLBlast's time there.
    double *clb_ms = mallocCheck((size_t)j->nshapes * sizeof *clb_ms);
    for (int i = 0; i < j->nshapes; i++) clb_ms[i] = t->base_ms[i];
    if (tuned < t->base_total) {
        double unused;
        size_t thr = pick_crossover(t, t->ind.shape_ms, t->dir.found ? t->dir.shape_ms : t->dir_default, &unused);
        for (int i = 0; i < j->nshapes; i++) {
            double ms = mnk(&j->shapes[i]) < thr ? (t->dir.found ? t->dir.shape_ms : t->dir_default)[i]
                                                 : t->ind.shape_ms[i];
            if (ms >= 0) clb_ms[i] = ms;
        }
    }
    cJSON *ours = cJSON_AddArrayToObject(best, "gemm_cl");
    int nours = 0;
    for (int i = 0; i < j->nshapes; i++) {
        const GemmShape *g = &j->shapes[i];
        int win = t->ours_ms[i] >= 0 && t->ours_ms[i] < clb_ms[i];
        // A full tune's baseline is CLBlast: where it wins on a shape the class's rules send through our
        // GEMM, the database keeps that shape with CLBlast.
        int keep_clblast = !win && !j->quick && class_rule_for(j, g);
        if (!win && !keep_clblast) continue;
        cJSON *e = win ? params_json(&tune_space_gemm_cl, t->ours_v[i]) : cJSON_CreateObject();
        if (keep_clblast) cJSON_AddTrueToObject(e, "clblast");
        const char *names[] = {"m", "n", "k", "lda", "ldb", "ldc", "stride_a", "stride_b", "stride_c", "batch"};
        const size_t vals[] = {g->m, g->n, g->k, g->lda, g->ldb, g->ldc, g->stride_a, g->stride_b, g->stride_c,
                               g->batch};
        cJSON_AddNumberToObject(e, "trans_a", g->trans_a);
        cJSON_AddNumberToObject(e, "trans_b", g->trans_b);
        for (size_t f = 0; f < sizeof vals / sizeof vals[0]; f++) cJSON_AddNumberToObject(e, names[f], (double)vals[f]);
        if (t->ours_ms[i] >= 0) cJSON_AddNumberToObject(e, "ms", t->ours_ms[i]);
        cJSON_AddNumberToObject(e, j->quick ? "class_ms" : "clblast_ms", clb_ms[i]);
        cJSON_AddItemToArray(ours, e);
        if (!win) continue;
        tuned -= (clb_ms[i] - t->ours_ms[i]) * (double)g->calls;
        nours++;
    }
    free(clb_ms);
    cJSON_AddNumberToObject(best, "gemm_ms_tuned", tuned);
    cJSON_AddBoolToObject(best, "gemm_checked", checked_total >= 0);
    if (t->kern_best > 0) {
        cJSON *k = cJSON_AddObjectToObject(best, "kernels");
        for (int i = 0; i < KP_COUNT; i++) cJSON_AddNumberToObject(k, kernel_param_name((KernelParamId)i), t->kp.v[i]);
        cJSON_AddNumberToObject(best, "kernels_ms_default", t->kern_base);
        cJSON_AddNumberToObject(best, "kernels_ms_tuned", t->kern_best);
    }
    tune_db_set_best(j->db, best);
    tune_db_save(j->db);
    t->best_ratio = t->base_total / tuned;
    t->phase = "done";
    progress(t, 1);
    printf("tune: GEMMs per step %.2f ms with %s, %.2f ms tuned (%.2fx%s)", t->base_total,
           j->quick ? "the device class's defaults" : "CLBlast defaults", tuned, t->base_total / tuned,
           checked_total >= 0 ? "" : ", predicted from the parts");
    if (t->kern_best > 0)
        printf("; our kernels %.2f ms with the class's defaults, %.2f ms tuned (%.2fx)", t->kern_base, t->kern_best,
               t->kern_base / t->kern_best);
    if (nours) printf("; our GEMM on %d of %d shapes", nours, j->nshapes);
    printf("; %.0f s of %.0f s budget\ntune: wrote %s\n", elapsed(t), j->budget, j->db->path);
    fflush(stdout);
}

// The budget is a promise: a candidate cannot be interrupted inside CLBlast or
// the OpenCL compiler (which on POCL can take tens of seconds), so at the
// deadline this thread writes the best found so far and ends the process. The
// interrupted candidate was not recorded; the next tune tries it again.
static void *watchdog(void *arg) {
    Tuner *t = arg;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    double left = t->job->budget - elapsed(t);
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
        if (t->have_base) finalize(t, -1);
        fflush(stdout);
        if (!t->have_base)
            fprintf(stderr, "gpt2cl: error: the budget of %.0f s did not even cover timing the baseline; nothing "
                    "written (give a larger --budget)\n", t->job->budget);
        _exit(t->have_base ? 0 : 1);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

static void tuner_free(Tuner *t) {
    for (int i = 0; i < t->job->nshapes; i++) free(t->ref[i]);
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

// The full search after the baseline (see the README's Tuning section): our
// kernels, CLBlast's Xgemm and XgemmDirect, our GEMM, left-over time, and a
// final check of the CLBlast combination, whose time it returns (-1: none).
static double search_full(Tuner *t, double check_cost) {
    TuneJob *j = t->job;
    int n = j->nshapes;
    // The budget: up to a third for our kernels (their search ends by itself;
    // on POCL each round is mostly the 4 s program build), about a third of
    // what is left for Xgemm, a fifth for XgemmDirect, most of the rest for our
    // GEMM, a final check.
    // 2. Our kernels' tunables.
    search_kernels(t, elapsed(t) + 0.35 * (j->budget - elapsed(t) - check_cost));
    progress(t, 1);
    double left = j->budget - elapsed(t);

    // 3. Xgemm, every GEMM forced through the indirect path.
    t->best_ratio = 1.0;
    t->phase = "Xgemm";
    CLBLAST_CHECK(tune_override_min_indirect(j->dev, 0));
    search_clblast(t, &tune_space_xgemm, NULL, elapsed(t) + 0.35 * left, &t->ind);
    progress(t, 1);

    // 4. XgemmDirect, forced direct, on the shapes small enough for it.
    unsigned char *mask = mallocCheck((size_t)n);
    int ndirect = 0;
    for (int i = 0; i < n; i++) ndirect += mask[i] = mnk(&j->shapes[i]) <= DIRECT_MAX_MNK;
    if (ndirect) {
        t->phase = "XgemmDirect";
        t->best_ratio = 1.0;
        CLBLAST_CHECK(tune_override_min_indirect(j->dev, HUGE_MIN_INDIRECT));
        search_clblast(t, &tune_space_xgemm_direct, mask, elapsed(t) + 0.3 * (j->budget - elapsed(t)), &t->dir);
        progress(t, 1);
    }

    // 5. Our GEMM, per shape, in most of what is left.
    t->best_ratio = 1.0;
    search_gemm_cl(t, elapsed(t) + 0.7 * (j->budget - elapsed(t) - check_cost), check_cost);
    progress(t, 1);

    // Time left over goes to our kernels' search if it did not finish (it
    // resumes from the database), then back to Xgemm, the kernel that
    // dominates large models, keeping room for the final check.
    search_kernels(t, j->budget - check_cost - t->est);
    progress(t, 1);
    if (elapsed(t) + t->est + check_cost < j->budget) {
        t->phase = "Xgemm";
        t->best_ratio = t->ind.found ? t->base_total / t->ind.total : 1.0;
        CLBLAST_CHECK(tune_override_min_indirect(j->dev, 0));
        search_clblast(t, &tune_space_xgemm, NULL, j->budget - check_cost, &t->ind);
        progress(t, 1);
    }

    // 6. The CLBlast combination, checked and timed once more, if the budget allows.
    double checked = -1;
    if (t->ind.found && elapsed(t) + check_cost < j->budget) {
        double predicted;
        size_t thr = pick_crossover(t, t->ind.shape_ms, t->dir.found ? t->dir.shape_ms : t->dir_default, &predicted);
        t->phase = "final check";
        progress(t, 0);
        CLBLAST_CHECK(tune_space_override(&tune_space_xgemm, j->dev, t->ind.v));
        if (t->dir.found) CLBLAST_CHECK(tune_space_override(&tune_space_xgemm_direct, j->dev, t->dir.v));
        CLBLAST_CHECK(tune_override_min_indirect(j->dev, thr));
        double *shape_ms = mallocCheck((size_t)n * sizeof *shape_ms);
        checked = eval_shapes(t, NULL, INFINITY, shape_ms);
        free(shape_ms);
        if (checked < 0) die("the tuned combination gives wrong results; run `gpt2cl tune --restart`");
    }
    free(mask);
    return checked;
}

int tuner_run(TuneJob *j) {
    Tuner t = {.job = j, .rng = 0x9E3779B97F4A7C15ULL, .phase = "defaults"};
    int n = j->nshapes;
    pthread_mutex_init(&t.mu, NULL);
    pthread_cond_init(&t.cond, NULL);
    t.ind.shape_ms = mallocCheck((size_t)n * sizeof(double));
    t.ours_ms = mallocCheck((size_t)n * sizeof *t.ours_ms);
    t.ours_v = mallocCheck((size_t)n * sizeof *t.ours_v);
    for (int i = 0; i < n; i++) t.ours_ms[i] = -1;
    t.dir.shape_ms = mallocCheck((size_t)n * sizeof(double));
    for (int i = 0; i < n; i++) t.dir.shape_ms[i] = -1;
    if (j->restart) {
        cJSON *m = cJSON_GetObjectItemCaseSensitive(j->db->root, "measurements");
        cJSON_DeleteItemFromObjectCaseSensitive(m, j->workload);
    }
    pthread_t dog;
    if (pthread_create(&dog, NULL, watchdog, &t) != 0) die("cannot start the tuning watchdog thread");
    gemm_bufs_alloc(&t.bufs, j->dev, j->shapes, n, 1234);
    t.out = mallocCheck(t.bufs.c_elems * sizeof(float));
    t.ref = mallocCheck((size_t)n * sizeof *t.ref);
    t.base_ms = mallocCheck((size_t)n * sizeof *t.base_ms);
    t.order = mallocCheck((size_t)n * sizeof *t.order);

    // 1. The baseline, the reference results and the time to beat: CLBlast's
    // defaults, or for a quick tune each shape as the device class runs it.
    t.start_kp = j->cls ? device_class_kernel_params(j->cls, j->dev) : kernel_params_default(j->dev);
    if (j->quick && j->cls) device_class_apply_clblast(j->cls, j->dev);
    if (j->quick) tune_apply_clblast(j->dev, cJSON_GetObjectItemCaseSensitive(tune_db_best(j->db), "clblast"));
    progress(&t, 0);
    double t0 = now_seconds(), base_total = 0;
    GemmKernels rule_k[GEMM_RULES_MAX] = {0};
    for (int i = 0; i < n; i++) {
        t.ref[i] = mallocCheck(gemm_c_elems(&j->shapes[i]) * sizeof(float));
        const GemmRule *r = j->quick ? class_rule_for(j, &j->shapes[i]) : NULL;
        if (r) {
            GemmKernels *k = &rule_k[r - j->cls->gemm];
            if (!k->program) gemm_kernels_build(k, j->dev, &r->p);
            t.base_ms[i] = gemm_time_cl(j->dev, &j->shapes[i], &t.bufs, k, TIME_PER_SHAPE, t.ref[i]);
        } else {
            t.base_ms[i] = gemm_time(j->dev, &j->shapes[i], &t.bufs, TIME_PER_SHAPE, t.ref[i]);
        }
        if (t.base_ms[i] < 0) die("the GEMM of shape %d fails with %s", i, r ? "the class's tile" : "CLBlast's defaults");
        base_total += t.base_ms[i] * (double)j->shapes[i].calls;
        t.order[i] = i;
    }
    for (int r = 0; r < GEMM_RULES_MAX; r++) gemm_kernels_free(&rule_k[r]);
    t.est = now_seconds() - t0;
    double check_cost = t.est;  // a final check runs every shape once more, like this
    t.base_fresh = base_total;
    use_recorded_base(&t, &base_total);
    // Below 384^3 (the smallest crossover in CLBlast's database) the defaults
    // ran the direct kernel: its default parameters are a direct candidate too.
    t.dir_default = mallocCheck((size_t)n * sizeof(double));
    for (int i = 0; i < n; i++) t.dir_default[i] = mnk(&j->shapes[i]) < 384 * 384 * 384 ? t.base_ms[i] : -1;
    for (int a = 1; a < n; a++)  // insertion sort by weight, largest first
        for (int b = a; b > 0 && t.base_ms[t.order[b]] * (double)j->shapes[t.order[b]].calls >
                                      t.base_ms[t.order[b - 1]] * (double)j->shapes[t.order[b - 1]].calls;
             b--) {
            int x = t.order[b];
            t.order[b] = t.order[b - 1];
            t.order[b - 1] = x;
        }
    pthread_mutex_lock(&t.mu);
    t.base_total = base_total;
    t.have_base = 1;
    t.best_ratio = 1.0;
    pthread_mutex_unlock(&t.mu);
    load_recorded(&t);
    printf("tune: %s: %.2f ms of GEMMs per step (measured in %.1f s, with compilation)\n",
            j->quick ? "device-class defaults" : "CLBlast defaults", t.base_total, t.est);
    // Quick: our GEMM first, the larger share of a step wherever the class uses it; then our kernels.
    double checked = -1;
    if (j->quick) {
        search_gemm_cl(&t, j->budget - check_cost, check_cost);
        progress(&t, 1);
        search_kernels(&t, j->budget);
        progress(&t, 1);
    } else {
        checked = search_full(&t, check_cost);
    }
    pthread_mutex_lock(&t.mu);
    finalize(&t, checked);
    t.done = 1;
    pthread_cond_signal(&t.cond);
    pthread_mutex_unlock(&t.mu);
    pthread_join(dog, NULL);
    tuner_free(&t);
    return 0;
}
