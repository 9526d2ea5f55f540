// Per-device autotuning (`gpt2cl tune`) and its use by train, bench and sample.
#pragma once
#include <stdio.h>

#include "cl_device.h"
#include "ops.h"

// Loads dev's tuning database, applies its CLBlast parameters through
// CLBlastOverrideParameters and prints one `tuned: ...` line to out. Returns
// the tunables for our kernels (the device's defaults where untuned). Never fatal:
// a missing, stale or corrupt database only means untuned defaults.
// GPT2CL_TUNE=0 in the environment skips the database.
KernelParams tune_apply(const Device *dev, FILE *out);

// Applies the per-shape choices of our GEMM (cl/gemm.cl) over CLBlast that
// tune_apply last read for dev to ops (after ops_init). Returns the number of entries applied.
int tune_apply_gemm_cl(const Device *dev, Ops *ops);

// Whether the device `selector` picks has a usable tuning database (warns
// about a stale or corrupt one).
int tune_available(const char *selector);

// The device's FP32 peak in FLOP/s (src/peak.h), measured once and kept in its
// tuning database ("peak_flops"); prints one `peak: ...` line to out.
double tune_peak_flops(const Device *dev, FILE *out);

int cmd_tune(int argc, char **argv);
