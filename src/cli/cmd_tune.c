// `gpt2cl tune`: records the GEMM shapes the configured model issues in one
// training step (without running it), then searches parameters within a time
// budget; see tuner.c.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/or_die.h"
#include "runtime/tune_apply.h"
#include "train/trainer.h"
#include "tune/tuner.h"
#include "util/parse_num.h"
#include "util/util.h"

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
            "Every search starts from the device class's defaults (the parameters an untuned device runs with).\n"
            "  --quick      only the neighbourhood of the class's defaults: our GEMM's tiles one step away and\n"
            "               our kernels' defines one value either side, no CLBlast search; most of its gain\n"
            "               comes first (our GEMM, rules by their share of the step), so the budget cuts the rest\n"
            "  --budget S   stop the search after about S seconds in all (default 120; 60 with --quick)\n"
            "  --restart    forget this workload's earlier measurements (otherwise an interrupted or\n"
            "               earlier tune is resumed: measured candidates are not run again)\n"
            "The database is $GPT2CL_CACHE_DIR, else $XDG_CACHE_HOME/gpt2cl, else ~/.cache/gpt2cl:\n"
            "one tune-<device>-<hash>.json per device. GPT2CL_TUNE=0 makes other commands ignore it.\n");
}

int cmd_tune(int argc, char **argv) {
    double t_start = now_seconds();
    const char *config_path = NULL;
    double budget = -1;
    int restart = 0, quick = 0;
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
        } else if (!strcmp(argv[i], "--budget")) {
            char why[300];
            if (++i >= argc || !parse_double(argv[i], 1, 1e6, &budget, why, sizeof why))
                die("--budget needs a number of seconds between 1 and 1000000%s%s", i < argc ? ": " : "",
                    i < argc ? why : "");
        } else if (!strcmp(argv[i], "--restart")) {
            restart = 1;
        } else if (!strcmp(argv[i], "--quick")) {
            quick = 1;
        } else {
            die("unknown option '%s' (see `gpt2cl tune --help`)", argv[i]);
        }
    }
    if (!config_path) die("tune needs --config FILE (see `gpt2cl tune --help`)");
    if (budget < 0) budget = quick ? 60 : 120;
    config_load_file(&cfg, config_path);
    for (; i < argc; i++) config_apply_override(&cfg, argv[i]);
    config_synthetic_data(&cfg);
    cfg.grad_accum = 1;  // one micro-batch issues every shape
    config_validate(&cfg);

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
    device_open(&dev, cfg.device, 0);
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
    int rc = tuner_run(&job);
    tune_db_free(&db);
    free(shapes);
    device_close(&dev);
    return rc;
}
