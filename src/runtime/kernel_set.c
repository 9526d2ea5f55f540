#include "runtime/kernel_set.h"

#include <stdio.h>
#include <string.h>

#include "runtime/kernels.h"
#include "util/util.h"

static const struct {
    const char *name;
    KernelParamId wg, rows;
} kernels[K_COUNT] = {
#define KERNEL_ROW(name, wg, rows) {#name, wg, rows},
    KERNEL_LIST(KERNEL_ROW)
#undef KERNEL_ROW
};

const char *kernel_name(KernelId id) { return kernels[id].name; }

void kernel_family(KernelId id, KernelParamId *wg, KernelParamId *rows) {
    *wg = kernels[id].wg;
    *rows = kernels[id].rows;
}

size_t kernel_wg(const KernelParams *kp, KernelId id) {
    const KernelParamId rows = kernels[id].rows;
    return (size_t)kp->v[kernels[id].wg] * (rows == KP_COUNT ? 1 : (size_t)kp->v[rows]);
}

// Whether the compiled kernel id runs its work-group size on dev. A driver may
// allow a kernel fewer work-items than the device's maximum
// (CL_KERNEL_WORK_GROUP_SIZE: registers), and its __local arrays must fit the
// device's local memory; *fits gets a size that the kernel can run (half its
// own where local memory is short: the arrays scale with it).
static int kernel_fits(const KernelSet *ks, const Device *dev, const KernelParams *kp, KernelId id, size_t *fits) {
    size_t max = 0, wg = kernel_wg(kp, id);
    cl_ulong local = 0;
    CL_CHECK(clGetKernelWorkGroupInfo(ks->k[id], dev->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof max, &max, NULL));
    CL_CHECK(clGetKernelWorkGroupInfo(ks->k[id], dev->device, CL_KERNEL_LOCAL_MEM_SIZE, sizeof local, &local, NULL));
    if (local > dev->local_mem) max = wg / 2 < max ? wg / 2 : max;
    *fits = max;
    return wg <= max;
}

Status kernel_set_build(KernelSet *ks, const Device *dev, const KernelParams *kp, size_t *fits, KernelId *misfit) {
    char opts[KERNEL_PARAMS_OPTIONS_MAX + 32];
    kernel_params_options(kp, opts, KERNEL_PARAMS_OPTIONS_MAX);
    snprintf(opts + strlen(opts), sizeof opts - strlen(opts), " -DATTN_HS_MAX=%d", ATTN_HS_MAX);
    TRY(kernels_build(dev, opts, &ks->program));
    for (int i = 0; i < K_COUNT; i++) {
        Status s = device_kernel(ks->program, kernels[i].name, &ks->k[i]);
        if (s) {
            kernel_set_free(ks);
            return s;
        }
    }
    for (int i = 0; i < K_COUNT; i++) {
        if (!kernel_fits(ks, dev, kp, (KernelId)i, fits)) {
            kernel_set_free(ks);
            *misfit = (KernelId)i;
            return device_status(dev);
        }
    }
    *misfit = K_COUNT;
    return device_status(dev);
}

void kernel_set_free(KernelSet *ks) {
    for (int i = 0; i < K_COUNT; i++)
        if (ks->k[i]) CL_CHECK(clReleaseKernel(ks->k[i]));
    if (ks->program) CL_CHECK(clReleaseProgram(ks->program));
    ks->program = NULL;
    memset(ks->k, 0, sizeof ks->k);
}
