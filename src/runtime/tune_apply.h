// Loading tuned parameters at start-up: the device class's defaults and the
// device's tuning database (written by `gpt2cl tune`, tune/), for train, bench and sample.
#pragma once
#include <stdio.h>

#include <cjson/cJSON.h>

#include "runtime/cl_device.h"
#include "runtime/ops.h"

// What a run applies: gpt2cl's generic defaults (and CLBlast's own database),
// the device class's defaults (src/runtime/device_classes.h), or the device's tuning
// database over them.
typedef enum { TUNE_GENERIC, TUNE_CLASS, TUNE_DATABASE } TuneLevel;

// Applies level for dev: CLBlast parameters through CLBlastOverrideParameters
// (which no later call can undo in this process), and prints one `tuned: ...`
// line to out. Returns the tunables for our kernels. Never fatal: a missing,
// stale or corrupt database only means the class defaults. GPT2CL_TUNE=0 in
// the environment lowers TUNE_DATABASE to TUNE_CLASS, GPT2CL_CLASS_DEFAULTS=0
// TUNE_CLASS to TUNE_GENERIC.
KernelParams tune_apply(const Device *dev, TuneLevel level, FILE *out);

// A database's best.clblast ({"Xgemm": {...}, "XgemmDirect": {...}, "GemmRoutine": {...}}) through
// CLBlastOverrideParameters; a kernel CLBlast rejects keeps its defaults, with a warning.
void tune_apply_clblast(const Device *dev, const cJSON *clblast);

// best.baseline of a quick tune (timed against the device class's defaults).
#define TUNE_BASELINE_QUICK "device class"

// Sends the GEMM shapes tune_apply last chose for dev through our GEMM
// (cl/gemm.cl) in ops (after ops_init): the database's shapes, then the device
// class's shape rules. Returns the number of entries applied.
int tune_apply_gemm_cl(const Device *dev, Ops *ops);

// Whether the device `selector` picks has a usable tuning database (warns
// about a stale or corrupt one).
int tune_available(const char *selector);

// The device's FP32 peak in FLOP/s (src/runtime/peak.h): measured now, and the highest
// measurement kept in its tuning database ("peak_flops"); prints one `peak: ...` line to out.
double tune_peak_flops(const Device *dev, FILE *out);

