// The candidates of one search over a declared space (runtime/tunables.h), in
// order: the starting points (the caller's, then the space's seeds), then
// around the best so far: drawn (two thirds one step from it, one third
// anywhere) or swept (each parameter through its values). Illegal ones are
// dropped, ones the database holds are skipped (a tune resumes where the last
// stopped) or given back as recorded, and none is given once timing it would
// pass the deadline.
#pragma once
#include "runtime/ops.h"
#include "runtime/tunables.h"
#include "runtime/tune_db.h"
#include "util/rng.h"

// The class's GEMM tiles and the space's seeds, or a quick tune's neighbours of each rule's tile.
#define CANDIDATES_MAX_START (GEMM_RULES_MAX * 8 + 4)

// The fastest complete candidate of a search so far: the centre of its draws.
typedef struct {
    int found;
    int v[TUNE_MAX_PARAMS];
    double total;      // calls-weighted ms per step
    double *shape_ms;  // its per-shape times (-1: not timed)
} Best;

typedef enum {
    AROUND_NONE,        // the starting points only
    AROUND_DRAW,        // random draws around the centre
    AROUND_SWEEP,       // coordinate sweeps: each parameter through its values, the others at the centre's;
                        // a second sweep if the first moved the centre
    AROUND_SWEEP_NEAR,  // one sweep, each parameter only to the values next to the centre's
} Around;

typedef struct {
    const TuneSpace *space;
    const Device *dev;
    const TuneDb *db;
    const char *workload;
    const char *id_suffix;  // appended to every id
    Rng *rng;
    Around around;
    const Best *centre;  // the best so far (found), read at each candidate
    // Stops once now_seconds() - t_start + *est passes deadline (est: seconds one
    // candidate takes; NULL: no deadline, the caller keeps one).
    double t_start, deadline;
    const double *est;
    int replay;  // give recorded candidates back with their entry in recorded instead of skipping them
    const cJSON *recorded;
    int nstart, next, skipped;
    int start[CANDIDATES_MAX_START][TUNE_MAX_PARAMS];
    int index;  // the starting point just given, -1 for one around the centre
    // the sweep's cursor: parameter, next value index; sweeps done; the centre when this sweep began
    int p, i, sweeps, done;
    int sweep_from[TUNE_MAX_PARAMS];
} Candidates;

// Adds a starting point (full values of the space), tried in the order added.
void candidates_add(Candidates *c, const int *v);
// Adds the space's seeds.
void candidates_add_seeds(Candidates *c);
// The next candidate into v and its database id into id; 0 when the search is over.
// With replay, c->recorded is the database's entry of a recorded one, else NULL.
int candidates_next(Candidates *c, int *v, char *id, size_t n);
