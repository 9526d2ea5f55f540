// bench_gemm_blas: CLBlast SGEMM at the GEMM shapes of one training step of the
// configured model, untuned (CLBlast defaults) and tuned (the device's tuning
// database), and our own GEMM (cl/gemm.cl), side by side with OpenBLAS
// cblas_sgemm on the host for the same shapes, in one run. OpenBLAS is only a yardstick: gpt2cl itself never links it.
//   build/bench_gemm_blas --config configs/gpt2_124m.ini [--seconds S] [key=value ...]
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/or_die.h"
#include "runtime/tune_apply.h"
#include "train/trainer.h"
#include "tune/gemm_bench.h"
#include "util/parse_num.h"
#include "util/util.h"

static double blas_time(const GemmShape *s, const float *a, const float *b, float *c, double min_seconds) {
    size_t batch = s->batch ? s->batch : 1;
    int reps = 0;
    double t0 = 0, dt = 0;
    for (int warm = 1; warm >= 0; warm--) {  // one untimed run first, as for CLBlast
        if (!warm) t0 = now_seconds();
        do {
            for (size_t i = 0; i < batch; i++)
                cblas_sgemm(CblasRowMajor, s->trans_a ? CblasTrans : CblasNoTrans,
                            s->trans_b ? CblasTrans : CblasNoTrans, (int)s->m, (int)s->n, (int)s->k, 1.0f,
                            a + i * s->stride_a, (int)s->lda, b + i * s->stride_b, (int)s->ldb, 0.0f,
                            c + i * s->stride_c, (int)s->ldc);
            if (!warm) reps++;
            dt = now_seconds() - t0;
        } while (!warm && dt < min_seconds);
    }
    return dt * 1e3 / reps;
}

// Milliseconds per call of each shape, and the parameters our kernel ran with.
typedef struct {
    double untuned[GEMM_LOG_MAX], tuned[GEMM_LOG_MAX], blas[GEMM_LOG_MAX], ours[GEMM_LOG_MAX];
    GemmParams our_params[GEMM_LOG_MAX];
    int our_tuned[GEMM_LOG_MAX];  // 1: the tuning database chose our kernel for the shape
} Times;

// Our kernel (cl/gemm.cl) per shape: the tuning database's parameters where
// it chose our kernel for the shape (tuned's routes and rules), else cl/gemm.cl's defaults.
static void our_gemm_times(const Device *dev, const Tuned *tuned, const GemmShape *shapes, int n, const GemmBufs *g,
                           double seconds, Times *t) {
    Tuned routes = *tuned;
    routes.kp = kernel_params_default(dev);  // only the GEMMs run: the kernel program as with no tuning
    Ops ops;
    or_die(ops_init(&ops, dev, &routes));
    GemmKernels defaults;
    GemmParams p = gemm_params_default();
    or_die(gemm_kernels_build(&defaults, dev, &p));
    for (int s = 0; s < n; s++) {
        const GemmKernels *k = ops_gemm_cl_for(&ops, &shapes[s]);
        t->our_tuned[s] = k != NULL;
        if (!k) k = &defaults;
        t->our_params[s] = k->p;
        t->ours[s] = gemm_time_cl(dev, &shapes[s], g, k, seconds, NULL);
        if (t->ours[s] < 0) die("our GEMM failed on a shape");
    }
    gemm_kernels_free(&defaults);
    ops_free(&ops);
}

// --config FILE.ini (required) and --seconds S, then key=value overrides; a
// validated config of synthetic data without accumulation.
static void parse_args(int argc, char **argv, Config *cfg, const char **config_path, double *seconds) {
    *config_path = NULL;
    *seconds = 0.5;
    config_defaults(cfg);
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc) *config_path = argv[++i];
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
            char why[300];
            if (!parse_double(argv[++i], 0.001, 1e4, seconds, why, sizeof why)) die("--seconds: %s", why);
        }
        else die("usage: bench_gemm_blas --config FILE.ini [--seconds S] [key=value ...]");
    }
    if (!*config_path) die("bench_gemm_blas needs --config FILE.ini");
    or_die(config_load(cfg, *config_path));
    for (; i < argc; i++) or_die(config_override(cfg, argv[i], KEYS_RUN));
    config_synthetic_data(cfg);
    cfg->grad_accum = 1;
    or_die(config_validate(cfg));
}

// The GEMM shapes of one step, recorded with nothing enqueued; returns their number.
static int step_shapes(const Config *cfg, GemmShape shapes[GEMM_LOG_MAX]) {
    Trainer t;
    or_die(trainer_open_ex(&t, cfg, 0, TUNE_GENERIC));
    int n = trainer_gemm_shapes(&t, shapes);
    trainer_close(&t);
    return n;
}

