// The grid of a sweep: axes of key = values whose Cartesian product (times
// the seeds) gives the runs, each a Config with its own folder under the
// sweep's. Named presets hold the grids of the warmup study.
#pragma once
#include "train/config.h"
#include "util/status.h"

#define SWEEP_MAX_AXES 16
#define SWEEP_MAX_VALUES 64
#define SWEEP_NAME_MAX 256

typedef struct {
    char key[64];
    int n;
    char values[SWEEP_MAX_VALUES][64];  // as given; each one checked by config_set
} SweepAxis;

typedef struct {
    SweepAxis axes[SWEEP_MAX_AXES];
    int num_axes;
    int seeds;  // runs per point, seeds seed, seed+1, ... (the seed joins the run's name when > 1)
} SweepGrid;

// Adds an axis "KEY=V1,V2,..." whose values base accepts; a key may be one axis only.
Status sweep_grid_add(SweepGrid *g, const Config *base, const char *spec);
// Adds the axes of a named preset (sweep_preset_name lists them).
Status sweep_grid_add_preset(SweepGrid *g, const Config *base, const char *name);
// The name of preset i and its axes as text, NULL past the last.
const char *sweep_preset_name(int i, const char **axes);
// Runs in the grid: the product of the axis lengths times seeds.
int sweep_grid_size(const SweepGrid *g);

typedef struct {
    char name[SWEEP_NAME_MAX];      // "lr=0.0012,warmup_frac=0.05" ("base" for an empty grid)
    const char *value[SWEEP_MAX_AXES];  // this run's value of each axis
    Config cfg;  // validated; out_dir = OUT/name, log = OUT/name/log.jsonl
} SweepPoint;

// Run i (0 <= i < sweep_grid_size) of the grid over base, with its folder under out.
Status sweep_point(const SweepGrid *g, const Config *base, const char *out, int i, SweepPoint *p);
