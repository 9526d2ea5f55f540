// Tuned parameters as a value: what ops_init applies (src/runtime/tune_apply.h fills it
// from the device class and the tuning database; the tuner builds one from its candidates).
#pragma once
#include "runtime/gemm_route.h"
#include "runtime/kernel_params.h"

typedef struct {
    KernelParams kp;                  // our kernels' tunables
    GemmRoute routes[GEMM_LOG_MAX];   // the database's GEMM shapes for our kernel (best.gemm_cl), in order
    int num_routes;
    GemmRule rules[GEMM_RULES_MAX];   // the device class's shape rules, beneath the routes
    int num_rules;
    const char *class_label;          // the class the rules come from, for warnings
} Tuned;
