// The tuner's state during `gpt2cl tune`, shared by its parts (private to tune/):
// the run and its budget phases (tuner.c), the GEMM searches (gemm_search.c),
// our kernels' search (kernel_search.c) and the result it writes (tune_result.c).
#pragma once
#include <pthread.h>

#include "tune/candidates.h"
#include "tune/gemm_bench.h"
#include "tune/tuner.h"
#include "util/rng.h"

#define TIME_PER_SHAPE 0.05          // seconds of repetitions per shape and candidate (one run at least)
#define MAX_REL_ERROR 1e-3           // vs the default parameters' result, relative to max |C|
#define QUICK_SUFFIX " (quick)"      // a candidate timed on some shapes only

// The search of one kernel family: coordinate sweeps around its best so far.
typedef struct {
    Candidates c;
    Best best;  // total: ms per step
} FamilySearch;

typedef struct {
    TuneJob *job;
    GemmBufs bufs;
    float **ref, *out;
    double *base_ms, base_total;
    double base_fresh;  // the defaults' total as measured in this run (base_total may be the recorded one)
    int *order;  // shapes by default time x calls, largest first (so pruning cuts early)
    double est;  // seconds one full candidate evaluation takes, for the budget
    double check_cost;  // seconds the final check takes: every shape once more, like the baseline
    double checked;     // the final check's total (-1: none)
    Rng rng;
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
    // The first failure (the database cannot be saved, the device failed): the
    // searches stop, nothing more is written and tuner_run returns it.
    Status status;
} Tuner;

// tuner.c
double tuner_elapsed(const Tuner *t);
// Keeps s as t->status unless a failure is already kept.
void tuner_fail(Tuner *t, Status s);
// final: 0 = transient (terminal only), 1 = end of a phase, 2 = a candidate's result.
void tuner_progress(Tuner *t, int final);
// Under t->mu: records one measurement (see tune_db_record) and saves the database.
void tuner_record(Tuner *t, const char *id, double ms, const double *shape_ms, int nshapes);
// The ms of a database entry: -1 rejected, INFINITY pruned.
double tuner_recorded_total(const cJSON *e);
// Parses a database id "Kernel|A=1 B=2" of space s into v; 0 if it does not fit s.
int tuner_parse_id(const TuneSpace *s, const char *id, int *v);
// The device class's GEMM rule for shape s, or NULL (CLBlast).
const GemmRule *tuner_class_rule(const TuneJob *j, const GemmShape *s);
size_t tuner_mnk(const GemmShape *s);

// gemm_search.c
// Runs every shape in mask (NULL: all) with CLBlast, or with our GEMM's kernels k;
// fills shape_ms (-1 when skipped). Returns the calls-weighted total in ms, -1
// if a run failed or a result was wrong, or INFINITY once the partial total passes prune_at.
double eval_shapes(Tuner *t, const unsigned char *mask, double prune_at, const GemmKernels *k, double *shape_ms);
// b takes v if total (-1 rejected, INFINITY pruned) is its fastest; shape_ms is copied where b has room.
void best_offer(Best *b, const int *v, double total, const double *shape_ms, int nshapes);
// Each shape keeps our GEMM's fastest checked candidate (shape_ms -1: not timed).
void shape_bests_offer(Tuner *t, const int *v, const double *shape_ms);
// Searches one CLBlast kernel's space on the shapes of mask (NULL: all) until the deadline (seconds since start).
void search_clblast(Tuner *t, const TuneSpace *s, const unsigned char *mask, double deadline, Best *best);
// Our GEMM (cl/gemm.cl) per shape until the deadline; est: seconds one candidate is expected to take.
void search_gemm_cl(Tuner *t, double deadline, double est);

// kernel_search.c
// Sets up each family's search (before load_recorded and the first search_kernels).
void kernels_init(Tuner *t);
// Our kernels' tunables, family by family, until the deadline; resumes from the database.
void search_kernels(Tuner *t, double deadline);
// Under t->mu: each family's best recorded candidate (of the workload's measurements,
// recorded), if every family's starting point was recorded too.
void kernels_load_recorded(Tuner *t, const cJSON *recorded);

// tune_result.c
// The crossover minimising the calls-weighted time, from per-shape times of the
// best indirect and best direct kernels (direct: -1 where not measured).
size_t tuner_crossover(const Tuner *t, const double *ind, const double *dir, double *total_out);
// Writes "best" from what has been measured so far and prints the summary (under t->mu);
// fails where the database cannot be saved.
Status tuner_finalize(Tuner *t, double checked_total);
