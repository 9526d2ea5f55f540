// `gpt2cl bench`: times training steps on synthetic tokens.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/or_die.h"
#include "model/forward.h"
#include "runtime/tune_apply.h"
#include "train/trainer.h"
#include "tune/gemm_bench.h"
#include "util/parse_num.h"
#include "util/util.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: gpt2cl bench --config FILE.ini [--warmup N] [--steps N] [--profile] [--no-compare] [--device SEL]\n"
            "                    [key=value ...]\n\n"
            "Times full training steps (forward, backward, optimizer) of the configured model on random tokens\n"
            "after N warm-up steps, and prints ms/step, tokens/s and achieved GFLOP/s (6*params + attention\n"
            "FLOPs per token). --profile times every operation separately (each between two clFinish calls,\n"
            "so the step gets slower) and prints the split between CLBlast GEMMs and our kernels.\n"
            "train_data is not read. The config keys are those of `gpt2cl train --help`; --device SEL is\n"
            "device=SEL (an index or a name substring, see `gpt2cl devices`).\n"
            "Without a tuning database the device-class defaults apply (`tuned: defaults for ...`). When the\n"
            "device has one (`gpt2cl tune`), the run is timed with the class defaults and then tuned,\n"
            "and each GEMM shape of the step is timed alone both ways (GFLOP/s); --no-compare runs tuned only.\n");
}

static int parse_count(const char *flag, const char *v) {
    long long n;
    char why[300];
    if (!v || !parse_integer(v, 0, 1000000, &n, why, sizeof why))
        die("%s needs a count between 0 and 1000000%s%s", flag, v ? ": " : "", v ? why : "");
    return (int)n;
}

typedef struct {
    double step_ms, gemm_total;
    int nshapes;
    GemmShape shapes[GEMM_LOG_MAX];
    double gemm_ms[GEMM_LOG_MAX];
    int ours[GEMM_LOG_MAX];  // 1 where the step runs our GEMM (cl/gemm.cl), not CLBlast
} BenchResult;

// Times the configured training step; with gemm_table also each GEMM shape the
// step issues, alone.
static void bench_run(const Config *cfg, int warmup, int steps, int profiling, TuneLevel tuning, int gemm_table,
                      BenchResult *r) {
    Trainer t;
    or_die(trainer_open_ex(&t, cfg, profiling, tuning));
    DataLoader data;
    dataloader_init_synthetic(&data, cfg->batch_size, cfg->seq_len, t.model_config.vocab_size, (uint64_t)cfg->seed);
    float loss, norm, lr = (float)cfg->lr;
    if (gemm_table) r->nshapes = trainer_gemm_shapes(&t, r->shapes);
    for (int s = 1; s <= warmup; s++) or_die(trainer_step(&t, &data, s, lr, &loss, &norm));
    ops_profile_reset(&t.ops);  // only the timed steps count
    double t0 = now_seconds();
    for (int s = 1; s <= steps; s++) or_die(trainer_step(&t, &data, warmup + s, lr, &loss, &norm));
    double dt = (now_seconds() - t0) / steps;
    double tokens = (double)cfg->batch_size * cfg->seq_len * cfg->grad_accum;
    double flops = gpt2_flops_per_token(&t.model_config, cfg->seq_len) * tokens;
    printf("bench: %d steps after %d warm-up | %.1f ms/step | %.0f tokens/s | %.2f GFLOP/s | MFU %.1f%% | "
           "batch %d x %d x %d | loss %.4f\n",
           steps, warmup, dt * 1e3, tokens / dt, flops / dt / 1e9, 100 * flops / dt / t.peak_flops, cfg->batch_size,
           cfg->seq_len, cfg->grad_accum, loss);
    if (profiling) ops_profile_print(&t.ops, steps, stdout);
    printf("start-up: gpt2cl kernel program ready in %.3f s (GPT2CL_PROGRAM_CACHE=0 forces a source build)\n",
           t.ops.build_seconds);
    r->step_ms = dt * 1e3;
    if (gemm_table) {
        GemmBufs g;
        gemm_bufs_alloc(&g, &t.dev, r->shapes, r->nshapes, 99);
        for (int i = 0; i < r->nshapes; i++) {
            // As the step runs it: our GEMM where the tuning database chose it, else CLBlast.
            const GemmKernels *ours = ops_gemm_cl_for(&t.ops, &r->shapes[i]);
            r->ours[i] = ours != NULL;
            r->gemm_ms[i] = ours ? gemm_time_cl(&t.dev, &r->shapes[i], &g, ours, 0.2, NULL)
                                 : gemm_time(&t.dev, &r->shapes[i], &g, 0.2, NULL);
            if (r->gemm_ms[i] < 0) die("a GEMM failed on a shape of this model");
            r->gemm_total += r->gemm_ms[i] * (double)r->shapes[i].calls;
        }
        gemm_bufs_free(&g);
    }
    dataloader_free(&data);
    trainer_close(&t);
}

