// Helpers shared by the C tests: comparison with a stated tolerance, a
// pass/fail tally, the device the tests run on (GPT2CL_TEST_DEVICE, else
// gpt2cl's default choice), and the small mode.
#pragma once
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "must.h"
#include "runtime/cl_device.h"

static int test_failures = 0;

#define EXPECT(cond, ...)                                                \
    do {                                                                 \
        if (!(cond)) {                                                   \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);         \
            fprintf(stderr, __VA_ARGS__);                                \
            fputc('\n', stderr);                                         \
            test_failures++;                                             \
        }                                                                \
    } while (0)

// Max |a-b| over n elements, relative to max |ref|; prints a line and counts a
// failure when it exceeds tol.
static inline double compare_rel_to_max(const char *what, const float *got, const float *ref, size_t n, double tol) {
    double max_diff = 0, max_ref = 0;
    size_t worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)ref[i]);
        if (!(d <= max_diff)) {  // also catches NaN
            max_diff = d;
            worst = i;
        }
        if (fabs(ref[i]) > max_ref) max_ref = fabs(ref[i]);
    }
    double rel = max_ref > 0 ? max_diff / max_ref : max_diff;
    int ok = rel <= tol;
    printf("%-4s %-34s max|diff|/max|ref| = %.3e (tol %.0e)", ok ? "ok" : "FAIL", what, rel, tol);
    if (!ok) printf("  worst at %zu: got %.9g ref %.9g", worst, got[worst], ref[worst]);
    printf("\n");
    if (!ok) test_failures++;
    return rel;
}

static inline void open_test_device(Device *dev, int profiling) {
    const char *sel = getenv("GPT2CL_TEST_DEVICE");
    MUST(device_open(dev, sel ? sel : "", profiling));
    printf("device: %s (%s)\n", dev->name, dev->platform_name);
}

// A device buffer the test needs.
static inline cl_mem test_alloc(const Device *dev, size_t bytes, const char *what) {
    cl_mem m;
    MUST(device_alloc(dev, bytes, what, &m));
    return m;
}

// GPT2CL_TEST_SMALL=1 (set by the oclgrind suite, tests/oclgrind_check.py):
// small shapes that still cover the edge cases, and GPU-shaped kernel
// parameters, for a simulator that runs each work-item through an interpreter.
static inline int test_small(void) {
    const char *s = getenv("GPT2CL_TEST_SMALL");
    return s && *s && strcmp(s, "0") != 0;
}

static inline int test_summary(const char *name) {
    if (test_failures) printf("%s: %d check(s) FAILED\n", name, test_failures);
    else printf("%s: all checks passed\n", name);
    return test_failures ? 1 : 0;
}
