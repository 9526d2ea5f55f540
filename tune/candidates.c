#include "tune/candidates.h"

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

static int draw(Candidates *c, int *v) {
    c->index = c->next < c->nstart ? c->next++ : -1;
    if (c->index >= 0) {
        memcpy(v, c->start[c->index], sizeof c->start[0]);
        return 1;
    }
    if (!c->centre) return 0;
    if (c->centre->found && rng_u64(c->rng) % 3 != 0)
        return tune_space_neighbour(c->space, c->dev, c->rng, c->centre->v, v);
    return tune_space_random(c->space, c->dev, c->rng, v);
}

int candidates_next(Candidates *c, int *v, char *id, size_t n) {
    while (c->skipped < MAX_SKIPPED && draw(c, v)) {
        if (!c->space->valid(v, c->dev)) continue;
        tune_space_id(c->space, v, id, n);
        strncat(id, c->id_suffix ? c->id_suffix : "", n - strlen(id) - 1);
        if (tune_db_find(c->db, c->workload, id)) {  // measured before: resume, not repeat
            c->skipped++;
            continue;
        }
        c->skipped = 0;
        return now_seconds() - c->t_start + *c->est <= c->deadline;
    }
    return 0;
}
