// `gpt2cl bench`: times training steps on synthetic tokens.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "forward.h"
#include "trainer.h"
#include "util.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: gpt2cl bench --config FILE.ini [--warmup N] [--steps N] [--profile] [--device SEL] [key=value ...]\n\n"
            "Times full training steps (forward, backward, optimizer) of the configured model on random tokens\n"
            "after N warm-up steps, and prints ms/step, tokens/s and achieved GFLOP/s (6*params + attention\n"
            "FLOPs per token). --profile times every operation separately (each between two clFinish calls,\n"
            "so the step gets slower) and prints the split between CLBlast GEMMs and our kernels.\n"
            "train_data is not read. The config keys are those of `gpt2cl train --help`; --device SEL is\n"
            "device=SEL (an index or a name substring, see `gpt2cl devices`).\n");
}

static int parse_count(const char *flag, const char *v) {
    char *end;
    long n = v ? strtol(v, &end, 10) : -1;
    if (!v || *end || n < 0 || n > 1000000) die("%s needs a count between 0 and 1000000", flag);
    return (int)n;
}

int cmd_bench(int argc, char **argv) {
    const char *config_path = NULL, *device = NULL;
    int warmup = 2, steps = 5, profiling = 0;
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
        } else {
            die("unknown option '%s' (see `gpt2cl bench --help`)", argv[i]);
        }
    }
    if (!config_path) die("bench needs --config FILE (see `gpt2cl bench --help`)");
    if (steps < 1) die("--steps must be at least 1");
    config_load_file(&cfg, config_path);
    for (; i < argc; i++) config_apply_override(&cfg, argv[i]);
    if (device) config_set(&cfg, "device", device);
    snprintf(cfg.train_data, sizeof cfg.train_data, "(synthetic)");
    cfg.out_dir[0] = '\0';
    cfg.checkpoint_every = 0;
    config_validate(&cfg);

    Trainer t;
    trainer_open(&t, &cfg, profiling);
    DataLoader data;
    dataloader_init_synthetic(&data, cfg.batch_size, cfg.seq_len, t.model_config.vocab_size, (uint64_t)cfg.seed);
    float loss, norm, lr = (float)cfg.lr;
    for (int s = 1; s <= warmup; s++) trainer_step(&t, &data, s, lr, &loss, &norm);
    ops_profile_reset(&t.ops);  // only the timed steps count
    double t0 = now_seconds();
    for (int s = 1; s <= steps; s++) trainer_step(&t, &data, warmup + s, lr, &loss, &norm);
    double dt = (now_seconds() - t0) / steps;
    double tokens = (double)cfg.batch_size * cfg.seq_len * cfg.grad_accum;
    double flops = gpt2_flops_per_token(&t.model_config, cfg.seq_len) * tokens;
    printf("bench: %d steps after %d warm-up | %.1f ms/step | %.0f tokens/s | %.2f GFLOP/s | batch %d x %d x %d | "
           "loss %.4f\n",
           steps, warmup, dt * 1e3, tokens / dt, flops / dt / 1e9, cfg.batch_size, cfg.seq_len, cfg.grad_accum, loss);
    if (profiling) ops_profile_print(&t.ops, steps, stdout);
    dataloader_free(&data);
    trainer_close(&t);
    return 0;
}
