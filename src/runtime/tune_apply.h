// Loading tuned parameters at start-up: the device class's defaults and the
// device's tuning database (written by `gpt2cl tune`, tune/), for train, bench and sample.
#pragma once
#include <stdio.h>

#include <cjson/cJSON.h>

#include "runtime/cl_device.h"
#include "runtime/device_classes.h"
#include "runtime/tuned.h"

// What a run applies: gpt2cl's generic defaults (and CLBlast's own database),
// the device class's defaults (src/runtime/device_classes.h), or the device's tuning
// database over them.
typedef enum { TUNE_GENERIC, TUNE_CLASS, TUNE_DATABASE } TuneLevel;

// Loads level for dev into *tuned, for ops_init: our kernels' tunables, the
// database's GEMM shapes for our kernel and the device class's shape rules.
// Applies the CLBlast parameters at once, through CLBlastOverrideParameters
// (which no later call can undo in this process), and prints one `tuned: ...`
// line to out. Never fatal: a missing, stale or corrupt database only means
// the class defaults (a malformed best.gemm_cl entry is skipped with a warning).
// GPT2CL_TUNE=0 in the environment lowers TUNE_DATABASE to TUNE_CLASS,
// GPT2CL_CLASS_DEFAULTS=0 TUNE_CLASS to TUNE_GENERIC.
void tuned_load(Tuned *tuned, const Device *dev, TuneLevel level, FILE *out);
// As tuned_load, reading the database once for both, plus the device's FP32 peak in FLOP/s
// (src/runtime/peak.h) into *peak: measured now, and the highest measurement kept in the tuning
// database ("peak_flops", whatever the level); prints one `peak: ...` line to out after the `tuned:` one.
Status tuned_load_with_peak(Tuned *tuned, const Device *dev, TuneLevel level, FILE *out, double *peak);

// The device class's GEMM shape rules into tuned (beneath its routes).
void tuned_add_class_rules(Tuned *tuned, const DeviceClass *c);

// A database's best.clblast ({"Xgemm": {...}, "XgemmDirect": {...}, "GemmRoutine": {...}}) through
// CLBlastOverrideParameters; a kernel CLBlast rejects keeps its defaults, with a warning.
void tune_apply_clblast(const Device *dev, const cJSON *clblast);

// best.baseline of a quick tune (timed against the device class's defaults).
#define TUNE_BASELINE_QUICK "device class"

// Whether the device `selector` picks has a usable tuning database (warns
// about a stale or corrupt one).
int tune_available(const char *selector);


