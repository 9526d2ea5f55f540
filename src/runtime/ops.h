// Layer runtime (src/runtime/): the OpenCL device and all that runs on it: device and queue
// (cl_device.h), the program cache, the embedded kernels and their one table (kernel_list.h), our
// kernels' tunables, these launchers with their geometry, profiler and GEMM routing, our GEMM, the
// FP32 peak, and the tuned parameters a run starts from (device classes, the tuning database,
// tuned_load). It uses util only.
//
// Host-side launchers of every device operation of the model: our kernels in
// cl/ and the CLBlast GEMMs. Each function enqueues work on the device queue
// and returns at once; nothing here reads data back to the host.
// Shapes use B batch, T time, C channels, NH heads, hs = C/NH, V vocab, Vp padded vocab.
#pragma once
#include <stdio.h>

#include "runtime/cl_device.h"
#include "runtime/gemm_record.h"
#include "runtime/gemm_route.h"
#include "runtime/kernel_set.h"
#include "runtime/profiler.h"
#include "runtime/tuned.h"
#include "util/status.h"

typedef struct {
    const Device *dev;
    KernelParams kp;       // the tunables the kernel program was built with
    KernelSet ks;          // the kernel program and its kernels (kernel_list.h)
    double build_seconds;  // time ops_init spent getting the kernel program (compile or program cache)
    // Partial sums of the column reductions (COLSUM_CHUNKS > 1), grown to the largest call's need.
    cl_mem col_partials;
    size_t col_partials_floats;
    Profiler prof;     // on with the device's profiling
    GemmRecorder rec;  // see ops_record_begin
    GemmRouter route;  // CLBlast or our GEMM, per shape
} Ops;

// Builds the kernel program with tuned's tunables and sends its GEMM routes and
// rules through our kernel (a route or rule that cannot run here stays with
// CLBlast, with a warning); NULL: the device's defaults, every GEMM with
// CLBlast. STATUS_INPUT when the tunables are illegal on dev, STATUS_DEVICE
// when a kernel cannot run even one work-item (then nothing is held).
Status ops_init(Ops *ops, const Device *dev, const Tuned *tuned);
// As ops_init, but returns 0 (with *ops freed) where the tunables are illegal
// for dev or one of the kernels cannot run its family's work-group size; 1 on
// success. Routes and rules that cannot run here stay with CLBlast silently.
int ops_try_init(Ops *ops, const Device *dev, const Tuned *tuned);
void ops_free(Ops *ops);
// Sends GEMMs of shape s (NULL: every shape) through our kernel with
// parameters p, or keeps s with CLBlast (p NULL); see gemm_router_use_shape.
int ops_use_gemm_cl(Ops *ops, const GemmShape *s, const GemmParams *p);
// Sends the shapes that rule r matches (and no exact entry does) through our kernel.
int ops_use_gemm_rule(Ops *ops, const GemmRule *r);
// Our kernel's program chosen for shape s, or NULL (CLBlast).
const GemmKernels *ops_gemm_cl_for(Ops *ops, const GemmShape *s);
// Records every GEMM's shape from now on (the earlier record cleared); with
// dry_run nothing is enqueued. ops_record_end stops, copies the distinct shapes
// (at most GEMM_LOG_MAX) to shapes and returns their number.
void ops_record_begin(Ops *ops, int dry_run);
int ops_record_end(Ops *ops, GemmShape *shapes);
// Milliseconds spent in CLBlast GEMMs and in our kernels since ops_init or the last reset.
void ops_profile_totals(const Ops *ops, double *gemm_ms, double *kernel_ms);
void ops_profile_reset(Ops *ops);
// Prints the share of each operation, largest first.
void ops_profile_print(const Ops *ops, int steps, FILE *f);

