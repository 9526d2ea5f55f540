// Time per operation, with profiling on. Each operation is timed on the host
// between two clFinish calls: this also counts the helper kernels CLBlast
// launches internally (padding, transposes), which a single returned event would miss.
#pragma once
#include <stdio.h>

#include "runtime/cl_device.h"

#define PROF_MAX_ENTRIES 48

typedef struct {
    const char *name;  // kernel name, or "gemm" / "gemm_batched" for CLBlast, "gemm_cl" for ours
    double ms;
    long calls;
} ProfEntry;

typedef struct {
    int on;
    ProfEntry entries[PROF_MAX_ENTRIES];
    int num;
} Profiler;

// Around one operation on queue q: profiler_end adds the time since profiler_begin to name.
double profiler_begin(const Profiler *p, cl_command_queue q);
void profiler_end(Profiler *p, cl_command_queue q, const char *name, double t0);
// Milliseconds in GEMMs (entries named gemm*) and in our other kernels.
void profiler_totals(const Profiler *p, double *gemm_ms, double *kernel_ms);
// The share of each operation over steps, largest first.
void profiler_print(const Profiler *p, int steps, FILE *f);
