#include "runtime/peak.h"

#include <stdio.h>

#include "runtime/kernels.h"
#include "util/util.h"

#define PEAK_CHAINS 8  // as in cl/peak.cl

static double run_seconds(const Device *dev, cl_kernel k, size_t global, size_t local, int iters) {
    CL_CHECK(clSetKernelArg(k, 1, sizeof iters, &iters));
    double t0 = now_seconds();
    CL_CHECK(clEnqueueNDRangeKernel(dev->queue, k, 1, NULL, &global, &local, 0, NULL, NULL));
    CL_CHECK(clFinish(dev->queue));
    return now_seconds() - t0;
}

Status peak_measure_flops(const Device *dev, double *flops_out) {
    // CPUs: 16-wide vectors fill AVX-512 (and two AVX2 registers); GPUs: scalars
    // per lane, 4-wide for instruction-level parallelism.
    int cpu = (dev->type & CL_DEVICE_TYPE_CPU) != 0, vw = cpu ? 16 : 4;
    char opts[32];
    snprintf(opts, sizeof opts, "-DPEAK_VW=%d", vw);
    cl_program prog;
    cl_kernel k;
    TRY(kernels_build_file(dev, "peak.cl", opts, &prog));
    Status s = device_kernel(prog, "fma_peak", &k);
    if (s) {
        clReleaseProgram(prog);
        return s;
    }
    cl_uint units = 1;
    CL_CHECK(clGetDeviceInfo(dev->device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, NULL));
    size_t local = cpu ? 16 : 256, kernel_max = 0;
    CL_CHECK(clGetKernelWorkGroupInfo(k, dev->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof kernel_max, &kernel_max, NULL));
    if (local > kernel_max) local = kernel_max;  // at most the device's maximum, and what this kernel's registers allow
    // A GPU needs many resident groups per unit to hide latency; a CPU one per core and a few to balance.
    size_t global = (size_t)units * local * (cpu ? 4 : 16);
    cl_mem out;
    s = device_alloc(dev, global * sizeof(float), "the peak benchmark", &out);
    if (s) {
        clReleaseKernel(k);
        clReleaseProgram(prog);
        return s;
    }
    float a = 0.999f, b = 1e-3f;
    CL_CHECK(clSetKernelArg(k, 0, sizeof out, &out));
    CL_CHECK(clSetKernelArg(k, 2, sizeof a, &a));
    CL_CHECK(clSetKernelArg(k, 3, sizeof b, &b));
    int iters = 256;
    run_seconds(dev, k, global, local, iters);  // warm-up: a driver may compile the kernel at its first launch
    double dt = run_seconds(dev, k, global, local, iters);
    while (dt < 0.02 && iters < (1 << 24)) dt = run_seconds(dev, k, global, local, iters *= 4);
    if (dt < 0.1) iters = (int)(iters * (0.1 / dt) > (1 << 26) ? (1 << 26) : iters * (0.1 / dt));
    double best = 0;
    for (int r = 0; r < 3; r++) {
        double s = run_seconds(dev, k, global, local, iters);
        double flops = 2.0 * PEAK_CHAINS * vw * (double)global * iters / s;
        if (flops > best) best = flops;
    }
    CL_CHECK(clReleaseMemObject(out));
    CL_CHECK(clReleaseKernel(k));
    CL_CHECK(clReleaseProgram(prog));
    *flops_out = best;
    return device_status(dev);
}
