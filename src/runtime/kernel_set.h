// The main kernel program (cl/*.cl built with one set of tunables) and a handle
// for each kernel of kernel_list.h, indexed by KernelId (K_layernorm_forward, ...).
#pragma once
#include "runtime/cl_device.h"
#include "runtime/kernel_list.h"
#include "runtime/kernel_params.h"

// The largest head size of the fused attention kernels (private rows of this
// many floats); larger heads take the unfused path. GPT-2's heads are 64.
#define ATTN_HS_MAX 64

typedef enum {
#define KERNEL_ID(name, wg, rows) K_##name,
    KERNEL_LIST(KERNEL_ID)
#undef KERNEL_ID
    K_COUNT
} KernelId;

typedef struct {
    cl_program program;
    cl_kernel k[K_COUNT];
} KernelSet;

// The kernel's name in cl/ ("layernorm_forward").
const char *kernel_name(KernelId id);
// The defines that size the kernel's work-group: its family's work-items (*wg)
// and rows per group (*rows; KP_COUNT for one row per group).
void kernel_family(KernelId id, KernelParamId *wg, KernelParamId *rows);
// The work-group size the kernel runs with under kp: its family's size times its rows per group.
size_t kernel_wg(const KernelParams *kp, KernelId id);

// Builds the program with the tunables kp (already checked legal) and creates
// every kernel. *misfit: K_COUNT, or the first kernel whose compiled form cannot
// run its work-group size on dev (then everything is released), with *fits a
// size it can run. Fails where the program does not build.
Status kernel_set_build(KernelSet *ks, const Device *dev, const KernelParams *kp, size_t *fits, KernelId *misfit);
void kernel_set_free(KernelSet *ks);