// ---- embeddings ----
// out (B,T,C) = wte[inp] + wpe[:T]
void op_encoder_forward(Ops *o, cl_mem out, cl_mem inp, cl_mem wte, cl_mem wpe, int B, int T, int C);
// dwte += scatter of dout by token (buckets built by the host, see encoder.cl); dwpe += sum over batch
void op_encoder_backward(Ops *o, cl_mem dwte, cl_mem dwpe, cl_mem dout, cl_mem bucket_tokens, cl_mem bucket_start,
                         cl_mem bucket_pos, int num_buckets, int B, int T, int C);

// ---- LayerNorm over rows of C ----
void op_layernorm_forward(Ops *o, cl_mem out, cl_mem mean, cl_mem rstd, cl_mem inp, cl_mem w, cl_mem b, int N, int C);
// dinp (N,C) += the input gradient only (op_layernorm_backward without the parameter gradients).
void op_layernorm_backward_input(Ops *o, cl_mem dinp, cl_mem dout, cl_mem inp, cl_mem w, cl_mem mean, cl_mem rstd,
                                 int N, int C);
// dw (C) += sum over rows of dout * norm, db (C) += column sums of dout (op_layernorm_backward without dinp).
void op_layernorm_backward_params(Ops *o, cl_mem dw, cl_mem db, cl_mem dout, cl_mem inp, cl_mem mean, cl_mem rstd,
                                  int N, int C);
// dinp += ..., dw += ..., db += ... (dw and db NULL: the input gradient only)
void op_layernorm_backward(Ops *o, cl_mem dinp, cl_mem dw, cl_mem db, cl_mem dout, cl_mem inp, cl_mem w, cl_mem mean,
                           cl_mem rstd, int N, int C);

// res (N,C) = a + (b + bias), then out = LayerNorm(res) (mean, rstd as above): the
// bias of the projection b, the residual add and the next LayerNorm in one kernel
// (LN_FUSED); the same results as op_matmul_forward's bias add, op_residual_forward
// and op_layernorm_forward.
void op_residual_layernorm_forward(Ops *o, cl_mem res, cl_mem out, cl_mem mean, cl_mem rstd, cl_mem a, cl_mem b,
                                   cl_mem bias, cl_mem w, cl_mem lnb, int N, int C);

// ---- linear layers (CLBlast) ----
// out (N,OC) = inp (N,C) @ w^T (w is (OC,C)) + bias (OC) (bias may be NULL); up to
// MATVEC_ROWS_MAX rows (a decode step's) through cl/decode.cl's matvec_forward, not a GEMM.
enum { MATVEC_ROWS_MAX = 8 };
void op_matmul_forward(Ops *o, cl_mem out, cl_mem inp, cl_mem w, cl_mem bias, int N, int C, int OC);
// out (N,OC) += bias (OC): op_matmul_forward's bias add.
void op_add_bias(Ops *o, cl_mem out, cl_mem bias, int N, int OC);
// dst (C) += column sums of src (N,C): a bias gradient (COLSUM_* tunables, cl/columns.cl).
void op_column_sum(Ops *o, cl_mem dst, cl_mem src, int N, int C);
// dinp (N,C) = dout @ w (overwritten); dw (OC,C) += dout^T @ inp; dbias (OC) += column sums of dout
// (each of dinp, dw, dbias may be NULL: not computed)
void op_matmul_backward(Ops *o, cl_mem dinp, cl_mem dw, cl_mem dbias, cl_mem dout, cl_mem inp, cl_mem w, int N, int C,
                        int OC);

// ---- attention ----
// out (B,T,C) from qkv (B,T,3C); keeps att (B,NH,T,T) for the backward pass.
// bias (3C), unless NULL, is first added to qkv in place (the qkv layer's bias,
// folded into the head split). q,k,v,y are (B,NH,T,hs) scratch buffers.
void op_attention_forward(Ops *o, cl_mem out, cl_mem att, cl_mem qkv, cl_mem bias, cl_mem q, cl_mem k, cl_mem v,
                          cl_mem y, int B, int T, int C, int NH);
