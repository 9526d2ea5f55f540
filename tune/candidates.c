#include "tune/candidates.h"

#include <stdlib.h>
#include <string.h>

#include "util/util.h"

// Consecutive recorded candidates after which the space counts as searched.
#define MAX_SKIPPED 500

void candidates_add(Candidates *c, const int *v) {
    if (c->nstart < CANDIDATES_MAX_START) memcpy(c->start[c->nstart++], v, sizeof c->start[0]);
}

void candidates_add_seeds(Candidates *c) {
    for (int i = 0; i < c->space->nseeds; i++) candidates_add(c, c->space->seeds[i]);
}

static int index_of_value(const TuneParam *p, int value) {
    for (int i = 0; i < p->nvalues; i++)
        if (p->values[i] == value) return i;
    return -1;
}

// The sweep's next candidate into v; 0 once the sweeps are over.
static int sweep(Candidates *c, int *v) {
    const TuneSpace *s = c->space;
    const int *centre = c->centre->v, near = c->around == AROUND_SWEEP_NEAR;
    while (!c->done) {
        if (c->i == s->params[c->p].nvalues) {
            c->i = 0;
            c->p++;
        }
        if (c->p == s->nparams) {
            c->p = 0;
            int moved = memcmp(c->sweep_from, centre, sizeof c->sweep_from) != 0;
            if (near || !moved || ++c->sweeps == 2 || s->nparams == 1) c->done = 1;
            continue;
        }
        if (c->p == 0 && c->i == 0) memcpy(c->sweep_from, centre, sizeof c->sweep_from);
        memcpy(v, centre, sizeof c->sweep_from);
        int i = c->i++, at = index_of_value(&s->params[c->p], centre[c->p]);
        if (near && at >= 0 && abs(i - at) != 1) continue;
        v[c->p] = s->params[c->p].values[i];
        if (v[c->p] != centre[c->p]) return 1;
    }
    return 0;
}

static int draw(Candidates *c, int *v) {
    c->index = c->next < c->nstart ? c->next++ : -1;
    if (c->index >= 0) {
        memcpy(v, c->start[c->index], sizeof c->start[0]);
        return 1;
    }
    switch (c->around) {
    case AROUND_DRAW:
        if (c->centre->found && rng_u64(c->rng) % 3 != 0)
            return tune_space_neighbour(c->space, c->dev, c->rng, c->centre->v, v);
        return tune_space_random(c->space, c->dev, c->rng, v);
    case AROUND_SWEEP:
    case AROUND_SWEEP_NEAR:
        return sweep(c, v);
    default:
        return 0;
    }
}

int candidates_next(Candidates *c, int *v, char *id, size_t n) {
    while (c->skipped < MAX_SKIPPED && draw(c, v)) {
        if (!c->space->valid(v, c->dev)) continue;
        tune_space_id(c->space, v, id, n);
        strncat(id, c->id_suffix ? c->id_suffix : "", n - strlen(id) - 1);
        c->recorded = tune_db_find(c->db, c->workload, id);
        if (c->recorded && c->replay) return 1;
        if (c->recorded) {  // measured before: resume, not repeat
            c->skipped++;
            continue;
        }
        c->skipped = 0;
        return !c->est || now_seconds() - c->t_start + *c->est <= c->deadline;
    }
    return 0;
}
