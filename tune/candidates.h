// The candidates of one search over a declared space (runtime/tunables.h), in
// order: the starting points (the caller's, then the space's seeds), then two
// thirds one step from the best so far and one third anywhere. Illegal ones
// are dropped, ones the database holds are skipped (a tune resumes where the
// last stopped), and none is given once timing it would pass the deadline.
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

typedef struct {
    const TuneSpace *space;
    const Device *dev;
    const TuneDb *db;
    const char *workload;
    const char *id_suffix;  // appended to every id
    Rng *rng;
    const Best *centre;  // NULL: no draws after the starting points
    // Stops once now_seconds() - t_start + *est passes deadline (est: seconds one candidate takes).
    double t_start, deadline;
    const double *est;
    int nstart, next, skipped;
    int start[CANDIDATES_MAX_START][TUNE_MAX_PARAMS];
    int index;  // the starting point just given, -1 for a drawn candidate
} Candidates;

// Adds a starting point (full values of the space), tried in the order added.
void candidates_add(Candidates *c, const int *v);
// Adds the space's seeds.
void candidates_add_seeds(Candidates *c);
// The next candidate into v and its database id into id; 0 when the search is over.
int candidates_next(Candidates *c, int *v, char *id, size_t n);
