// The GEMM searches: CLBlast's Xgemm and XgemmDirect parameters, and our GEMM
// (cl/gemm.cl) per shape. Each is a list of candidates (tune/candidates.h),
// each candidate set up, run on its shapes against the reference results,
// timed and recorded by one step.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/tunables.h"
#include "tune/tuner_state.h"
#include "util/util.h"

// The parameters of tune_space_gemm_cl a quick tune moves, most effective first
// (TM, TN, WG1, KC; KC only in a rule that splits k): each candidate is a
// program build, seconds on a CPU device.
static const int quick_params[] = {1, 2, 4, 5};
#define KC_PARAM 5

typedef struct {
    Candidates c;
    Best *best;                 // the fastest candidate timed on all the search's shapes
    const unsigned char *mask;  // the search's shapes (NULL: all)
    // A quick tune's candidates: the shapes of starting point i (its class rule's),
    // whose partial total does not count for best.
    const unsigned char *start_mask[CANDIDATES_MAX_START];
    int shape_bests;  // our GEMM: each shape keeps its fastest candidate (t->ours_ms), so nothing is pruned
    double *est;      // seconds one candidate takes (c.est): grows with the slowest seen
} GemmSearch;

double eval_shapes(Tuner *t, const unsigned char *mask, double prune_at, const GemmKernels *k, double *shape_ms) {
    const TuneJob *j = t->job;
    double total = 0;
    for (int i = 0; i < j->nshapes; i++) shape_ms[i] = -1;
    for (int oi = 0; oi < j->nshapes; oi++) {
        int i = t->order[oi];
        if (mask && !mask[i]) continue;
        double ms = k ? gemm_time_cl(j->dev, &j->shapes[i], &t->bufs, k, TIME_PER_SHAPE, t->out)
                      : gemm_time(j->dev, &j->shapes[i], &t->bufs, TIME_PER_SHAPE, t->out);
        // A wrong result on any shape rejects the whole set: it is a bug, not a trade-off.
        if (ms < 0) return -1;
        if (gemm_rel_error(t->out, t->ref[i], gemm_c_elems(&j->shapes[i])) > MAX_REL_ERROR) return -1;
        shape_ms[i] = ms;
        total += ms * (double)j->shapes[i].calls;
        if (total > prune_at) return INFINITY;
    }
    return total;
}

void best_offer(Best *b, const int *v, double total, const double *shape_ms, int nshapes) {
    if (total < 0 || !isfinite(total) || (b->found && total >= b->total)) return;
    b->found = 1;
    b->total = total;
    memcpy(b->v, v, sizeof b->v);
    if (b->shape_ms) memcpy(b->shape_ms, shape_ms, (size_t)nshapes * sizeof *shape_ms);
}

void shape_bests_offer(Tuner *t, const int *v, const double *shape_ms) {
    for (int i = 0; i < t->job->nshapes; i++)
        if (shape_ms[i] >= 0 && (t->ours_ms[i] < 0 || shape_ms[i] < t->ours_ms[i])) {
            t->ours_ms[i] = shape_ms[i];
            memcpy(t->ours_v[i], v, sizeof t->ours_v[i]);
        }
}

static double masked_total(const Tuner *t, const unsigned char *mask, const double *ms) {
    double total = 0;
    for (int i = 0; i < t->job->nshapes; i++)
        if (!mask || mask[i]) total += ms[i] * (double)t->job->shapes[i].calls;
    return total;
}

// Candidate v of space s on the shapes of mask into shape_ms (see eval_shapes).
static double gemm_candidate(Tuner *t, const TuneSpace *s, const int *v, const unsigned char *mask, double prune_at,
                             double *shape_ms) {
    const Device *dev = t->job->dev;
    if (s != &tune_space_gemm_cl) {
        if (tune_space_override(s, dev, v) != CLBlastSuccess) return -1;
        return eval_shapes(t, mask, prune_at, NULL, shape_ms);
    }
    GemmParams p = tune_gemm_params(v);
    GemmKernels k;
    if (gemm_kernels_build(&k, dev, &p)) return -1;  // a tile that does not build here is rejected
    double total = eval_shapes(t, mask, prune_at, &k, shape_ms);
    gemm_kernels_free(&k);
    return total;
}

// Times candidate v, records it under id and offers it to the search's bests.
// A candidate past the best's total is cut short and recorded as pruned, at that total.
static void gemm_step(Tuner *t, GemmSearch *g, const int *v, const char *id, double *shape_ms) {
    const int n = t->job->nshapes;
    const unsigned char *part = g->c.index >= 0 ? g->start_mask[g->c.index] : NULL;
    double prune_at = g->best->found && !g->shape_bests ? g->best->total : INFINITY;
    t->cand++;
    tuner_progress(t, 0);
    double t0 = now_seconds();
    double total = gemm_candidate(t, g->c.space, v, part ? part : g->mask, prune_at, shape_ms);
    double took = now_seconds() - t0;
    if (took > *g->est) *g->est = took;
    tuner_fail(t, device_status(t->job->dev));
    if (t->status) return;  // the times are not to be trusted: nothing recorded
    pthread_mutex_lock(&t->mu);
    if (total < 0)
        for (int i = 0; i < n; i++) shape_ms[i] = -1;
    tuner_record(t, id, isfinite(total) ? total : (total < 0 ? -1 : prune_at), shape_ms, n);
    if (isinf(total)) cJSON_AddTrueToObject(tune_db_find(t->job->db, t->job->workload, id), "pruned");
    if (g->shape_bests) shape_bests_offer(t, v, shape_ms);
    if (!part) best_offer(g->best, v, total, shape_ms, n);
    if (g->best->found) t->best_ratio = masked_total(t, g->mask, t->base_ms) / g->best->total;
    pthread_mutex_unlock(&t->mu);
    if (!t->status) tuner_progress(t, 2);
}

