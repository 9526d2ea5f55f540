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
Status kernels_source(char **src);

// Builds the kernel program for dev with the given extra -D options.
Status kernels_build(const Device *dev, const char *extra_options, cl_program *prog);
// Builds the standalone file name (e.g. "gemm.cl") alone as a program, with -D options.
Status kernels_build_file(const Device *dev, const char *name, const char *extra_options, cl_program *prog);

// One kernel argument: its size and where its value is.
typedef struct {
    size_t size;
    const void *value;
} KernelArg;
#define ARG(x) {sizeof(x), (const void *)&(x)}
// KERNEL_ARGS(ARG(a), ARG(b), ...): the arguments as an array and their count, for kernel_args.
#define KERNEL_ARGS(...) (const KernelArg[]){__VA_ARGS__}, sizeof((const KernelArg[]){__VA_ARGS__}) / sizeof(KernelArg)
// Sets k's arguments 0..n-1 in order: CL_INVALID_KERNEL_ARGS where the kernel
// takes other than n arguments, else the first failing call's status or CL_SUCCESS.
cl_int kernel_args(cl_kernel k, const KernelArg *args, size_t n);
