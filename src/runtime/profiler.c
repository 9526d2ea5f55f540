#include "runtime/profiler.h"

#include <stdlib.h>
#include <string.h>

#include "util/util.h"

double profiler_begin(const Profiler *p, cl_command_queue q) {
    if (!p->on) return 0.0;
    CL_CHECK(clFinish(q));
    return now_seconds();
}

void profiler_end(Profiler *p, cl_command_queue q, const char *name, double t0) {
    if (!p->on) return;
    CL_CHECK(clFinish(q));
    double ms = (now_seconds() - t0) * 1e3;
    int i = 0;
    while (i < p->num && strcmp(p->entries[i].name, name) != 0) i++;
    if (i == p->num) {
        if (p->num == PROF_MAX_ENTRIES) return;
        p->entries[p->num++] = (ProfEntry){.name = name};
    }
    p->entries[i].ms += ms;
    p->entries[i].calls++;
}

static int is_gemm(const ProfEntry *e) { return strncmp(e->name, "gemm", 4) == 0; }

void profiler_totals(const Profiler *p, double *gemm_ms, double *kernel_ms) {
    *gemm_ms = *kernel_ms = 0.0;
    for (int i = 0; i < p->num; i++) *(is_gemm(&p->entries[i]) ? gemm_ms : kernel_ms) += p->entries[i].ms;
}

static int by_ms_desc(const void *a, const void *b) {
    const ProfEntry *x = a, *y = b;
    return (x->ms < y->ms) - (x->ms > y->ms);
}

void profiler_print(const Profiler *p, int steps, FILE *f) {
    double gemm, kern;
    profiler_totals(p, &gemm, &kern);
    double total = gemm + kern;
    if (total <= 0 || steps <= 0) return;
    fprintf(f, "profile per step: GEMM (CLBlast, gemm_cl) %.1f ms (%.1f%%), gpt2cl kernels %.1f ms (%.1f%%)\n",
            gemm / steps, 100 * gemm / total, kern / steps, 100 * kern / total);
    ProfEntry sorted[PROF_MAX_ENTRIES];
    memcpy(sorted, p->entries, (size_t)p->num * sizeof *sorted);
    qsort(sorted, (size_t)p->num, sizeof *sorted, by_ms_desc);
    for (int i = 0; i < p->num; i++)
        fprintf(f, "  %-32s %9.2f ms/step %5.1f%%  %6.1f calls/step\n", sorted[i].name, sorted[i].ms / steps,
                100 * sorted[i].ms / total, (double)sorted[i].calls / steps);
}
