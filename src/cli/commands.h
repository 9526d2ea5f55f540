// The subcommands of the gpt2cl binary; each takes its own argv (argv[0] is the command name).
#pragma once
#include "text/prepare.h"  // cmd_prepare
#include "util/status.h"
#include "util/util.h"

int cmd_devices(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_tune(int argc, char **argv);

// A failure of the library ends the command: its message on stderr, exit status 1.
static inline void check_status(Status s) {
    if (s) die("%s", status_message());
}
