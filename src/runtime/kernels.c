#include "runtime/kernels.h"

#include <stdlib.h>
#include <string.h>

#include "runtime/kernel_params.h"
#include "util/util.h"

// Files built as programs of their own (with their own -D options), not part of the main program.
static int standalone(const char *name) { return !strcmp(name, "gemm.cl") || !strcmp(name, "peak.cl"); }

static char *embedded_source(int i) {
    const char *dir = getenv("GPT2CL_KERNEL_DIR");
    if (!dir || !*dir) return strdup_check(embedded_kernels[i].source);
    size_t n = strlen(dir) + strlen(embedded_kernels[i].name) + 2;
    char *path = mallocCheck(n);
    snprintf(path, n, "%s/%s", dir, embedded_kernels[i].name);
    if (!file_exists(path)) die("GPT2CL_KERNEL_DIR is set but '%s' does not exist", path);
    char *src = read_file(path, NULL);
    free(path);
    return src;
}

char *kernels_source(void) {
    size_t total = 1;
    char **parts = mallocCheck((size_t)num_embedded_kernels * sizeof *parts);
    for (int i = 0; i < num_embedded_kernels; i++) {
        parts[i] = standalone(embedded_kernels[i].name) ? strdup_check("") : embedded_source(i);
        total += strlen(parts[i]) + 1;
    }
    char *src = mallocCheck(total);
    src[0] = '\0';
    for (int i = 0; i < num_embedded_kernels; i++) {
        strcat(src, parts[i]);
        strcat(src, "\n");
        free(parts[i]);
    }
    free(parts);
    return src;
}

cl_program kernels_build_file(const Device *dev, const char *name, const char *extra_options) {
    int i = 0;
    while (i < num_embedded_kernels && strcmp(embedded_kernels[i].name, name) != 0) i++;
    if (i == num_embedded_kernels) die("no embedded kernel file '%s'", name);
    char *src = embedded_source(i);
    char options[KERNEL_PARAMS_OPTIONS_MAX + 64];
    snprintf(options, sizeof options, "-cl-std=CL1.2 %s", extra_options ? extra_options : "");
    cl_program prog = device_build_program(dev, name, src, options);
    free(src);
    return prog;
}

cl_program kernels_build(const Device *dev, const char *extra_options) {
    char *src = kernels_source();
    char options[KERNEL_PARAMS_OPTIONS_MAX + 64];
    snprintf(options, sizeof options, "-cl-std=CL1.2 %s", extra_options ? extra_options : "");
    cl_program prog = device_build_program(dev, "cl/*.cl", src, options);
    free(src);
    return prog;
}

cl_int kernel_args(cl_kernel k, const KernelArg *args, size_t n) {
    cl_uint want = 0;
    cl_int err = clGetKernelInfo(k, CL_KERNEL_NUM_ARGS, sizeof want, &want, NULL);
    if (err == CL_SUCCESS && want != n) return CL_INVALID_KERNEL_ARGS;
    for (size_t i = 0; i < n && err == CL_SUCCESS; i++)
        err = clSetKernelArg(k, (cl_uint)i, args[i].size, args[i].value);
    return err;
}