int cmd_bench(int argc, char **argv) {
    const char *config_path = NULL, *device = NULL;
    int warmup = 2, steps = 5, profiling = 0, no_compare = 0;
    Config cfg;
    config_defaults(&cfg);
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--config")) {
            if (++i >= argc) die("--config needs a file");
            config_path = argv[i];
        } else if (!strcmp(argv[i], "--warmup")) {
            warmup = parse_count("--warmup", i + 1 < argc ? argv[++i] : NULL);
        } else if (!strcmp(argv[i], "--steps")) {
            steps = parse_count("--steps", i + 1 < argc ? argv[++i] : NULL);
        } else if (!strcmp(argv[i], "--profile")) {
            profiling = 1;
        } else if (!strcmp(argv[i], "--device")) {
            if (++i >= argc) die("--device needs an index or a name (see `gpt2cl devices`)");
            device = argv[i];
        } else if (!strcmp(argv[i], "--no-compare")) {
            no_compare = 1;
        } else {
            die("unknown option '%s' (see `gpt2cl bench --help`)", argv[i]);
        }
    }
    if (!config_path) die("bench needs --config FILE (see `gpt2cl bench --help`)");
    if (steps < 1) die("--steps must be at least 1");
    config_load_file(&cfg, config_path);
    for (; i < argc; i++) config_apply_override(&cfg, argv[i]);
    if (device) config_set(&cfg, "device", device);
    config_synthetic_data(&cfg);
    config_validate(&cfg);

    // With a tuning database, the same run is timed with the device-class defaults, then tuned,
    // in one process (CLBlast's overrides cannot be undone, so the defaults go first).
    int compare = !no_compare && tune_available(cfg.device);
    BenchResult defaults = {0}, tuned = {0};
    if (compare) {
        printf("--- device-class defaults ---\n");
        bench_run(&cfg, warmup, steps, profiling, TUNE_CLASS, 1, &defaults);
        printf("--- tuned ---\n");
    }
    bench_run(&cfg, warmup, steps, profiling, TUNE_DATABASE, compare, &tuned);
    if (compare) {
        printf("GEMMs of one step, GFLOP/s class defaults -> tuned (* = our GEMM, else CLBlast):\n");
        printf("  %-22s %5s %9s %9s %8s\n", "shape (A B, MxNxK)", "calls", "defaults", "tuned", "speedup");
        for (int g = 0; g < tuned.nshapes && g < defaults.nshapes; g++) {
            char name[64];
            double f = gemm_flops(&tuned.shapes[g]) / 1e6;
            printf("  %-22s %5ld %9.1f %9.1f %7.2fx%s\n", gemm_shape_name(&tuned.shapes[g], name, sizeof name),
                   tuned.shapes[g].calls, f / defaults.gemm_ms[g], f / tuned.gemm_ms[g],
                   defaults.gemm_ms[g] / tuned.gemm_ms[g], tuned.ours[g] ? " *" : "");
        }
        printf("GEMMs per step: class defaults %.1f ms, tuned %.1f ms (%.2fx)\n", defaults.gemm_total, tuned.gemm_total,
               defaults.gemm_total / tuned.gemm_total);
        printf("step: class defaults %.1f ms, tuned %.1f ms (%.2fx)\n", defaults.step_ms, tuned.step_ms,
               defaults.step_ms / tuned.step_ms);
    }
    return 0;
}
