// `gpt2cl tune`: records the GEMM shapes the configured model issues in one
// training step (without running it), then searches parameters within a time
// budget; see tuner.c.
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/or_die.h"
#include "runtime/tune_apply.h"
#include "train/trainer.h"
#include "tune/tuner.h"
#include "util/util.h"

typedef struct {
    const char *config;
    double budget;
    int quick, restart;
} TuneArgs;

#define A(x) offsetof(TuneArgs, x)
static const Option tune_options[] = {
    {"--config", OPT_STRING, A(config), "FILE", "a file", 0, 0, NULL},  // in the usage line
    {"--quick", OPT_FLAG, A(quick), NULL, NULL, 0, 0,
     "only the neighbourhood of the class's defaults: our GEMM's tiles one step away and\n"
     "our kernels' defines one value either side, no CLBlast search; most of its gain\n"
     "comes first (our GEMM, rules by their share of the step), so the budget cuts the rest"},
    {"--budget", OPT_NUMBER, A(budget), "S", "a number of seconds between 1 and 1000000", 1, 1e6,
     "stop the search after about S seconds in all (default 120; 60 with --quick)"},
    {"--restart", OPT_FLAG, A(restart), NULL, NULL, 0, 0,
     "forget this workload's earlier measurements (otherwise an interrupted or\n"
     "earlier tune is resumed: measured candidates are not run again)"},
};
#undef A
static const OptionTable tune_table = OPTION_TABLE("tune", tune_options, 12);

static void usage(FILE *f) {
    fprintf(f,
            "usage: gpt2cl tune --config FILE.ini [--quick] [--budget SECONDS] [--restart] [key=value ...]\n\n"
            "Tunes, for the configured device and model: the launch parameters of gpt2cl's kernels (work-group\n"
            "sizes, rows per group, vector widths, reduction partials and layout, row chunks of the column\n"
            "reductions, per kernel family) and the switches between fused and unfused paths (LayerNorm,\n"
            "GELU, attention; see the README's Tuning section for every define); CLBlast's\n"
            "Xgemm and XgemmDirect kernel parameters and their direct/indirect crossover over the GEMM shapes\n"
            "one training step issues (forward, backward, attention, LM head); and, per shape, gpt2cl's own\n"
            "GEMM as an alternative to CLBlast. Every candidate's results are checked against the defaults'\n"
            "before it is timed. The best set is written to the device's tuning database, which train, bench\n"
            "and sample then apply at start-up.\n"
            "Every search starts from the device class's defaults (the parameters an untuned device runs with).\n");
    options_print_help(&tune_table, f);
    fprintf(f, "The database is $GPT2CL_CACHE_DIR, else $XDG_CACHE_HOME/gpt2cl, else ~/.cache/gpt2cl:\n"
               "one tune-<device>-<hash>.json per device. GPT2CL_TUNE=0 makes other commands ignore it.\n");
}

int cmd_tune(int argc, char **argv) {
    double t_start = now_seconds();
    TuneArgs args = {.budget = -1};
    int i = options_parse(&tune_table, &args, argc, argv, 1);
    if (i < 0) {
        usage(stdout);
        return 0;
    }
    const int restart = args.restart, quick = args.quick;
    if (!args.config) die("tune needs --config FILE (see `gpt2cl tune --help`)");
    double budget = args.budget < 0 ? (quick ? 60 : 120) : args.budget;
    Config cfg;
    config_defaults(&cfg);
    or_die(config_load(&cfg, args.config));
    for (; i < argc; i++) or_die(config_override(&cfg, argv[i], KEYS_RUN));
    config_synthetic_data(&cfg);
    cfg.grad_accum = 1;  // one micro-batch issues every shape
    or_die(config_validate(&cfg));

    // The shapes, from one step of the real model code with nothing enqueued.
    Trainer t;
    or_die(trainer_open_ex(&t, &cfg, 0, TUNE_GENERIC));
    GemmShape *shapes = mallocCheck(GEMM_LOG_MAX * sizeof *shapes);
    int nshapes = trainer_gemm_shapes(&t, shapes);
    TuneModelShape model = {.B = cfg.batch_size, .T = cfg.seq_len, .C = t.model_config.channels,
                            .NH = t.model_config.num_heads, .L = t.model_config.num_layers,
                            .V = t.model_config.vocab_size, .Vp = t.model_config.padded_vocab_size,
                            .P = gpt2_param_count(&t.model_config)};
    trainer_close(&t);

    Device dev;
    or_die(device_open(&dev, cfg.device, 0));
    TuneDb db;
    tune_db_load(&db, &dev);
    TuneJob job = {.dev = &dev, .db = &db, .shapes = shapes, .nshapes = nshapes, .model = model,
                   .t_start = t_start, .budget = budget, .restart = restart, .quick = quick};
    const char *cd = getenv("GPT2CL_CLASS_DEFAULTS");
    job.cls = cd && !strcmp(cd, "0") ? NULL : device_class_find(&dev);
    unsigned long long h = tune_hash(TUNE_HASH_INIT, shapes, (size_t)nshapes * sizeof *shapes);
    snprintf(job.workload, sizeof job.workload, "B%d T%d C%d L%d NH%d Vp%d #%08llx", model.B, model.T, model.C,
             model.L, model.NH, model.Vp, h & 0xffffffffULL);
    printf("tune: %d GEMM shapes per step (workload %s), %sbudget %.0f s, from the defaults for %s, database %s\n",
           nshapes, job.workload, quick ? "quick, " : "", budget, job.cls ? job.cls->label : "no device class",
           db.path);
    Status s = tuner_run(&job);
    tune_db_free(&db);
    free(shapes);
    device_close(&dev);
    or_die(s);
    return 0;
}