// Every shape by CLBlast untuned and tuned, OpenBLAS (on host copies of the
// operands) and our kernel; prints the tuning line.
static void time_all(const Device *dev, const GemmShape *shapes, int n, const GemmBufs *g, double seconds, Times *t) {
    float *ha = mallocCheck(g->a_elems * sizeof(float)), *hb = mallocCheck(g->b_elems * sizeof(float)),
          *hc = mallocCheck(g->c_elems * sizeof(float));
    device_read(dev, g->a, 0, g->a_elems * sizeof(float), ha);
    device_read(dev, g->b, 0, g->b_elems * sizeof(float), hb);
    // Untuned first: CLBlast's parameter overrides cannot be undone in a process.
    for (int s = 0; s < n; s++) t->untuned[s] = gemm_time(dev, &shapes[s], g, seconds, NULL);
    for (int s = 0; s < n; s++) t->blas[s] = blas_time(&shapes[s], ha, hb, hc, seconds);
    Tuned tuning;
    tuned_load(&tuning, dev, TUNE_DATABASE, stdout);
    for (int s = 0; s < n; s++) t->tuned[s] = gemm_time(dev, &shapes[s], g, seconds, NULL);
    our_gemm_times(dev, &tuning, shapes, n, g, seconds, t);
    or_die(device_status(dev));  // before any time of a failed run is printed
    free(ha);
    free(hb);
    free(hc);
}

// GFLOP/s per shape and for the whole step, and OpenBLAS's time as a share of each.
static void print_table(const char *config_path, const Config *cfg, const GemmShape *shapes, int n, const Times *t) {
    printf("GFLOP/s per GEMM shape of one step (%s, batch %d x %d); host BLAS: %s, %d threads\n", config_path,
           cfg->batch_size, cfg->seq_len, openblas_get_config(), openblas_get_num_threads());
    printf("  %-22s %5s %9s %9s %9s %9s %10s %9s  %s\n", "shape (A B, MxNxK)", "calls", "OpenBLAS", "CLBlast",
           "tuned", "ours", "tuned/BLAS", "ours/BLAS", "our parameters (* = the tuner picked ours)");
    double tot[5] = {0, 0, 0, 0, 0}, flops = 0;  // BLAS, CLBlast, tuned, ours, as the tuned run mixes them
    for (int s = 0; s < n; s++) {
        char name[64];
        double f = gemm_flops(&shapes[s]) / 1e6, c = (double)shapes[s].calls;
        char pn[64];
        printf("  %-22s %5ld %9.1f %9.1f %9.1f %9.1f %9.0f%% %8.0f%%  %s%s\n",
               gemm_shape_name(&shapes[s], name, sizeof name), shapes[s].calls, f / t->blas[s], f / t->untuned[s],
               f / t->tuned[s], f / t->ours[s], 100 * t->blas[s] / t->tuned[s], 100 * t->blas[s] / t->ours[s],
               gemm_params_name(&t->our_params[s], pn, sizeof pn), t->our_tuned[s] ? " *" : "");
        tot[0] += t->blas[s] * c;
        tot[1] += t->untuned[s] * c;
        tot[2] += t->tuned[s] * c;
        tot[3] += t->ours[s] * c;
        tot[4] += (t->our_tuned[s] ? t->ours[s] : t->tuned[s]) * c;
        flops += f * c;
    }
    printf("  %-22s %5s %9.1f %9.1f %9.1f %9.1f %9.0f%% %8.0f%%  (ms per step: %.0f / %.0f / %.0f / %.0f)\n",
           "whole step", "", flops / tot[0], flops / tot[1], flops / tot[2], flops / tot[3], 100 * tot[0] / tot[2],
           100 * tot[0] / tot[3], tot[0], tot[1], tot[2], tot[3]);
    printf("  %-22s %5s %9s %9s %9.1f %9s %9.0f%%            (ms per step: %.0f; ours on the * shapes, tuned CLBlast "
           "elsewhere)\n", "whole step, as tuned", "", "", "", flops / tot[4], "", 100 * tot[0] / tot[4], tot[4]);
}

int main(int argc, char **argv) {
    const char *config_path;
    double seconds;
    Config cfg;
    parse_args(argc, argv, &cfg, &config_path, &seconds);
    GemmShape shapes[GEMM_LOG_MAX];
    int n = step_shapes(&cfg, shapes);

    Device dev;
    or_die(device_open(&dev, cfg.device, 0));
    GemmBufs g;
    or_die(gemm_bufs_alloc(&g, &dev, shapes, n, 7));
    Times t;
    time_all(&dev, shapes, n, &g, seconds, &t);
    print_table(config_path, &cfg, shapes, n, &t);
    gemm_bufs_free(&g);
    device_close(&dev);
    return 0;
}
