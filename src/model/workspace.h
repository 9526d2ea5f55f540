// The device buffers of one (batch, sequence) shape: activations, scratch,
// inputs and targets. The model (model.h) holds what does not depend on the
// shape; training, validation and generation each have their own workspace.
#pragma once
#include "model/model.h"

// What a workspace serves. Training keeps every layer's activations for the
// backward pass and has the backward scratch and encoder buckets. Forward only
// has one buffer per activation that the layers reuse in turn (each per-layer
// handle refers to it): no layer reads an activation of an earlier layer
// except the residual stream, which the next layer reads before overwriting.
typedef enum { WS_TRAIN, WS_FORWARD } WorkspaceUse;

typedef struct {
    int B, T;
    WorkspaceUse use;
} WorkspaceShape;

// Activations of one micro-batch.
typedef struct {
    cl_mem encoded;   // (B,T,C)
    cl_mem *ln1, *ln1_mean, *ln1_rstd, *qkv, *atty, *att, *residual2, *ln2, *ln2_mean, *ln2_rstd, *fch,
        *fch_gelu, *residual3;  // per layer: (B,T,C) (B,T) (B,T) (B,T,3C) (B,T,C) (B,NH,T,T) (B,T,C) ... (B,T,4C)
    cl_mem lnf, lnf_mean, lnf_rstd;  // (B,T,C) (B,T) (B,T)
    cl_mem logits;                   // (B,T,Vp); holds dlogits after the fused loss backward
    cl_mem losses;                   // (B,T)
    cl_mem proj_out;                 // (B,T,C) scratch: output of attproj / fcproj before the residual add
    cl_mem q, k, v, y;               // (B,NH,T,hs) attention scratch
} Activations;

// The backward pass's scratch (WS_TRAIN only).
typedef struct {
    cl_mem dresidual, dbuf;  // (B,T,C)
    cl_mem dqkv;             // (B,T,3C)
    cl_mem dfch;             // (B,T,4C)
    cl_mem datt;             // (B,NH,T,T)
    cl_mem dq, dk, dv, dy;   // (B,NH,T,hs)
} BackwardScratch;

typedef struct {
    const Device *dev;
    int B, T, L;  // L: handles in each per-layer array
    WorkspaceUse use;
    Activations acts;
    BackwardScratch scratch;
    cl_mem inputs, targets;  // (B,T) int32
    cl_mem bucket_tokens, bucket_start, bucket_pos;  // WS_TRAIN only: encoder backward buckets, see encoder.cl
    int num_buckets;
} Workspace;

// Allocates the buffers of a (B, T) shape for the model's configuration.
Status workspace_create(Workspace *w, const GPT2 *m, int B, int T, WorkspaceUse use);
// Releases them; a zeroed Workspace (never created) is left as it is.
void workspace_free(Workspace *w);
// Bytes of device memory a workspace of shape s takes.
double workspace_bytes(const GPT2Config *c, WorkspaceShape s);

// Bytes of device memory a run needs: parameters, gradients, optimizer moments
// counted as opt_copies extra parameter-sized buffers, and the workspaces.
double gpt2_memory_needed(const GPT2Config *c, double opt_copies, const WorkspaceShape *ws, int num_ws,
                          const Device *dev);
