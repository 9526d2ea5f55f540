#include "runtime/gemm_cl.h"

#include <limits.h>
#include <stdio.h>

#include "runtime/kernels.h"
#include "util/util.h"

GemmParams gemm_params_default(void) { return (GemmParams){.vw = 16, .tm = 4, .tn = 2, .wg0 = 8, .wg1 = 4, .kc = 0}; }

int gemm_params_valid(const GemmParams *p, const Device *dev) {
    if (p->vw != 4 && p->vw != 8 && p->vw != 16) return 0;
    if (p->tm < 1 || p->tn < 1 || p->tm * p->tn > 64) return 0;  // accumulators per work-item
    if (p->wg0 < 1 || p->wg1 < 1) return 0;
    if (p->kc < 0 || p->kc % 16) return 0;  // whole vectors per chunk along k
    return (size_t)p->wg0 * (size_t)p->wg1 <= dev->max_wg;
}

const char *gemm_params_name(const GemmParams *p, char *buf, size_t n) {
    snprintf(buf, n, "VW=%d TM=%d TN=%d WG0=%d WG1=%d KC=%d", p->vw, p->tm, p->tn, p->wg0, p->wg1, p->kc);
    return buf;
}

Status gemm_kernels_build(GemmKernels *g, const Device *dev, const GemmParams *p) {
    char name[96];
    *g = (GemmKernels){.p = *p};
    if (!gemm_params_valid(p, dev))
        return fail(STATUS_INPUT, "illegal GEMM parameters for %s: %s", dev->name,
                    gemm_params_name(p, name, sizeof name));
    char opts[160];
    snprintf(opts, sizeof opts, "-DGEMM_VW=%d -DGEMM_TM=%d -DGEMM_TN=%d -DGEMM_WG0=%d -DGEMM_WG1=%d", p->vw, p->tm,
             p->tn, p->wg0, p->wg1);
    TRY(kernels_build_file(dev, "gemm.cl", opts, &g->program));
    Status s = device_kernel(g->program, "gemm_nn", &g->nn);
    if (!s) s = device_kernel(g->program, "gemm_nt", &g->nt);
    if (!s) s = device_kernel(g->program, "gemm_tn", &g->tn);
    if (s) gemm_kernels_free(g);
    return s;
}

void gemm_kernels_free(GemmKernels *g) {
    if (!g->program) return;
    if (g->nn) CL_CHECK(clReleaseKernel(g->nn));
    if (g->nt) CL_CHECK(clReleaseKernel(g->nt));
    if (g->tn) CL_CHECK(clReleaseKernel(g->tn));
    CL_CHECK(clReleaseProgram(g->program));
    *g = (GemmKernels){0};
}

int gemm_kernels_fit(const GemmKernels *g, const Device *dev) {
    const cl_kernel ks[3] = {g->nn, g->nt, g->tn};
    for (int i = 0; i < 3; i++) {
        size_t max = 0;
        CL_CHECK(clGetKernelWorkGroupInfo(ks[i], dev->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof max, &max, NULL));
        if ((size_t)g->p.wg0 * (size_t)g->p.wg1 > max) return 0;
    }
    return 1;
}

static size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }

cl_int gemm_cl_enqueue(const GemmKernels *g, cl_command_queue q, int trans_a, int trans_b, size_t m, size_t n,
                       size_t k, float alpha, cl_mem a, size_t lda, size_t stride_a, cl_mem b, size_t ldb,
                       size_t stride_b, float beta, cl_mem c, size_t ldc, size_t stride_c, size_t batch) {
    if (trans_a && trans_b) return CL_INVALID_VALUE;
    if (m > INT_MAX || n > INT_MAX || k > INT_MAX || lda > INT_MAX || ldb > INT_MAX || ldc > INT_MAX)
        return CL_INVALID_VALUE;
    if (m == 0 || n == 0) return CL_SUCCESS;
    cl_kernel kern = trans_b ? g->nt : trans_a ? g->tn : g->nn;
    // NT tiles n by TN columns; NN/TN by TN vectors of VW columns.
    size_t cols = trans_b ? (size_t)g->p.tn : (size_t)(g->p.tn * g->p.vw);
    size_t local[3] = {(size_t)g->p.wg0, (size_t)g->p.wg1, 1};
    size_t global[3] = {ceil_div(ceil_div(n, cols), local[0]) * local[0],
                        ceil_div(ceil_div(m, (size_t)g->p.tm), local[1]) * local[1], batch ? batch : 1};
    int M = (int)m, N = (int)n, LDA = (int)lda, LDB = (int)ldb, LDC = (int)ldc;
    cl_ulong sa = stride_a, sb = stride_b, sc = stride_c;
    const int chunk = g->p.kc > 0 && (size_t)g->p.kc < k ? g->p.kc : (int)k;
    cl_int err = CL_SUCCESS;
    for (int k0 = 0; err == CL_SUCCESS && (k0 == 0 || (size_t)k0 < k); k0 += chunk) {
        // Every chunk after the first adds to what the earlier ones wrote.
        int K = (size_t)(k0 + chunk) <= k ? chunk : (int)k - k0;
        float b_k = k0 == 0 ? beta : 1.0f;
        err = kernel_args(kern, KERNEL_ARGS(ARG(M), ARG(N), ARG(K), ARG(k0), ARG(alpha), ARG(a), ARG(LDA), ARG(sa),
                                            ARG(b), ARG(LDB), ARG(sb), ARG(b_k), ARG(c), ARG(LDC), ARG(sc)));
        if (err == CL_SUCCESS) err = clEnqueueNDRangeKernel(q, kern, 3, NULL, global, local, 0, NULL, NULL);
    }
    return err;
}
