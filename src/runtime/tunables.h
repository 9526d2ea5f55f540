// What the tuner may change, declared in one place per kernel: each
// parameter's name and legal values, plus a validity check for combinations.
// CLBlast's Xgemm / XgemmDirect parameters go through CLBlastOverrideParameters;
// our own kernels' parameters are -D defines with #ifndef defaults in cl/.
// Adding a tunable = adding a row here (and, for our kernels, its #ifndef).
#pragma once
#include <stddef.h>

#include "runtime/cl_device.h"
#include "runtime/gemm_cl.h"
#include "runtime/kernel_params.h"
#include "util/rng.h"

#define TUNE_MAX_PARAMS 16
#define TUNE_MAX_VALUES 8

typedef struct {
    const char *name;
    int nvalues;
    int values[TUNE_MAX_VALUES];
} TuneParam;

typedef struct {
    const char *kernel;  // CLBlast kernel name, or the name of our kernel group
    int nparams;
    TuneParam params[TUNE_MAX_PARAMS];
    // 1 when the combination is legal for dev (v[i] is the value of params[i]).
    int (*valid)(const int *v, const Device *dev);
    // Hand-picked starting points tried first (0-terminated list of full value sets).
    int nseeds;
    int seeds[4][TUNE_MAX_PARAMS];
} TuneSpace;

extern const TuneSpace tune_space_xgemm;         // CLBlast indirect GEMM kernel
extern const TuneSpace tune_space_xgemm_direct;  // CLBlast direct GEMM kernel
// Our kernels' tunables (src/runtime/kernel_params.h), one space per kernel family
// named by its define names. A family's time depends on its own defines only,
// so the tuner searches all families side by side, one program build per round.
#define TUNE_NUM_FAMILIES 9
extern const TuneSpace tune_space_families[TUNE_NUM_FAMILIES];
extern const TuneSpace tune_space_gemm_cl;       // our GEMM (cl/gemm.cl), chosen per shape over CLBlast

// A random legal candidate into v; returns 0 if none was found.
int tune_space_random(const TuneSpace *s, const Device *dev, Rng *rng, int *v);
// A legal candidate one step from base in one parameter; returns 0 if none was found.
int tune_space_neighbour(const TuneSpace *s, const Device *dev, Rng *rng, const int *base, int *v);
// "Xgemm|KWG=32 KWI=2 ..." identifies a candidate in the database.
void tune_space_id(const TuneSpace *s, const int *v, char *buf, size_t n);
// Parses "KWG=32 KWI=2 ..." (every parameter of s once, in its order) into v; 0 if it does not fit s.
int tune_space_parse(const TuneSpace *s, const char *text, int *v);
// CLBlastOverrideParameters for a CLBlast space.
CLBlastStatusCode tune_space_override(const TuneSpace *s, const Device *dev, const int *v);
// Overrides CLBlast's direct/indirect GEMM crossover (m*n*k below it runs the direct kernel).
CLBlastStatusCode tune_override_min_indirect(const Device *dev, size_t min_indirect_size);
// Sets the defines of family space s to the values v in p.
void tune_family_params(const TuneSpace *s, const int *v, KernelParams *p);
// The values of family space s in p, into v.
void tune_family_values(const TuneSpace *s, const KernelParams *p, int *v);
// cl/gemm.cl's parameters from values of tune_space_gemm_cl.
GemmParams tune_gemm_params(const int *v);
