// Layer tune (tune/): the tuner's search over the spaces runtime declares; it writes the tuning
// database that runtime reads. It uses runtime and util; the command (cli/cmd_tune.c) hands it a
// training step's GEMM shapes.
//
// The search behind `gpt2cl tune`: CLBlast Xgemm (indirect) and XgemmDirect
// parameters and their crossover over the GEMM shapes a model issues, then our
// kernels' tunables, family by family; every candidate is checked against the
// results of the defaults before it is timed, and recorded in the database.
#pragma once
#include "runtime/device_classes.h"
#include "runtime/ops.h"
#include "runtime/tune_db.h"

typedef struct {
    int B, T, C, NH, L, V, Vp;  // the model and batch, for our kernels
    size_t P;                   // parameters (the optimizer's and gradient norm's length)
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
    // The device's class (src/runtime/device_classes.h): its kernel tunables and GEMM
    // tiles seed the search. quick: start from the class's defaults as they run
    // (our GEMM where its rules say, CLBlast with its parameters elsewhere) and
    // search only their neighbourhood: our GEMM's tiles one step from the
    // class's, our kernels' defines one value either side, no CLBlast search.
    const DeviceClass *cls;
    int quick;
} TuneJob;

// Runs the search within the budget, writes "best" into the database (saved
// after every measurement) and prints a summary. Fails where the database
// cannot be saved or the device fails; past the budget the watchdog writes the
// best so far and ends the process (see tuner.c).
Status tuner_run(TuneJob *job);

// Times our kernels per family (tune_space_families) on the model's shapes (kernel_tune.c).
typedef struct KernelBench KernelBench;
// cls (may be NULL): the device class whose GEMM rules the benchmarked steps use.
Status kernel_bench_create(const Device *dev, const DeviceClass *cls, const TuneModelShape *m, KernelBench **kb);
// Builds our kernels with kp; for each family f with want[f] set, ms[f] =
// ms per training step of its calls, or -1 if its outputs differ from those
// of the family's first run (the reference: run the device's defaults first).
// Returns 0 when kp cannot be built or launched on the device.
int kernel_bench_run(KernelBench *k, const KernelParams *kp, const int *want, double *ms);
void kernel_bench_free(KernelBench *k);
