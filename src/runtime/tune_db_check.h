// Checks every field of a tuning database by type and range before anything
// uses it, so that no file, however edited or corrupted, can crash or break a
// run: a field of the wrong type or an illegal value is removed with a warning
// naming it, and what it held falls back to the defaults. CLBlast and gemm_cl
// parameters must be values of the tuner's search spaces (src/runtime/tunables.c)
// that its validity checks accept on this device.
#pragma once
#include <cjson/cJSON.h>

#include "runtime/cl_device.h"

// Checks root (a parsed database for dev whose format and key already
// matched) and removes what is wrong; returns how many fields were removed.
int tune_db_check(cJSON *root, const Device *dev);
