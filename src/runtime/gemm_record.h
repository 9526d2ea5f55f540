// The distinct GEMM shapes of a run of operations, counted, for the tuner and
// bench; with dry_run, nothing is enqueued at all (the shapes of a step without running it).
#pragma once
#include "runtime/gemm_route.h"

typedef struct {
    int on, dry_run;
    GemmShape log[GEMM_LOG_MAX];
    int num;
} GemmRecorder;

// Counts shape s (a new one is added with calls 1; past GEMM_LOG_MAX shapes, dropped).
void gemm_record(GemmRecorder *r, const GemmShape *s);
