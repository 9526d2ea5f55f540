#include "runtime/tunables.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

static cl_ulong local_mem(const Device *dev) {
    cl_ulong n = 0;
    CL_CHECK(clGetDeviceInfo(dev->device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof n, &n, NULL));
    return n;
}

// Constraints of CLBlast's xgemm.opencl (as in its own tuner, src/tuning/kernels/xgemm.hpp).
enum { GEMMK, KREG, KWG, KWI, MDIMA, MDIMC, MWG, NDIMB, NDIMC, NWG, SA, SB, STRM, STRN, VWM, VWN };
// On CPU devices (POCL) a work-group is a loop over its items, so big groups
// gain nothing, while POCL's compile time grows steeply with them (30+ s).
static int cpu_wg_ok(const Device *dev, int wg) { return !(dev->type & CL_DEVICE_TYPE_CPU) || wg <= 64; }

// Likewise a register tile of more than 64 accumulators per work-item takes
// POCL's LLVM over 30 s to compile (measured: 16x16 took > 37 s).
static int cpu_tile_ok(const Device *dev, int tile) { return !(dev->type & CL_DEVICE_TYPE_CPU) || tile <= 64; }

static int xgemm_valid(const int *v, const Device *dev) {
    int wg = v[MDIMC] * v[NDIMC];
    if (!cpu_wg_ok(dev, wg) || !cpu_tile_ok(dev, (v[MWG] / v[MDIMC]) * (v[NWG] / v[NDIMC]))) return 0;
    if ((size_t)wg > dev->max_wg || wg % v[MDIMA] || wg % v[NDIMB]) return 0;
    if (v[KWG] % v[KWI] || v[MWG] % (v[MDIMC] * v[VWM]) || v[NWG] % (v[NDIMC] * v[VWN])) return 0;
    if (v[MWG] % (v[MDIMA] * v[VWM]) || v[NWG] % (v[NDIMB] * v[VWN])) return 0;
    if (v[KWG] % (wg / v[MDIMA]) || v[KWG] % (wg / v[NDIMB])) return 0;
    cl_ulong lmem = (cl_ulong)(v[SA] * v[KWG] * v[MWG] + v[SB] * v[KWG] * v[NWG]) * sizeof(float);
    return lmem <= local_mem(dev);
}

const TuneSpace tune_space_xgemm = {
    .kernel = "Xgemm",
    .nparams = 16,
    .params = {{"GEMMK", 1, {0}}, {"KREG", 1, {1}}, {"KWG", 2, {16, 32}}, {"KWI", 2, {2, 8}},
               {"MDIMA", 4, {4, 8, 16, 32}}, {"MDIMC", 4, {4, 8, 16, 32}}, {"MWG", 4, {16, 32, 64, 128}},
               {"NDIMB", 4, {4, 8, 16, 32}}, {"NDIMC", 4, {4, 8, 16, 32}}, {"NWG", 4, {16, 32, 64, 128}},
               {"SA", 2, {0, 1}}, {"SB", 2, {0, 1}}, {"STRM", 2, {0, 1}}, {"STRN", 2, {0, 1}},
               {"VWM", 4, {1, 2, 4, 8}}, {"VWN", 4, {1, 2, 4, 8}}},
    .valid = xgemm_valid,
    .nseeds = 3,
    .seeds = {{0, 1, 32, 2, 8, 8, 64, 8, 8, 64, 0, 0, 0, 0, 8, 8},
              {0, 1, 32, 2, 4, 4, 32, 16, 16, 64, 0, 0, 0, 0, 8, 4},
              {0, 1, 32, 2, 8, 8, 64, 8, 8, 64, 0, 0, 0, 0, 4, 4}},
};

enum { KWID, MDIMAD, MDIMCD, NDIMBD, NDIMCD, PADA, PADB, VWMD, VWND, WGD };
static int xgemm_direct_valid(const int *v, const Device *dev) {
    int wg = v[MDIMCD] * v[NDIMCD];
    if (!cpu_wg_ok(dev, wg) || !cpu_tile_ok(dev, (v[WGD] / v[MDIMCD]) * (v[WGD] / v[NDIMCD]))) return 0;
    if ((size_t)wg > dev->max_wg || wg % v[MDIMAD] || wg % v[NDIMBD]) return 0;
    if (v[WGD] % v[KWID] || v[WGD] % (v[MDIMCD] * v[VWMD]) || v[WGD] % (v[NDIMCD] * v[VWND])) return 0;
    if (v[WGD] % (v[MDIMAD] * v[VWMD]) || v[WGD] % (v[NDIMBD] * v[VWND])) return 0;
    if (v[WGD] % (wg / v[MDIMAD]) || v[WGD] % (wg / v[NDIMBD])) return 0;
    cl_ulong lmem = (cl_ulong)(v[WGD] * (v[WGD] + v[PADA]) + v[WGD] * (v[WGD] + v[PADB])) * sizeof(float);
    return lmem <= local_mem(dev);
}

