// Device-class defaults: the parameters train, bench and sample use on a
// device that has no tuning database, and where `gpt2cl tune` starts. Like
// CLBlast's database, one table from specific to general rows (vendor or
// platform, device type, SIMD width, name), the first matching row wins, and
// the last row matches every device. Each row says where its values come from.
#pragma once
#include "runtime/cl_device.h"
#include "runtime/kernel_params.h"
#include "runtime/gemm_route.h"

typedef struct {
    const char *label;     // "POCL CPU, 512-bit vectors (AVX-512)"
    const char *platform;  // substring of the platform name or the vendor (case-insensitive); NULL: any
    cl_device_type type;   // 0: any
    cl_uint native_vw;     // CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT; 0: any
    const char *name;      // substring of the device name; NULL: any
    const char *kernels;   // our kernels' defines over kernel_params_default: "WG=256 VW=16 ..."; NULL: none
    const char *xgemm;     // CLBlast Xgemm parameters "KWG=32 KWI=2 ..." (all 16); NULL: CLBlast's own database
    const char *xgemm_direct;  // likewise XgemmDirect (all 10)
    long long min_indirect;    // CLBlast's direct/indirect crossover (m*n*k); -1: CLBlast's own
    int ngemm;
    GemmRule gemm[GEMM_RULES_MAX];  // shape classes sent through our GEMM, first match; others: CLBlast
    const char *source;    // how the values were obtained
    const char *quick_gain;  // what `gpt2cl tune --quick` gained over these defaults, measured; NULL: not measured
} DeviceClass;

// The first row that matches dev (never NULL: the last row matches every device).
const DeviceClass *device_class_find(const Device *dev);
// The class's kernel tunables: kernel_params_default(dev) with the row's defines
// over it; a define that is unknown or illegal on dev is skipped with a warning.
KernelParams device_class_kernel_params(const DeviceClass *c, const Device *dev);
// Applies the row's CLBlast parameters (if any) to dev; 0 with a warning if CLBlast rejects them.
int device_class_apply_clblast(const DeviceClass *c, const Device *dev);
// Every row, for tests and `gpt2cl devices`.
extern const DeviceClass device_classes[];
extern const int num_device_classes;
