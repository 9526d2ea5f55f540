#include "runtime/device_classes.h"

#include <stdlib.h>
#include <string.h>

#include "runtime/tunables.h"
#include "util/util.h"

// Our GEMM's tiles (cl/gemm.cl) {VW, TM, TN, WG0, WG1, KC} for a SIMD width W
// (floats), as tuned at GPT-2 124M (n of 64 to 50304) and the default config
// (n of 32 to 512): NN with a long k (the LM head's input gradient, k = the
// vocabulary) in k chunks; NT (vectors along k) with the wider tile from
// n = 256; NN and TN (vectors along n) with a 4 x 4-vector tile where n holds
// it, else 8 rows x 1 vector, never wider than n, so that a tile never takes
// the scalar edge path (attention heads of 32 or 64 channels).
#define LONG_K 4096
#define HALF(W) ((W) > 4 ? (W) / 2 : 4)
#define CPU_GEMM_RULES(W)                                                                               \
    .ngemm = 6, .gemm = {                                                                               \
        {0, 0, -1, LONG_K, 0, {W, 4, 4, 1, 8, 512}},                                                    \
        {0, 1, -1, W, 256, {W, 4, 4, 1, 16, 0}},                                                        \
        {0, 1, -1, HALF(W), 0, {HALF(W), 8, 2, 4, 8, 0}},                                               \
        {-1, -1, -1, 0, 4 * (W), {W, 4, 4, 1, 8, 0}},                                                   \
        {-1, -1, -1, 0, W, {W, 8, 1, 1, 8, 0}},                                                         \
        {-1, -1, -1, 0, 0, {4, 4, 1, 1, 8, 0}},                                                         \
    }

const DeviceClass device_classes[] = {
    {.label = "POCL CPU, 512-bit vectors (AVX-512)",
     .platform = "Portable Computing Language",
     .type = CL_DEVICE_TYPE_CPU,
     .native_vw = 16,
     // POCL runs a work-group as a loop over its items and does not vectorize
     // across them through a loop: one work-item per row, explicit 16-wide vectors.
     .kernels = "WG=16 VW=16 LN_WG=1 LN_ROWS=1 SOFTMAX_WG=1 SOFTMAX_ROWS=1 CE_WG=1 CE_VW=16 ROW_WG=1 "
                "REDUCE_WG=8 NORM_GROUPS=64 REDUCE_CONTIGUOUS=1 REDUCE_VW=16",
     .xgemm = "GEMMK=0 KREG=1 KWG=32 KWI=2 MDIMA=8 MDIMC=8 MWG=64 NDIMB=8 NDIMC=8 NWG=64 SA=0 SB=0 STRM=0 STRN=0 "
              "VWM=8 VWN=8",
     .xgemm_direct = "KWID=8 MDIMAD=8 MDIMCD=8 NDIMBD=8 NDIMCD=8 PADA=0 PADB=0 VWMD=4 VWND=4 WGD=64",
     .min_indirect = -1,
     CPU_GEMM_RULES(16),
     .source = "tuned on a 2-core AMD EPYC (Zen 4), POCL 3.1: GPT-2 124M at 4 x 64 and the default config",
     .quick_gain = "0-3% faster steps where these defaults were tuned"},
    {.label = "POCL CPU, 256-bit vectors (AVX2)",
     .platform = "Portable Computing Language",
     .type = CL_DEVICE_TYPE_CPU,
     .native_vw = 8,
     .kernels = "WG=16 VW=8 LN_WG=1 LN_ROWS=1 SOFTMAX_WG=1 SOFTMAX_ROWS=1 CE_WG=1 CE_VW=8 ROW_WG=1 "
                "REDUCE_WG=8 NORM_GROUPS=64 REDUCE_CONTIGUOUS=1 REDUCE_VW=8 COLSUM_VW=8 ATTN_VW=8",
     .min_indirect = -1,
     CPU_GEMM_RULES(8),
     .source = "derived, not measured: the AVX-512 row at half the vector width",
     .quick_gain = NULL},
    {.label = "POCL CPU",
     .platform = "Portable Computing Language",
     .type = CL_DEVICE_TYPE_CPU,
     .kernels = "WG=16 VW=4 LN_WG=1 LN_ROWS=1 SOFTMAX_WG=1 SOFTMAX_ROWS=1 CE_WG=1 CE_VW=4 ROW_WG=1 "
                "REDUCE_WG=8 NORM_GROUPS=64 REDUCE_CONTIGUOUS=1 REDUCE_VW=4 COLSUM_VW=4 ATTN_VW=4",
     .min_indirect = -1,
     CPU_GEMM_RULES(4),
     .source = "derived, not measured: the AVX-512 row at 128-bit vectors",
     .quick_gain = NULL},
    {.label = "NVIDIA GPU",
     .platform = "NVIDIA",
     .type = CL_DEVICE_TYPE_GPU,
     // Two warps per LayerNorm / softmax row beat eight at C = 768 and T = 1024; 1024 partial sums
     // fill the SMs in the gradient norm (0.22 vs 0.98 ms at 64); the fused GELU backward and
     // fused attention lost to the separate kernels and the batched GEMMs (3.8 vs 4.4, 67 vs 93 ms).
     .kernels = "VW=4 LN_WG=64 SOFTMAX_WG=64 SOFTMAX_ROWS=2 ROW_WG=128 NORM_GROUPS=1024 GELU_BWD_FUSED=0",
     .min_indirect = -1,
     .source = "measured on an NVIDIA H200 (driver 580) by `tune --quick` and a 90-s tune, GPT-2 124M at 8 x 1024; "
               "CLBlast keeps its own database (no Xgemm candidate beat it)",
     .quick_gain = "0-4% faster steps on an H200 (GPT-2 124M)"},
    {.label = "AMD GPU",
     .platform = "Advanced Micro Devices",
     .type = CL_DEVICE_TYPE_GPU,
     .kernels = "LN_WG=64 SOFTMAX_WG=64",
     .min_indirect = -1,
     .source = "not measured: one 64-wide wavefront per LayerNorm / softmax row; CLBlast's own database",
     .quick_gain = NULL},
    {.label = "Intel GPU",
     .platform = "Intel",
     .type = CL_DEVICE_TYPE_GPU,
     .kernels = "LN_WG=32 SOFTMAX_WG=32",
     .min_indirect = -1,
     .source = "not measured: two 16-wide sub-groups per LayerNorm / softmax row; CLBlast's own database",
     .quick_gain = NULL},
    {.label = "GPU",
     .type = CL_DEVICE_TYPE_GPU,
     .min_indirect = -1,
     .source = "gpt2cl's generic GPU defaults (work-groups of 256, strided reductions); CLBlast's own database",
     .quick_gain = NULL},
    {.label = "other device",
     .min_indirect = -1,
     .source = "gpt2cl's generic defaults; CLBlast's own database",
     .quick_gain = NULL},
};
const int num_device_classes = sizeof device_classes / sizeof device_classes[0];

