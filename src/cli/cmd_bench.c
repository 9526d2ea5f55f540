// `gpt2cl bench`: times training steps on synthetic tokens.
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/or_die.h"
#include "model/forward.h"
#include "runtime/tune_apply.h"
#include "train/trainer.h"
#include "tune/gemm_bench.h"
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

typedef struct {
    const char *config, *device;
    int warmup, steps, profile, no_compare;
} BenchArgs;

// The usage text describes them in its prose.
#define A(x) offsetof(BenchArgs, x)
static const Option bench_options[] = {
    {"--config", OPT_STRING, A(config), "FILE", "a file", 0, 0, NULL},
    {"--warmup", OPT_INT, A(warmup), "N", "a count between 0 and 1000000", 0, 1000000, NULL},
    {"--steps", OPT_INT, A(steps), "N", "a count between 0 and 1000000", 0, 1000000, NULL},
    {"--profile", OPT_FLAG, A(profile), NULL, NULL, 0, 0, NULL},
    {"--device", OPT_STRING, A(device), "SEL", "an index or a name (see `gpt2cl devices`)", 0, 0, NULL},
    {"--no-compare", OPT_FLAG, A(no_compare), NULL, NULL, 0, 0, NULL},
};
#undef A
static const OptionTable bench_table = OPTION_TABLE("bench", bench_options, 0);

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
        or_die(gemm_bufs_alloc(&g, &t.dev, r->shapes, r->nshapes, 99));
        for (int i = 0; i < r->nshapes; i++) {
            // As the step runs it: our GEMM where the tuning database chose it, else CLBlast.
            const GemmKernels *ours = ops_gemm_cl_for(&t.ops, &r->shapes[i]);
            r->ours[i] = ours != NULL;
            r->gemm_ms[i] = ours ? gemm_time_cl(&t.dev, &r->shapes[i], &g, ours, 0.2, NULL)
                                 : gemm_time(&t.dev, &r->shapes[i], &g, 0.2, NULL);
            if (r->gemm_ms[i] < 0) die("a GEMM failed on a shape of this model");
            r->gemm_total += r->gemm_ms[i] * (double)r->shapes[i].calls;
        }
        or_die(device_status(&t.dev));
        gemm_bufs_free(&g);
    }
    dataloader_free(&data);
    trainer_close(&t);
}

int cmd_bench(int argc, char **argv) {
    BenchArgs args = {.warmup = 2, .steps = 5};
    int i = options_parse(&bench_table, &args, argc, argv, 1);
    if (i < 0) {
        usage(stdout);
        return 0;
    }
    const int warmup = args.warmup, steps = args.steps, profiling = args.profile;
    if (!args.config) die("bench needs --config FILE (see `gpt2cl bench --help`)");
    if (steps < 1) die("--steps must be at least 1");
    Config cfg;
    config_defaults(&cfg);
    or_die(config_load(&cfg, args.config));
    for (; i < argc; i++) or_die(config_override(&cfg, argv[i], KEYS_RUN));
    if (args.device) or_die(config_set(&cfg, "device", args.device));
    config_synthetic_data(&cfg);
    or_die(config_validate(&cfg));

    // With a tuning database, the same run is timed with the device-class defaults, then tuned,
    // in one process (CLBlast's overrides cannot be undone, so the defaults go first).
    int compare = !args.no_compare && tune_available(cfg.device);
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
