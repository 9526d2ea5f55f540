// `gpt2cl train`: the options and the configuration of a run; train_run (train/run.h) trains it.
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/or_die.h"
#include "train/checkpoint.h"
#include "train/run.h"
#include "util/comm.h"
#include "util/util.h"

typedef struct {
    const char *config, *resume, *device;
    int profile;
} TrainArgs;

#define A(x) offsetof(TrainArgs, x)
static const Option train_options[] = {
    {"--config", OPT_STRING, A(config), "FILE", "a file", 0, 0, "run configuration (see configs/)"},
    {"--resume", OPT_STRING, A(resume), "DIR", "the out_dir of a run", 0, 0,
     "continue the run whose out_dir is DIR from its latest checkpoint, bit-identically;\n"
     "DIR/config.ini is the configuration, key=value overrides it"},
    {"--profile", OPT_FLAG, A(profile), NULL, NULL, 0, 0,
     "time every device operation and print the share of CLBlast vs our kernels"},
    {"--device", OPT_STRING, A(device), "SEL", "an index or a name (see `gpt2cl devices`)", 0, 0,
     "same as device=SEL: an index or a name substring (see `gpt2cl devices`)"},
};
#undef A
static const OptionTable train_table = OPTION_TABLE("train", train_options, 15);

static void usage(FILE *f) {
    fprintf(f, "usage: gpt2cl train --config FILE.ini [key=value ...]\n"
               "       gpt2cl train --resume DIR [key=value ...]\n\n"
               "Trains GPT-2 on llm.c token shards on one OpenCL device, or data-parallel on several under\n"
               "`mpirun -np N gpt2cl train ...` (one device per rank; see the README).\n");
    options_print_help(&train_table, f);
    fprintf(f,
            "One train per out_dir: a run locks out_dir/train.lock until it exits. A key may be overridden once.\n\n");
    config_print_help(f);
}

int cmd_train(int argc, char **argv) {
    TrainArgs args = {0};
    int first_override = options_parse(&train_table, &args, argc, argv, 1);
    if (first_override < 0) {
        usage(stdout);
        return 0;
    }
    or_die(comm_init(&argc, &argv));
    // The ranks of a data-parallel run train one model: rank 0 prints, logs and writes checkpoints.
    if (comm_rank() > 0 && !freopen("/dev/null", "w", stdout)) die("cannot silence rank %d's output", comm_rank());
    const char *config_path = args.config, *resume_dir = args.resume;
    Config cfg;
    config_defaults(&cfg);
    if (config_path && resume_dir) die("give either --config or --resume, not both");
    if (!config_path && !resume_dir) die("train needs --config FILE or --resume DIR (see `gpt2cl train --help`)");
    int resume_step = -1;
    if (resume_dir) {
        struct stat st;
        if (stat(resume_dir, &st) != 0 || !S_ISDIR(st.st_mode))
            die("nothing to resume: '%s' is not a folder holding a run", resume_dir);
        if (comm_rank() == 0) or_die(run_folder_claim(resume_dir));
        resume_step = checkpoint_latest(resume_dir);
        if (resume_step < 0) die("nothing to resume: '%s' holds no checkpoint (model_*.bin + state_*.bin)", resume_dir);
        char path[1024], state_path[1024];
        snprintf(path, sizeof path, "%s/config.ini", resume_dir);
        or_die(config_load(&cfg, path));
        // The model now comes from the checkpoint, not from init_from.
        checkpoint_paths(resume_dir, resume_step, path, state_path, sizeof path);
        if (strlen(path) >= sizeof cfg.init_from) die("resume folder path too long: '%s'", resume_dir);
        memcpy(cfg.init_from, path, strlen(path) + 1);
        snprintf(cfg.out_dir, sizeof cfg.out_dir, "%s", resume_dir);
    } else {
        or_die(config_load(&cfg, config_path));
    }
    for (int i = first_override; i < argc; i++) {
        if (argv[i][0] == '-') die("options go before key=value overrides ('%s')", argv[i]);
        or_die(config_override(&cfg, argv[i], KEYS_RUN));
    }
    if (args.device) or_die(config_set(&cfg, "device", args.device));
    or_die(config_validate(&cfg));
    if (resume_dir && resume_step >= cfg.steps)
        die("the run in '%s' is already at step %d of steps = %d; raise steps to train further", resume_dir,
            resume_step, cfg.steps);
    RunOptions opts = {.profiling = args.profile, .resume_dir = resume_dir, .resume_step = resume_step};
    RunResult r = train_run(&cfg, &opts);
    if (r.outcome == RUN_FAILED) or_die(r.status);
    if (r.outcome == RUN_DIVERGED && r.diverged_in_validation)
        die("validation loss is %g at step %d", r.val_loss, r.step);
    if (r.outcome == RUN_DIVERGED)
        die("training diverged at step %d: loss %g, gradient norm %g (try a lower lr or a longer warmup)", r.step,
            r.loss, r.grad_norm);
    comm_finalize();
    return 0;
}
