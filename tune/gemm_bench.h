// Runs and times single GEMM shapes (CLBlast or cl/gemm.cl) (as recorded by Ops) on scratch
// buffers: shared by the tuner, `gpt2cl bench` and src/cli/bench_gemm_blas.c.
#pragma once
#include "runtime/cl_device.h"
#include "runtime/gemm_cl.h"
#include "runtime/ops.h"

typedef struct {
    cl_mem a, b, c;
    size_t a_elems, b_elems, c_elems;
} GemmBufs;

size_t gemm_a_elems(const GemmShape *s);
size_t gemm_b_elems(const GemmShape *s);
size_t gemm_c_elems(const GemmShape *s);
double gemm_flops(const GemmShape *s);  // 2 m n k per matrix, times the batch
// "NT 256x2304x768" or "NN 64x64x64 x48"
const char *gemm_shape_name(const GemmShape *s, char *buf, size_t n);

// A and B (sized for the largest of shapes) filled with uniform [-1, 1) values from seed.
Status gemm_bufs_alloc(GemmBufs *g, const Device *dev, const GemmShape *shapes, int n, unsigned long long seed);
void gemm_bufs_free(GemmBufs *g);
// One C = A B call (alpha 1, beta 0) enqueued; returns CLBlast's status instead of dying.
CLBlastStatusCode gemm_run(const Device *dev, const GemmShape *s, const GemmBufs *g);
// Milliseconds per call, averaged over repetitions filling about min_seconds
// (at least one), after one untimed run. Returns -1 if CLBlast fails. With
// out (gemm_c_elems floats) the untimed run's C is read back into it.
double gemm_time(const Device *dev, const GemmShape *s, const GemmBufs *g, double min_seconds, float *out);
// As gemm_time, with our kernel (cl/gemm.cl) built for k's parameters instead of CLBlast.
double gemm_time_cl(const Device *dev, const GemmShape *s, const GemmBufs *g, const GemmKernels *k,
                    double min_seconds, float *out);
// Largest |x - ref| relative to max(1, max |ref|) over n values.
double gemm_rel_error(const float *x, const float *ref, size_t n);
