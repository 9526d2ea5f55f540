#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/or_die.h"
#include "runtime/cl_device.h"
#include "util/util.h"

int cmd_devices(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: gpt2cl devices\n\nLists every OpenCL platform and device the ICD loader finds. Select one "
                   "for train/bench with device=N or device=NAME (a case-insensitive substring of its name, vendor "
                   "or platform).\n");
            return 0;
        }
        die("devices takes no arguments (got '%s')", argv[i]);
    }
    or_die(devices_print(stdout));
    return 0;
}
