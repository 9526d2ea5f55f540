// gpt2cl's own SGEMM (cl/gemm.cl): one program per parameter set, built from
// gemm.cl alone with -D options (and kept in the program cache), and its launch.
#pragma once
#include "runtime/cl_device.h"

// The tunables of cl/gemm.cl; see its #ifndef defaults.
// kc is not a define: the host splits k into launches of kc (0: one launch), each
// accumulating into C, so that a long k (the LM head's 50304) streams B once per
// chunk from cache rather than once per row tile from memory.
typedef struct {
    int vw, tm, tn, wg0, wg1, kc;
} GemmParams;

typedef struct {
    GemmParams p;
    cl_program program;
    cl_kernel nn, nt, tn;
} GemmKernels;

// cl/gemm.cl's own defaults.
GemmParams gemm_params_default(void);
// 1 when p is a legal parameter set for dev (vector width, work-group size).
int gemm_params_valid(const GemmParams *p, const Device *dev);
// "VW=16 TM=4 TN=2 WG0=8 WG1=4 KC=0"
const char *gemm_params_name(const GemmParams *p, char *buf, size_t n);

Status gemm_kernels_build(GemmKernels *g, const Device *dev, const GemmParams *p);
void gemm_kernels_free(GemmKernels *g);
// 1 when this driver's compiled kernels of g run its WG0 x WG1 work-group
// (CL_KERNEL_WORK_GROUP_SIZE, which registers can make smaller than the
// device's maximum); else launching them fails.
int gemm_kernels_fit(const GemmKernels *g, const Device *dev);
// Enqueues row-major C = alpha op(A) op(B) + beta C, batch > 0 matrices at the
// given strides (batch 0 = one). TT is not supported. Returns the OpenCL status.
cl_int gemm_cl_enqueue(const GemmKernels *g, cl_command_queue q, int trans_a, int trans_b, size_t m, size_t n,
                       size_t k, float alpha, cl_mem a, size_t lda, size_t stride_a, cl_mem b, size_t ldb,
                       size_t stride_b, float beta, cl_mem c, size_t ldc, size_t stride_c, size_t batch);