// In place over att (N rows of T, row r is query position r % T): causal softmax; its backward
// datt = att * (datt - rowsum(att * datt)). Both are parts of the two operations around them.
void op_attention_softmax(Ops *o, cl_mem att, int N, int T);
void op_attention_softmax_backward(Ops *o, cl_mem datt, cl_mem att, int N, int T);
// dqkv (B,T,3C) (overwritten) from dout (B,T,C); datt is (B,NH,T,T) scratch, dq,dk,dv,dy (B,NH,T,hs) scratch.
void op_attention_backward(Ops *o, cl_mem dqkv, cl_mem dout, cl_mem qkv, cl_mem att, cl_mem q, cl_mem k, cl_mem v,
                           cl_mem datt, cl_mem dq, cl_mem dk, cl_mem dv, cl_mem dy, int B, int T, int C, int NH);

// Fused attention (ATTN_FUSED, cl/attention_fused.cl), for head sizes up to ATTN_HS_MAX: out (B,T,C) from
// qkv (B,T,3C), keeping lse (B,NH,T), each row's log-sum-exp of its scaled scores, for the backward.
void op_attention_fused_forward(Ops *o, cl_mem out, cl_mem lse, cl_mem qkv, int B, int T, int C, int NH);
// dqkv (B,T,3C) (overwritten) from dout (B,T,C) and the forward's out, qkv and lse; dsum (B,NH,T) scratch.
void op_attention_fused_backward(Ops *o, cl_mem dqkv, cl_mem dsum, cl_mem dout, cl_mem out, cl_mem qkv, cl_mem lse,
                                 int B, int T, int C, int NH);
// 1 when the model's attention takes the fused path: ATTN_FUSED set and head size hs <= ATTN_HS_MAX.
int ops_attention_fused(const Ops *o, int hs);

// ---- generation with a KV cache (cl/decode.cl); k, v are one layer's cache (B,NH,Tmax,hs) ----
// out (B,C) = wte[inp[b]] + wpe[pos]: one new token per row at position pos.
void op_encoder_forward_at(Ops *o, cl_mem out, cl_mem inp, cl_mem wte, cl_mem wpe, int B, int C, int pos);
// Positions pos..pos+T-1 of k, v = the key and value parts of qkv (B,T,3C).
void op_kv_cache_append(Ops *o, cl_mem k, cl_mem v, cl_mem qkv, int B, int T, int NH, int hs, int Tmax, int pos);
// dst row b = src row parent[b] (parent: B ints on the device) over positions 0..n-1.
void op_kv_cache_gather(Ops *o, cl_mem dst, cl_mem src, cl_mem parent, int B, int NH, int hs, int Tmax, int n);
// out (B,C): each row's one query (q part of qkv (B,3C)) attending over cached positions 0..n-1;
// scores (B,NH,Tmax) scratch.
void op_decode_attention(Ops *o, cl_mem out, cl_mem scores, cl_mem qkv, cl_mem k, cl_mem v, int B, int NH, int hs,
                         int Tmax, int n);

// ---- elementwise ----
void op_gelu_forward(Ops *o, cl_mem out, cl_mem inp, int n);
void op_gelu_backward(Ops *o, cl_mem dinp, cl_mem inp, cl_mem dout, int n);  // dinp may equal dout
// pre (N,OC) += bias (OC); out = gelu(pre): the fc layer's bias add and GELU in one kernel (GELU_FUSED).
void op_bias_gelu_forward(Ops *o, cl_mem out, cl_mem pre, cl_mem bias, int N, int OC);
// dinp (N,OC) = gelu'(inp) * dout (dinp may equal dout) and dbias (OC) += the column sums of dinp (GELU_BWD_FUSED).
void op_gelu_backward_bias(Ops *o, cl_mem dinp, cl_mem dbias, cl_mem inp, cl_mem dout, int N, int OC);
void op_residual_forward(Ops *o, cl_mem out, cl_mem a, cl_mem b, int n);
void op_accumulate(Ops *o, cl_mem dst, cl_mem src, int n);  // dst += src

// ---- loss ----
// losses (N) per row; with dloss != 0 the logits (N,Vp) are replaced by dloss * dL/dlogits.
void op_crossentropy(Ops *o, cl_mem logits, cl_mem losses, cl_mem targets, int N, int V, int Vp, float dloss);
void op_loss_sum(Ops *o, cl_mem acc, cl_mem losses, int n, float scale);  // acc[0] += scale * sum(losses)

