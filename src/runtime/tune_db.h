// The tuning database: one JSON file per OpenCL device in gpt2cl_cache_dir(),
// holding every candidate the tuner measured (so an interrupted tune resumes)
// and the best parameters found, which train/bench/sample apply at start-up.
//
// File: <cache>/tune-<device name>-<hash of platform, device, vendor>.json
// {"format": 1, "key": "<hash of platform, device, vendor, driver, OpenCL version>",
//  "device": {"platform": .., "name": .., "vendor": .., "driver_version": .., "opencl_version": ..},
//  "measurements": {"<workload>": {"<kernel>|<params>": {"ms": total or null if rejected, "shape_ms": [..]}}},
//  "best": {"date": .., "workload": .., "gemm_ms_default": .., "gemm_ms_tuned": ..,
//           "clblast": {"Xgemm": {"MWG": 64, ..}, "XgemmDirect": {..}, "GemmRoutine": {..}},
//           "kernels": {"WG": 128}}}
// A file made for another driver or OpenCL version, or one that does not
// parse, is ignored with a warning (and replaced by the next tune).
#pragma once
#include <cjson/cJSON.h>
#include <stddef.h>

#include "runtime/cl_device.h"

#define TUNE_DB_FORMAT 1

typedef struct {
    cJSON *root;
    char path[4096];
    char key[17];
    int not_a_file;  // something other than a regular file is at path: read as absent, never written
} TuneDb;

// Fills path for dev (does not touch the disk).
Status tune_db_path(const Device *dev, char *path, size_t n);
// Opens dev's database. Returns 1 when a valid file for this device and driver
// was read; otherwise (missing, stale or corrupt, each but missing with a
// warning on stderr) db holds a fresh empty database and 0 is returned.
int tune_db_load(TuneDb *db, const Device *dev);
// Writes the database atomically, creating the cache folder; dies if
// not_a_file (the caller decides whether that matters).
Status tune_db_save(const TuneDb *db);
void tune_db_free(TuneDb *db);

// The device's FP32 peak in FLOP/s ("peak_flops", see src/runtime/peak.h), or 0 if none is recorded.
double tune_db_peak(const TuneDb *db);
void tune_db_set_peak(TuneDb *db, double flops);

// The recorded measurement of kernel|params under workload, or NULL.
cJSON *tune_db_find(const TuneDb *db, const char *workload, const char *id);
// Records one measurement (ms < 0: rejected candidate); shape_ms may be NULL.
void tune_db_record(TuneDb *db, const char *workload, const char *id, double ms, const double *shape_ms, int nshapes);
// Replaces the "best" object (takes ownership).
void tune_db_set_best(TuneDb *db, cJSON *best);
// The "best" object or NULL.
const cJSON *tune_db_best(const TuneDb *db);

// 64-bit FNV-1a, chained through h (start with TUNE_HASH_INIT).
#define TUNE_HASH_INIT 1469598103934665603ULL
unsigned long long tune_hash(unsigned long long h, const void *data, size_t n);