static void gemm_search_init(Tuner *t, GemmSearch *g, const TuneSpace *s, Best *best, double deadline, double *est) {
    const TuneJob *j = t->job;
    memset(g, 0, sizeof *g);
    g->best = best;
    g->est = est;
    g->c = (Candidates){.space = s, .dev = j->dev, .db = j->db, .workload = j->workload, .rng = &t->rng,
                        .around = AROUND_DRAW, .centre = best, .t_start = j->t_start, .deadline = deadline, .est = est};
}

static void gemm_search_run(Tuner *t, GemmSearch *g) {
    int v[TUNE_MAX_PARAMS];
    char id[512];
    double *shape_ms = mallocCheck((size_t)t->job->nshapes * sizeof *shape_ms);
    t->cand = 0;
    while (!t->status && candidates_next(&g->c, v, id, sizeof id)) gemm_step(t, g, v, id, shape_ms);
    free(shape_ms);
}

void search_clblast(Tuner *t, const TuneSpace *s, const unsigned char *mask, double deadline, Best *best) {
    GemmSearch g;
    gemm_search_init(t, &g, s, best, deadline, &t->est);
    g.mask = mask;
    candidates_add_seeds(&g.c);
    gemm_search_run(t, &g);
}

static void gemm_values(const GemmParams *p, int *v) {
    const int x[] = {p->vw, p->tm, p->tn, p->wg0, p->wg1, p->kc};
    memcpy(v, x, sizeof x);
}

static int index_of_value(const TuneParam *p, int value) {
    for (int i = 0; i < p->nvalues; i++)
        if (p->values[i] == value) return i;
    return -1;
}

// A quick tune's candidates: for each of the device class's rules by its share
// of the baseline time, largest first, every tile one value away from the
// rule's tile in one of quick_params, timed on the rule's shapes (masks: one
// row of nshapes per rule).
static void quick_candidates(Tuner *t, GemmSearch *g, unsigned char *masks) {
    const TuneJob *j = t->job;
    const TuneSpace *s = &tune_space_gemm_cl;
    int n = j->nshapes, nrules = j->cls ? j->cls->ngemm : 0, order[GEMM_RULES_MAX];
    double share[GEMM_RULES_MAX] = {0};
    for (int i = 0; i < n; i++) {
        const GemmRule *r = tuner_class_rule(j, &j->shapes[i]);
        for (int q = 0; q < nrules; q++) masks[q * n + i] = r == &j->cls->gemm[q];
        if (r) share[r - j->cls->gemm] += t->base_ms[i] * (double)j->shapes[i].calls;
    }
    for (int r = 0; r < nrules; r++) {
        int at = r;
        while (at > 0 && share[order[at - 1]] < share[r]) order[at] = order[at - 1], at--;
        order[at] = r;
    }
    for (int o = 0; o < nrules; o++) {
        int r = order[o], v[TUNE_MAX_PARAMS];
        if (share[r] <= 0) continue;
        for (size_t q = 0; q < sizeof quick_params / sizeof quick_params[0]; q++)
            for (int step = -1; step <= 1; step += 2) {
                int p = quick_params[q];
                gemm_values(&j->cls->gemm[r].p, v);
                int at = index_of_value(&s->params[p], v[p]) + step;
                if ((p == KC_PARAM && v[p] == 0) || at < 0 || at >= s->params[p].nvalues) continue;
                v[p] = s->params[p].values[at];
                g->start_mask[g->c.nstart] = masks + (size_t)r * (size_t)n;
                candidates_add(&g->c, v);
            }
    }
}

// Our GEMM as a candidate family next to CLBlast: each parameter set is built
// once, checked against the reference results on every shape and timed; each
// shape keeps its fastest set, which tuner_finalize() sets against the
// baseline. Candidates: the class's tiles, the space's seeds, then draws around
// the best over all shapes; a quick tune's only (quick_candidates), recorded
// apart, so that a full tune times them on all shapes.
void search_gemm_cl(Tuner *t, double deadline, double est) {
    const TuneJob *j = t->job;
    GemmSearch g;
    gemm_search_init(t, &g, &tune_space_gemm_cl, &t->ours, deadline, &est);
    g.shape_bests = 1;
    unsigned char *masks = NULL;
    if (j->quick) {  // the class's own tiles are the baseline, already timed
        masks = mallocCheck((size_t)GEMM_RULES_MAX * (size_t)j->nshapes + 1);
        g.c.around = AROUND_NONE;
        g.c.id_suffix = QUICK_SUFFIX;
        quick_candidates(t, &g, masks);
    } else {
        int v[TUNE_MAX_PARAMS] = {0};
        for (int r = 0; j->cls && r < j->cls->ngemm; r++) {
            gemm_values(&j->cls->gemm[r].p, v);
            candidates_add(&g.c, v);
        }
        candidates_add_seeds(&g.c);
    }
    gemm_search_run(t, &g);
    free(masks);
}
