// `gpt2cl sweep`: a grid of training runs over a base config (train/sweep.h runs them).
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/or_die.h"
#include "train/sweep.h"
#include "util/util.h"

typedef struct {
    const char *config, *out, *devices;
    OptionStrings grid, preset;
    int seeds, jobs;
} SweepArgs;

#define A(x) offsetof(SweepArgs, x)
static const Option sweep_options[] = {
    {"--config", OPT_STRING, A(config), "FILE", "a file", 0, 0, "the base configuration of every run"},
    {"--grid", OPT_STRINGS, A(grid), "KEY=V1,V2,...", "KEY=V1,V2,...", 0, SWEEP_MAX_AXES,
     "an axis of the grid: one run per value (repeat for more axes; the runs are their product)"},
    {"--preset", OPT_STRINGS, A(preset), "NAME", "a preset name", 0, 4, "add the axes of a named grid (below)"},
    {"--seeds", OPT_INT, A(seeds), "N", "a number of seeds", 1, 1000,
     "N runs per point, seeds seed, seed+1, ... (default 1)"},
    {"--out", OPT_STRING, A(out), "DIR", "a folder", 0, 0, "the sweep folder (default runs/sweep): one folder per run"},
    {"--jobs", OPT_INT, A(jobs), "J", "a number of runs", 1, 256, "runs at once (default 1), each its own process"},
    {"--devices", OPT_STRING, A(devices), "LIST", "device selectors, comma-separated", 0, 0,
     "run job k on device LIST[k mod n] (indices or names, see `gpt2cl devices`)"},
};
#undef A
static const OptionTable sweep_table = OPTION_TABLE("sweep", sweep_options, 20);

static void usage(FILE *f) {
    fprintf(f, "usage: gpt2cl sweep --config BASE.ini [--grid KEY=V1,V2,... ...] [--preset NAME] [--seeds N]\n"
               "                    [--out DIR] [--jobs J] [--devices LIST] [key=value ...]\n\n"
               "Trains one run per point of the grid, each in DIR/KEY=V,KEY=V/ with its config, checkpoints,\n"
               "log.jsonl, train.out (its output) and result.json (written when it ends). Rerun the same command to\n"
               "resume: finished and diverged runs are skipped, interrupted ones continue from their latest\n"
               "checkpoint (set checkpoint_every), new grid values add runs. A run whose loss is NaN or above\n"
               "diverge_loss is recorded as diverged and the sweep goes on. DIR/results.jsonl and DIR/results.csv\n"
               "hold one row per run: grid keys, final and best validation loss, diverged (step), steps, wall time,\n"
               "tokens/s. key=value overrides the base config. One sweep per DIR (DIR/train.lock).\n\n");
    options_print_help(&sweep_table, f);
    fprintf(f, "\npresets (the grids of Kosson et al. 2024, warmup as warmup_frac of steps):\n");
    const char *axes;
    for (int i = 0; sweep_preset_name(i, &axes); i++) fprintf(f, "  %-9s %s\n", sweep_preset_name(i, NULL), axes);
    fprintf(f, "\nDraw the study's figures with `python3 scripts/plot_study.py DIR` (matplotlib).\n"
               "Keys: see `gpt2cl train --help`.\n");
}

// A run's process: the run, then the exit (only src/cli/ exits).
static void run_child(const SweepPoint *p, const char *device, pid_t parent) {
    int status = sweep_child(p, device, parent);
    if (status == 2) fprintf(stderr, "gpt2cl: error: %s\n", status_message());  // into the run's train.out
    _exit(status);
}

// Splits LIST at commas into devices (at most max).
static int split_devices(char *list, const char **devices, int max) {
    int n = 0;
    for (char *p = strtok(list, ","); p; p = strtok(NULL, ",")) {
        if (n == max) die("--devices: more than %d devices", max);
        devices[n++] = p;
    }
    if (!n) die("--devices needs device selectors, comma-separated");
    return n;
}

int cmd_sweep(int argc, char **argv) {
    SweepArgs args = {.out = "runs/sweep", .seeds = 1, .jobs = 1};
    int first_override = options_parse(&sweep_table, &args, argc, argv, 1);
    if (first_override < 0) {
        usage(stdout);
        return 0;
    }
    if (!args.config) die("sweep needs --config FILE (see `gpt2cl sweep --help`)");
    Config base;
    config_defaults(&base);
    or_die(config_load(&base, args.config));
    for (int i = first_override; i < argc; i++) {
        if (argv[i][0] == '-') die("options go before key=value overrides ('%s')", argv[i]);
        or_die(config_override(&base, argv[i], KEYS_RUN));
    }
    static SweepGrid grid;
    grid.seeds = args.seeds;
    for (int i = 0; i < args.preset.n; i++) or_die(sweep_grid_add_preset(&grid, &base, args.preset.v[i]));
    for (int i = 0; i < args.grid.n; i++) or_die(sweep_grid_add(&grid, &base, args.grid.v[i]));
    const char *devices[64];
    char *list = args.devices ? strdup_check(args.devices) : NULL;
    SweepOptions o = {.child = run_child,
                      .out = args.out, .jobs = args.jobs, .devices = devices, .progress_tty = isatty(STDERR_FILENO)};
    if (list) o.num_devices = split_devices(list, devices, 64);
    SweepSummary sum;
    Status s = sweep_run(&base, &grid, &o, &sum);
    free(list);
    or_die(s);
    char took[32];
    printf("sweep: %d runs: %d finished, %d diverged, %d failed, %d done before; %s\n", sum.runs, sum.finished,
           sum.diverged, sum.failed, sum.skipped, format_duration(sum.wall_s, took, sizeof took));
    printf("results: %s/results.jsonl, %s/results.csv\nplots: python3 scripts/plot_study.py %s\n", args.out, args.out,
           args.out);
    if (sum.failed) die("%d run(s) failed (see their train.out); rerun the sweep to retry them", sum.failed);
    return 0;
}
