#include "runtime/kernels.h"

#include <stdlib.h>
#include <string.h>

#include "runtime/kernel_params.h"
#include "util/util.h"

// Files built as programs of their own (with their own -D options), not part of the main program.
static int standalone(const char *name) { return !strcmp(name, "gemm.cl") || !strcmp(name, "peak.cl"); }

static Status embedded_source(int i, char **src) {
    const char *dir = getenv("GPT2CL_KERNEL_DIR");
    if (!dir || !*dir) {
        *src = strdup_check(embedded_kernels[i].source);
        return STATUS_OK;
    }
    size_t n = strlen(dir) + strlen(embedded_kernels[i].name) + 2;
    char *path = mallocCheck(n);
    snprintf(path, n, "%s/%s", dir, embedded_kernels[i].name);
    Status s = file_exists(path) ? read_user_file(path, "file", src, NULL)
                                 : fail(STATUS_INPUT, "GPT2CL_KERNEL_DIR is set but '%s' does not exist", path);
    free(path);
    return s;
}

Status kernels_source(char **out) {
    size_t total = 1;
    char **parts = callocCheck((size_t)num_embedded_kernels, sizeof *parts);
    Status s = STATUS_OK;
    for (int i = 0; i < num_embedded_kernels && !s; i++) {
        if (standalone(embedded_kernels[i].name)) parts[i] = strdup_check("");
        else s = embedded_source(i, &parts[i]);
        if (!s) total += strlen(parts[i]) + 1;
    }
    if (s) {
        for (int i = 0; i < num_embedded_kernels; i++) free(parts[i]);
        free(parts);
        return s;
    }
    char *src = mallocCheck(total);
    src[0] = '\0';
    for (int i = 0; i < num_embedded_kernels; i++) {
        strcat(src, parts[i]);
        strcat(src, "\n");
        free(parts[i]);
    }
    free(parts);
    *out = src;
    return STATUS_OK;
}

Status kernels_build_file(const Device *dev, const char *name, const char *extra_options, cl_program *prog) {
    int i = 0;
    while (i < num_embedded_kernels && strcmp(embedded_kernels[i].name, name) != 0) i++;
    if (i == num_embedded_kernels) internal_error("no embedded kernel file '%s'", name);
    char *src;
    TRY(embedded_source(i, &src));
    char options[KERNEL_PARAMS_OPTIONS_MAX + 64];
    snprintf(options, sizeof options, "-cl-std=CL1.2 %s", extra_options ? extra_options : "");
    Status s = device_build_program(dev, name, src, options, prog);
    free(src);
    return s;
}

Status kernels_build(const Device *dev, const char *extra_options, cl_program *prog) {
    char *src;
    TRY(kernels_source(&src));
    char options[KERNEL_PARAMS_OPTIONS_MAX + 64];
    snprintf(options, sizeof options, "-cl-std=CL1.2 %s", extra_options ? extra_options : "");
    Status s = device_build_program(dev, "cl/*.cl", src, options, prog);
    free(src);
    return s;
}

cl_int kernel_args(cl_kernel k, const KernelArg *args, size_t n) {
    cl_uint want = 0;
    cl_int err = clGetKernelInfo(k, CL_KERNEL_NUM_ARGS, sizeof want, &want, NULL);
    if (err == CL_SUCCESS && want != n) return CL_INVALID_KERNEL_ARGS;
    for (size_t i = 0; i < n && err == CL_SUCCESS; i++)
        err = clSetKernelArg(k, (cl_uint)i, args[i].size, args[i].value);
    return err;
}
