// The search behind `gpt2cl tune`: CLBlast Xgemm (indirect) and XgemmDirect
// parameters and their crossover over the GEMM shapes a model issues, then our
// row kernels' work-group size; every candidate is checked against the
// results of the defaults before it is timed, and recorded in the database.
#pragma once
#include "ops.h"
#include "tune_db.h"

typedef struct {
    int B, T, C, NH, L, V, Vp;  // the model and batch, for our kernels
} TuneModelShape;

typedef struct {
    const Device *dev;
    TuneDb *db;
    char workload[256];
    const GemmShape *shapes;
    int nshapes;
    TuneModelShape model;
    double t_start, budget;  // seconds (now_seconds clock)
    int restart;             // ignore earlier measurements of this workload
} TuneJob;

// Runs the search within the budget, writes "best" into the database (saved
// after every measurement) and prints a summary. Returns 0 on success.
int tuner_run(TuneJob *job);

// Times our row kernels with work-group size wg on the model's shapes; out
// receives checked outputs (see kernel_tune.c). Returns ms per step or -1.
typedef struct RowBench RowBench;
RowBench *row_bench_create(const Device *dev, const TuneModelShape *m);
// ms per training step's worth of row-kernel calls with WG = wg, or -1 if the
// outputs differ from those of the first call (the reference, run with the default WG).
double row_bench_time(RowBench *r, size_t wg);
void row_bench_free(RowBench *r);
