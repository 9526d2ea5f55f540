// The OpenCL C sources of cl/, embedded at build time, and the one program
// built from them for a device.
#pragma once
#include "runtime/cl_device.h"

typedef struct {
    const char *name;   // file name, e.g. "layernorm.cl"
    const char *source;
} EmbeddedKernel;

extern const EmbeddedKernel embedded_kernels[];
extern const int num_embedded_kernels;

// Concatenates all kernel sources but the standalone ones (gemm.cl) (common.cl first, as embedded). When the
// environment variable GPT2CL_KERNEL_DIR names a folder, the files are read
// from there instead, so kernels can be edited without rebuilding.
char *kernels_source(void);

// Builds the kernel program for dev with the given extra -D options.
cl_program kernels_build(const Device *dev, const char *extra_options);
// Builds the standalone file name (e.g. "gemm.cl") alone as a program, with -D options.
cl_program kernels_build_file(const Device *dev, const char *name, const char *extra_options);
