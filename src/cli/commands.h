// The subcommands of the gpt2cl binary; each takes its own argv (argv[0] is the command name).
#pragma once
#include "text/prepare.h"  // cmd_prepare

int cmd_devices(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_tune(int argc, char **argv);
