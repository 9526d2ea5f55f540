// Which GEMMs run our kernel (cl/gemm.cl) and with which parameters, per
// shape; the rest run CLBlast. First match: the shapes the tuning database
// names, then the device class's shape rules, then CLBlast.
#pragma once
#include <stddef.h>

#include "runtime/gemm_cl.h"

#define GEMM_LOG_MAX 64
#define GEMM_CL_MAX_PROGRAMS GEMM_LOG_MAX  // distinct parameter sets of our GEMM in one router: one per shape at most
#define GEMM_RULES_MAX 8

// One distinct GEMM call as issued (row-major), for the router, the tuner and bench.
typedef struct {
    int trans_a, trans_b;
    size_t m, n, k, lda, ldb, ldc, stride_a, stride_b, stride_c, batch;  // batch 0 = plain Sgemm
    long calls;
} GemmShape;

// Same shape, strides and batch (calls not compared).
int gemm_shape_equal(const GemmShape *a, const GemmShape *b);

// A class of GEMM shapes sent through our kernel with parameters p (the
// device-class defaults of src/runtime/device_classes.c): layout, batched or not, and
// a least k and n (the LM head's long k wants k chunks; a tile wider than n
// would take the scalar edge path).
typedef struct {
    int trans_a, trans_b;  // -1: either
    int batched;           // -1: either, 0: plain, 1: strided-batched
    size_t min_k, min_n;
    GemmParams p;
} GemmRule;

int gemm_rule_matches(const GemmRule *r, const GemmShape *s);

// One entry of a tuning database's best.gemm_cl: shape s through our kernel
// with p, or kept with CLBlast (clblast), or every shape through our kernel (all).
typedef struct {
    int all, clblast;
    GemmShape s;  // unused with all
    GemmParams p; // unused with clblast
} GemmRoute;

typedef struct {
    GemmShape shapes[GEMM_LOG_MAX];
    int shape_program[GEMM_LOG_MAX];  // index into programs, for each of shapes; -1: CLBlast
    int num_shapes, all;              // all: every shape, with programs[0]
    GemmRule rules[GEMM_RULES_MAX];
    int rule_program[GEMM_RULES_MAX], num_rules;
    GemmKernels programs[GEMM_CL_MAX_PROGRAMS];
    int num_programs;
} GemmRouter;

// Sends shape s (NULL: every shape) through our kernel with parameters p; p
// NULL keeps s with CLBlast whatever the rules say. Returns 0 (and changes
// nothing) when p is illegal for dev, its compiled kernels cannot run its
// work-group here, or the table is full.
int gemm_router_use_shape(GemmRouter *r, const Device *dev, const GemmShape *s, const GemmParams *p);
// Sends the shapes that rule (and no exact entry) matches through our kernel.
int gemm_router_use_rule(GemmRouter *r, const Device *dev, const GemmRule *rule);
// Our kernel's program for shape s, or NULL (CLBlast). Builds the program of a
// rule the first time a shape needs it.
const GemmKernels *gemm_router_for(GemmRouter *r, const Device *dev, const GemmShape *s);
void gemm_router_free(GemmRouter *r);
