// Layer cli (src/cli/): the gpt2cl commands, the only code that prints errors and exits (or_die.h),
// and their one option parser (options.h). It uses every layer.
//
// The subcommands of the gpt2cl binary; each takes its own argv (argv[0] is the command name).
#pragma once

int cmd_devices(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_tune(int argc, char **argv);
int cmd_prepare(int argc, char **argv);  // argv[0] is "prepare"
int cmd_export(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_encode(int argc, char **argv);
int cmd_decode(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_classify(int argc, char **argv);
