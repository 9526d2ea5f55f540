// `gpt2cl train`: the options and the configuration of a run; train_run (train/run.h) trains it.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "cli/or_die.h"
#include "train/checkpoint.h"
#include "train/run.h"
#include "util/util.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: gpt2cl train --config FILE.ini [key=value ...]\n"
            "       gpt2cl train --resume DIR [key=value ...]\n\n"
            "Trains GPT-2 on llm.c token shards on one OpenCL device.\n"
            "  --config FILE   run configuration (see configs/)\n"
            "  --resume DIR    continue the run whose out_dir is DIR from its latest checkpoint, bit-identically;\n"
            "                  DIR/config.ini is the configuration, key=value overrides it\n"
            "  --profile       time every device operation and print the share of CLBlast vs our kernels\n"
            "  --device SEL    same as device=SEL: an index or a name substring (see `gpt2cl devices`)\n"
            "One train per out_dir: a run locks out_dir/train.lock until it exits. A key may be overridden once.\n\n");
    config_print_help(f);
}

static int is_flag(const char *a, const char *name) { return strcmp(a, name) == 0; }

int cmd_train(int argc, char **argv) {
    const char *config_path = NULL, *resume_dir = NULL, *device = NULL;
    int profiling = 0;
    Config cfg;
    config_defaults(&cfg);
    int first_override = argc;
    for (int i = 1; i < argc; i++) {
        if (is_flag(argv[i], "--help") || is_flag(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (is_flag(argv[i], "--config")) {
            if (++i >= argc) die("--config needs a file");
            config_path = argv[i];
        } else if (is_flag(argv[i], "--resume")) {
            if (++i >= argc) die("--resume needs the out_dir of a run");
            resume_dir = argv[i];
        } else if (is_flag(argv[i], "--profile")) {
            profiling = 1;
        } else if (is_flag(argv[i], "--device")) {
            if (++i >= argc) die("--device needs an index or a name (see `gpt2cl devices`)");
            device = argv[i];
        } else if (argv[i][0] == '-') {
            die("unknown option '%s' (see `gpt2cl train --help`)", argv[i]);
        } else {
            first_override = i;
            break;
        }
    }
    if (config_path && resume_dir) die("give either --config or --resume, not both");
    if (!config_path && !resume_dir) die("train needs --config FILE or --resume DIR (see `gpt2cl train --help`)");
    int resume_step = -1;
    if (resume_dir) {
        struct stat st;
        if (stat(resume_dir, &st) != 0 || !S_ISDIR(st.st_mode))
            die("nothing to resume: '%s' is not a folder holding a run", resume_dir);
        or_die(run_folder_claim(resume_dir));
        resume_step = checkpoint_latest(resume_dir);
        if (resume_step < 0) die("nothing to resume: '%s' holds no checkpoint (model_*.bin + state_*.bin)", resume_dir);
        char path[1024], state_path[1024];
        snprintf(path, sizeof path, "%s/config.ini", resume_dir);
        config_load_file(&cfg, path);
        // The model now comes from the checkpoint, not from init_from.
        checkpoint_paths(resume_dir, resume_step, path, state_path, sizeof path);
        if (strlen(path) >= sizeof cfg.init_from) die("resume folder path too long: '%s'", resume_dir);
        memcpy(cfg.init_from, path, strlen(path) + 1);
        snprintf(cfg.out_dir, sizeof cfg.out_dir, "%s", resume_dir);
    } else {
        config_load_file(&cfg, config_path);
    }
    for (int i = first_override; i < argc; i++) {
        if (argv[i][0] == '-') die("options go before key=value overrides ('%s')", argv[i]);
        config_apply_override(&cfg, argv[i]);
    }
    if (device) config_set(&cfg, "device", device);
    config_validate(&cfg);
    if (resume_dir && resume_step >= cfg.steps)
        die("the run in '%s' is already at step %d of steps = %d; raise steps to train further", resume_dir,
            resume_step, cfg.steps);
    RunOptions opts = {.profiling = profiling, .resume_dir = resume_dir, .resume_step = resume_step};
    RunResult r = train_run(&cfg, &opts);
    if (r.outcome == RUN_FAILED) or_die(r.status);
    if (r.outcome == RUN_DIVERGED && r.diverged_in_validation)
        die("validation loss is %g at step %d", r.val_loss, r.step);
    if (r.outcome == RUN_DIVERGED)
        die("training diverged at step %d: loss %g, gradient norm %g (try a lower lr or a longer warmup)", r.step,
            r.loss, r.grad_norm);
    return 0;
}
