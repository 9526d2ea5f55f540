#include "kernels.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

char *kernels_source(void) {
    const char *dir = getenv("GPT2CL_KERNEL_DIR");
    size_t total = 1;
    char **parts = mallocCheck((size_t)num_embedded_kernels * sizeof *parts);
    for (int i = 0; i < num_embedded_kernels; i++) {
        if (dir && *dir) {
            size_t n = strlen(dir) + strlen(embedded_kernels[i].name) + 2;
            char *path = mallocCheck(n);
            snprintf(path, n, "%s/%s", dir, embedded_kernels[i].name);
            if (!file_exists(path)) die("GPT2CL_KERNEL_DIR is set but '%s' does not exist", path);
            parts[i] = read_file(path, NULL);
            free(path);
        } else {
            parts[i] = strdup_check(embedded_kernels[i].source);
        }
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

cl_program kernels_build(const Device *dev, const char *extra_options) {
    char *src = kernels_source();
    char options[512];
    snprintf(options, sizeof options, "-cl-std=CL1.2 %s", extra_options ? extra_options : "");
    cl_program prog = device_build_program(dev, "cl/*.cl", src, options);
    free(src);
    return prog;
}