// ---- sequence classification ----
// out (B,C) = inp (B,T,C) at row last[b] of each sequence (last: (B) int32).
void op_gather_rows(Ops *o, cl_mem out, cl_mem inp, cl_mem last, int B, int T, int C);
// dinp (B,T,C) = drow (B,C) at row last[b] of each sequence, zero elsewhere (overwritten).
void op_scatter_rows(Ops *o, cl_mem dinp, cl_mem drow, cl_mem last, int B, int T, int C);

// ---- optimizer support ----
// stats[1] = ||grads||, stats[2] = clip factor; partials holds NORM_GROUPS_MAX floats.
void op_grad_norm(Ops *o, cl_mem stats, cl_mem partials, cl_mem grads, size_t n, float max_norm);
void op_adamw(Ops *o, cl_mem params, cl_mem grads, cl_mem m, cl_mem v, cl_mem stats, size_t offset, size_t n, float lr,
              float beta1, float beta2, float eps, float weight_decay, float bias_correction1, float bias_correction2);

// ---- optimizer variants; offsets and counts are elements of the parent buffers ----
// Lion / LionA on [offset, offset+n): u = kappa*sign(c) (kappa 1 = Lion); see cl/lion.cl.
void op_lion(Ops *o, cl_mem params, cl_mem grads, cl_mem m, cl_mem stats, size_t offset, size_t n, float lr,
             float beta1, float beta2, float weight_decay, float kappa, int nesterov);
// Rows [0, rows) of `cols` at offset: optional zero-mean, then target[row_base + r] = ||w_r||.
void op_rot_init_rows(Ops *o, cl_mem params, cl_mem target, size_t offset, size_t rows, int cols, size_t row_base,
                      int zero_mean);
// Rotational update of rows [0, rows) (cl/lionar.cl): mode 0 Lion direction, mode 1 Adam direction.
typedef struct {
    int mode, nesterov, zero_mean, rho_index;  // rho_index < 0: no RRC factor
    float theta, beta1, beta2, eps, bc1, bc2;
} RotArgs;
void op_rot_update_rows(Ops *o, cl_mem params, cl_mem grads, cl_mem m, cl_mem v, cl_mem stats, cl_mem target,
                        cl_mem snr, size_t offset, size_t rows, int cols, size_t row_base, const RotArgs *a);

// ---- measurements ----
// out[3*(out_base+r)..] = ||w_r||^2, (w'_r-w_r).w_r, ||w'_r-w_r||^2 for rows [0, rows) at offset.
void op_row_delta_stats(Ops *o, cl_mem out, cl_mem w_old, cl_mem w_new, size_t offset, size_t rows, int cols,
                        size_t out_base);
// out[4*slot..] (+)= sums of x*x, x*y, y*y, (x-y)^2 over [offset, offset+n); partials holds 4*NORM_GROUPS_MAX floats.
void op_pair_stats(Ops *o, cl_mem out, cl_mem partials, cl_mem x, cl_mem y, size_t offset, size_t n, int slot,
                   int accumulate);
// out[4*slot] = sum over (N, OC) of (a - b - bias[bias_offset + col])^2 (b may be NULL), see rowstats.cl.
void op_output_sumsq(Ops *o, cl_mem out, cl_mem partials, cl_mem a, cl_mem b, cl_mem bias, size_t bias_offset,
                     int N, int OC, int slot);
void op_sub_range(Ops *o, cl_mem dst, cl_mem a, cl_mem b, size_t offset, size_t n);  // dst = a - b on a range
// Gradient SNR EMAs per tensor from total (|g_B|^2 at [4i]) and micro (sum |delta_k|^2 at [4i+3]); see rowstats.cl.
void op_snr_update(Ops *o, cl_mem snr, cl_mem total, cl_mem micro, int count, float b, float B, float accum,
                   float ema);