static int matches(const DeviceClass *c, const Device *dev) {
    if (c->platform && !str_contains_ci(dev->platform_name, c->platform) && !str_contains_ci(dev->vendor, c->platform))
        return 0;
    if (c->type && !(dev->type & c->type)) return 0;
    if (c->native_vw && dev->native_vw != c->native_vw) return 0;
    return !c->name || str_contains_ci(dev->name, c->name);
}

const DeviceClass *device_class_find(const Device *dev) {
    for (int i = 0; i < num_device_classes; i++)
        if (matches(&device_classes[i], dev)) return &device_classes[i];
    return &device_classes[num_device_classes - 1];
}

KernelParams device_class_kernel_params(const DeviceClass *c, const Device *dev) {
    KernelParams p = kernel_params_default(dev);
    for (const char *s = c->kernels; s && *s;) {
        char name[32];
        int value, used = 0;
        if (sscanf(s, " %31[A-Z_0-9]=%d%n", name, &value, &used) != 2) break;
        s += used;
        int id = kernel_param_find(name);
        KernelParams q = p;
        const char *bad = NULL;
        if (id >= 0) q.v[id] = value;
        if (id < 0 || !kernel_params_valid(&q, dev, &bad))
            warn("device class '%s': %s=%d is %s here; keeping %s's default", c->label, name, value,
                 id < 0 ? "unknown" : "illegal", name);
        else p = q;
    }
    return p;
}

static int override(const TuneSpace *s, const char *text, const DeviceClass *c, const Device *dev) {
    int v[TUNE_MAX_PARAMS];
    CLBlastStatusCode st = CLBlastInvalidValue;
    if (tune_space_parse(s, text, v) && s->valid(v, dev)) st = tune_space_override(s, dev, v);
    if (st == CLBlastSuccess) return 1;
    warn("device class '%s': its %s parameters do not fit this device; CLBlast keeps its own", c->label, s->kernel);
    return 0;
}

int device_class_apply_clblast(const DeviceClass *c, const Device *dev) {
    int ok = 1;
    if (c->xgemm) ok &= override(&tune_space_xgemm, c->xgemm, c, dev);
    if (c->xgemm_direct) ok &= override(&tune_space_xgemm_direct, c->xgemm_direct, c, dev);
    if (c->min_indirect >= 0) ok &= tune_override_min_indirect(dev, (size_t)c->min_indirect) == CLBlastSuccess;
    return ok;
}