const TuneSpace tune_space_xgemm_direct = {
    .kernel = "XgemmDirect",
    .nparams = 10,
    .params = {{"KWID", 3, {2, 8, 16}}, {"MDIMAD", 4, {4, 8, 16, 32}}, {"MDIMCD", 4, {4, 8, 16, 32}},
               {"NDIMBD", 4, {4, 8, 16, 32}}, {"NDIMCD", 4, {4, 8, 16, 32}}, {"PADA", 2, {0, 1}},
               {"PADB", 2, {0, 1}}, {"VWMD", 4, {1, 2, 4, 8}}, {"VWND", 4, {1, 2, 4, 8}},
               {"WGD", 4, {16, 32, 64, 128}}},
    .valid = xgemm_direct_valid,
    .nseeds = 2,
    .seeds = {{2, 8, 8, 8, 8, 1, 1, 1, 1, 32}, {8, 8, 8, 8, 8, 0, 0, 4, 4, 64}},
};

// A family's first parameter is its work-group size; the value lists hold only legal values otherwise.
static int family_valid(const int *v, const Device *dev) { return (size_t)v[0] <= dev->max_wg; }
// ... and in the row families, the second is the rows per group, which multiply it.
static int rows_family_valid(const int *v, const Device *dev) { return (size_t)v[0] * (size_t)v[1] <= dev->max_wg; }
#define ROWS_VALUES 5, {1, 2, 4, 8, 16}

// The fused attention's second parameter is its work-group size.
static int attention_family_valid(const int *v, const Device *dev) { return (size_t)v[1] <= dev->max_wg; }
static int always_valid(const int *v, const Device *dev) {
    (void)v, (void)dev;
    return 1;
}

#define WG_VALUES 8, {1, 8, 16, 32, 64, 128, 256, 512}
const TuneSpace tune_space_families[TUNE_NUM_FAMILIES] = {
    {.kernel = "elementwise", .nparams = 2, .params = {{"WG", WG_VALUES}, {"VW", 5, {1, 2, 4, 8, 16}}}, .valid = family_valid},
    {.kernel = "layernorm",
     .nparams = 2,
     .params = {{"LN_WG", WG_VALUES}, {"LN_ROWS", ROWS_VALUES}},
     .valid = rows_family_valid},
    {.kernel = "softmax",
     .nparams = 2,
     .params = {{"SOFTMAX_WG", WG_VALUES}, {"SOFTMAX_ROWS", ROWS_VALUES}},
     .valid = rows_family_valid},
    {.kernel = "crossentropy",
     .nparams = 2,
     .params = {{"CE_WG", WG_VALUES}, {"CE_VW", 5, {1, 2, 4, 8, 16}}},
     .valid = family_valid},
    {.kernel = "rows", .nparams = 1, .params = {{"ROW_WG", WG_VALUES}}, .valid = family_valid},
    {.kernel = "reductions",
     .nparams = 4,
     .params = {{"REDUCE_WG", WG_VALUES},
                {"NORM_GROUPS", 8, {8, 16, 32, 64, 128, 256, 512, 1024}},
                {"REDUCE_CONTIGUOUS", 2, {0, 1}},
                {"REDUCE_VW", 5, {1, 2, 4, 8, 16}}},
     .valid = family_valid},
    {.kernel = "columns",
     .nparams = 3,
     .params = {{"COLSUM_WG", WG_VALUES}, {"COLSUM_VW", 5, {1, 2, 4, 8, 16}},
                {"COLSUM_CHUNKS", 8, {1, 2, 4, 8, 16, 64, 128, 256}}},
     .valid = family_valid},
    // The switches of the fused paths: each is timed against the operations it replaces.
    {.kernel = "fusion",
     .nparams = 3,
     .params = {{"LN_FUSED", 2, {0, 1}}, {"GELU_FUSED", 2, {0, 1}}, {"GELU_BWD_FUSED", 2, {0, 1}}},
     .valid = always_valid},
    // The switch first, so that the tiles are searched on the path the switch chose.
    {.kernel = "attention",
     .nparams = 4,
     .params = {{"ATTN_FUSED", 2, {0, 1}}, {"ATTN_BQ", WG_VALUES}, {"ATTN_BK", 4, {2, 4, 8, 16}},
                {"ATTN_VW", 5, {1, 2, 4, 8, 16}}},
     .valid = attention_family_valid},
};

void tune_family_params(const TuneSpace *s, const int *v, KernelParams *p) {
    for (int i = 0; i < s->nparams; i++) p->v[kernel_param_find(s->params[i].name)] = v[i];
}

void tune_family_values(const TuneSpace *s, const KernelParams *p, int *v) {
    for (int i = 0; i < s->nparams; i++) v[i] = p->v[kernel_param_find(s->params[i].name)];
}

