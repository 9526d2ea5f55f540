// On-disk cache of compiled OpenCL programs, so a second start does not
// recompile cl/*.cl: <cache>/programs/<hash>.bin, keyed by the source, the
// build options, the platform, device, driver and OpenCL version.
// GPT2CL_PROGRAM_CACHE=0 turns it off. Every failure here only means a source build.
#pragma once
#include "runtime/cl_device.h"

// A built program from the cache, or NULL (missing, unreadable or rejected by the driver).
cl_program program_cache_load(const Device *dev, const char *source, const char *options);
// Stores prog's binary; problems are reported as warnings.
void program_cache_store(const Device *dev, cl_program prog, const char *source, const char *options);
