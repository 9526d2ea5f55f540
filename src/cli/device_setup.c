#include "cli/device_setup.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/or_die.h"
#include "util/util.h"

void open_device_quietly(Device *dev, Ops *ops, const char *device, const char *path, int verbose) {
    or_die(device_open(dev, device ? device : "", 0));
    FILE *info = verbose ? stderr : fopen("/dev/null", "w");
    if (!info) die("cannot open /dev/null: %s", strerror(errno));
    fprintf(info, "device: %d: %s; model: %s\n", dev->index, dev->name, path);
    Tuned tuned;
    tuned_load(&tuned, dev, TUNE_DATABASE, info);
    if (!verbose) fclose(info);
    or_die(ops_init(ops, dev, &tuned));
}