GemmParams tune_gemm_params(const int *v) {
    return (GemmParams){.vw = v[0], .tm = v[1], .tn = v[2], .wg0 = v[3], .wg1 = v[4], .kc = v[5]};
}

static int gemm_cl_valid(const int *v, const Device *dev) {
    GemmParams p = tune_gemm_params(v);
    // NN/TN hold TM x TN vectors of VW accumulators: keep them within a CPU's registers' reach.
    return gemm_params_valid(&p, dev) && cpu_tile_ok(dev, p.tm * p.tn * p.vw / 4) && cpu_wg_ok(dev, p.wg0 * p.wg1);
}

// cl/gemm.cl: vector width, register tile (TM rows x TN vectors or columns), work-group shape,
// and the host's k chunk (0: none).
const TuneSpace tune_space_gemm_cl = {
    .kernel = "GemmCL",
    .nparams = 6,
    .params = {{"VW", 3, {4, 8, 16}}, {"TM", 6, {1, 2, 3, 4, 6, 8}}, {"TN", 4, {1, 2, 3, 4}},
               {"WG0", 4, {1, 2, 4, 8}}, {"WG1", 5, {1, 2, 4, 8, 16}}, {"KC", 5, {0, 128, 256, 512, 1024}}},
    .valid = gemm_cl_valid,
    .nseeds = 4,
    // Measured best on POCL (AVX-512): most shapes; the LM head's long-k NN; the batched attention GEMMs; AVX2 code.
    .seeds = {{16, 4, 4, 1, 8, 0}, {16, 4, 4, 1, 8, 256}, {16, 4, 4, 2, 1, 0}, {8, 4, 3, 1, 8, 0}},
};

int tune_space_random(const TuneSpace *s, const Device *dev, Rng *rng, int *v) {
    for (int tries = 0; tries < 100000; tries++) {
        for (int i = 0; i < s->nparams; i++)
            v[i] = s->params[i].values[rng_u64(rng) % (uint64_t)s->params[i].nvalues];
        if (s->valid(v, dev)) return 1;
    }
    return 0;
}

static int index_of(const TuneParam *p, int value) {
    for (int i = 0; i < p->nvalues; i++)
        if (p->values[i] == value) return i;
    return 0;
}

int tune_space_neighbour(const TuneSpace *s, const Device *dev, Rng *rng, const int *base, int *v) {
    for (int tries = 0; tries < 1000; tries++) {
        memcpy(v, base, (size_t)s->nparams * sizeof *v);
        // Move one or two parameters one step up or down their value list.
        int moves = 1 + (int)(rng_u64(rng) % 2);
        for (int m = 0; m < moves; m++) {
            const TuneParam *p = &s->params[rng_u64(rng) % (uint64_t)s->nparams];
            if (p->nvalues < 2) continue;
            int i = index_of(p, v[p - s->params]) + (rng_u64(rng) % 2 ? 1 : -1);
            if (i < 0 || i >= p->nvalues) continue;
            v[p - s->params] = p->values[i];
        }
        if (memcmp(v, base, (size_t)s->nparams * sizeof *v) != 0 && s->valid(v, dev)) return 1;
    }
    return 0;
}

void tune_space_id(const TuneSpace *s, const int *v, char *buf, size_t n) {
    size_t used = (size_t)snprintf(buf, n, "%s|", s->kernel);
    for (int i = 0; i < s->nparams && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%s=%d", i ? " " : "", s->params[i].name, v[i]);
}

int tune_space_parse(const TuneSpace *s, const char *p, int *v) {
    for (int i = 0; i < s->nparams; i++) {
        size_t nl = strlen(s->params[i].name);
        if (strncmp(p, s->params[i].name, nl) != 0 || p[nl] != '=') return 0;
        char *end;
        long x = strtol(p + nl + 1, &end, 10);
        if (end == p + nl + 1 || x < 0 || x > 1L << 30) return 0;
        v[i] = (int)x;
        p = *end == ' ' ? end + 1 : end;
    }
    return *p == '\0';
}

CLBlastStatusCode tune_space_override(const TuneSpace *s, const Device *dev, const int *v) {
    const char *names[TUNE_MAX_PARAMS];
    size_t values[TUNE_MAX_PARAMS];
    for (int i = 0; i < s->nparams; i++) {
        names[i] = s->params[i].name;
        values[i] = (size_t)v[i];
    }
    return CLBlastOverrideParameters(dev->device, s->kernel, CLBlastPrecisionSingle, (size_t)s->nparams, names,
                                     values);
}

CLBlastStatusCode tune_override_min_indirect(const Device *dev, size_t min_indirect_size) {
    const char *name = "XGEMM_MIN_INDIRECT_SIZE";
    return CLBlastOverrideParameters(dev->device, "GemmRoutine", CLBlastPrecisionSingle, 1, &name,
                                     &min_indirect_size);
}
