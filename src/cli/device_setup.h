// The device and its tuning for the commands whose stdout is their result (sample, eval, classify).
#pragma once
#include "runtime/ops.h"
#include "runtime/tune_apply.h"

// Opens the device (selector SEL, "" the default), loads its tuning and builds the kernels into
// ops. The device and tuning lines go to stderr with verbose, else nowhere; path names the model
// in them. Exits with the error of any step.
void open_device_quietly(Device *dev, Ops *ops, const char *device, const char *path, int verbose);
