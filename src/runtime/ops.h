// Host-side launchers of every device operation of the model: our kernels in
// cl/ and the CLBlast GEMMs. Each function enqueues work on the device queue
// and returns at once; nothing here reads data back to the host.
// Shapes use B batch, T time, C channels, NH heads, hs = C/NH, V vocab, Vp padded vocab.
#pragma once
#include "runtime/cl_device.h"
#include "runtime/gemm_cl.h"
#include "runtime/kernel_params.h"

#define PROF_MAX_ENTRIES 48
#define GEMM_LOG_MAX 64
#define GEMM_CL_MAX_PROGRAMS GEMM_LOG_MAX  // distinct parameter sets of our GEMM in one Ops: one per shape at most
// The largest head size of the fused attention kernels (private rows of this
// many floats); larger heads take the unfused path. GPT-2's heads are 64.
#define ATTN_HS_MAX 64

// One distinct CLBlast GEMM call as issued (row-major), for the tuner and bench.
typedef struct {
    int trans_a, trans_b;
    size_t m, n, k, lda, ldb, ldc, stride_a, stride_b, stride_c, batch;  // batch 0 = plain Sgemm
    long calls;
} GemmShape;

// Same shape, strides and batch (calls not compared).
int gemm_shape_equal(const GemmShape *a, const GemmShape *b);

// A class of GEMM shapes sent through our kernel with parameters p (the
// device-class defaults of src/runtime/device_classes.c): layout, batched or not, and
// a least k and n (the LM head's long k wants k chunks; a tile wider than n
// would take the scalar edge path).
typedef struct {
    int trans_a, trans_b;  // -1: either
    int batched;           // -1: either, 0: plain, 1: strided-batched
    size_t min_k, min_n;
    GemmParams p;
} GemmRule;
#define GEMM_RULES_MAX 8

int gemm_rule_matches(const GemmRule *r, const GemmShape *s);

// With profiling on, each operation is timed on the host between two
// clFinish calls: this also counts the helper kernels CLBlast launches
// internally (padding, transposes), which a single returned event would miss.
typedef struct {
    const char *name;  // kernel name, or "gemm" / "gemm_batched" for CLBlast
    double ms;
    long calls;
} ProfEntry;

typedef struct {
    const Device *dev;
    cl_program program;
    KernelParams kp;  // the tunables the kernel program was built with
    cl_kernel column_sum, accumulate, encoder_forward, encoder_backward_wte, layernorm_forward,
        layernorm_backward_input, layernorm_backward_params, add_bias, gelu_forward, gelu_backward,
        residual_forward, attention_split_heads, attention_merge_qkv_grad, attention_merge_heads,
        attention_split_grad, attention_softmax, attention_softmax_backward, crossentropy_forward_backward,
        loss_sum, sumsq_partial, grad_norm_finalize, adamw_update;
    // optimizer variants and update-size measurements
    cl_kernel lion_update, rot_init_rows, rot_update_rows, row_delta_stats, pair_stats_partial, pair_stats_finalize,
        sub_range, snr_update, output_sumsq_partial;
    // column reductions' second pass, fused paths
    cl_kernel column_partials_add, residual_layernorm_forward, bias_gelu_forward, gelu_backward_bias,
        attention_fused_forward, attention_fused_backward_q, attention_fused_backward_kv;
    // Partial sums of the column reductions (COLSUM_CHUNKS > 1), grown to the largest call's need.
    cl_mem col_partials;
    size_t col_partials_floats;
    int profiling;
    ProfEntry prof[PROF_MAX_ENTRIES];
    int num_prof;
    // With record_gemms set, every GEMM's shape is counted in gemm_log; with
    // dry_run also set, nothing is enqueued (shapes of a step without running it).
    int record_gemms, dry_run;
    double build_seconds;  // time ops_init spent getting the kernel program (compile or program cache)
    GemmShape gemm_log[GEMM_LOG_MAX];
    int num_gemm_log;
    // GEMM routing, first match: shapes the tuning database sends through our
    // kernel (cl/gemm.cl, with the program of their parameters) or keeps with
    // CLBlast (program -1); then the device class's rules; then CLBlast.
    GemmShape gemm_cl_shapes[GEMM_LOG_MAX];
    int gemm_cl_program[GEMM_LOG_MAX];  // index into gemm_cl, for each of gemm_cl_shapes; -1: CLBlast
    int num_gemm_cl_shapes, gemm_cl_all;  // gemm_cl_all: every shape, with gemm_cl[0]
    GemmRule gemm_rules[GEMM_RULES_MAX];
    int gemm_rule_program[GEMM_RULES_MAX], num_gemm_rules;
    GemmKernels gemm_cl[GEMM_CL_MAX_PROGRAMS];
    int num_gemm_cl;
} Ops;

// Builds the kernel program with the tunables kp (NULL: the device's
// defaults) and creates its kernels. Exits with a message when kp is illegal.
void ops_init(Ops *ops, const Device *dev, const KernelParams *kp);
// As ops_init, but returns 0 (with *ops freed) where kp is illegal for dev or
// one of the kernels cannot run its family's work-group size; 1 on success.
int ops_try_init(Ops *ops, const Device *dev, const KernelParams *kp);
void ops_free(Ops *ops);
// Sends GEMMs of shape s (NULL: every shape) through our kernel with parameters
// p instead of CLBlast (the tuner's choice; see src/runtime/tune_apply.c); p NULL keeps
// shape s with CLBlast whatever the rules say. Returns 0 (and changes nothing)
// when p is illegal for the device, its compiled kernels cannot run its
// work-group here, or the table is full.
int ops_use_gemm_cl(Ops *ops, const GemmShape *s, const GemmParams *p);
// Sends the shapes that rule r matches (and no exact entry does) through our kernel.
int ops_use_gemm_rule(Ops *ops, const GemmRule *r);
// Our kernel's program chosen for shape s, or NULL (CLBlast).
// (Builds the program of a device-class rule the first time a shape needs it.)
const GemmKernels *ops_gemm_cl_for(Ops *ops, const GemmShape *s);
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
// dinp += ..., dw += ..., db += ...
void op_layernorm_backward(Ops *o, cl_mem dinp, cl_mem dw, cl_mem db, cl_mem dout, cl_mem inp, cl_mem w, cl_mem mean,
                           cl_mem rstd, int N, int C);

// res (N,C) = a + (b + bias), then out = LayerNorm(res) (mean, rstd as above): the
// bias of the projection b, the residual add and the next LayerNorm in one kernel
// (LN_FUSED); the same results as op_matmul_forward's bias add, op_residual_forward
// and op_layernorm_forward.
void op_residual_layernorm_forward(Ops *o, cl_mem res, cl_mem out, cl_mem mean, cl_mem rstd, cl_mem a, cl_mem b,
                                   cl_mem bias, cl_mem w, cl_mem lnb, int N, int C);

// ---- linear layers (CLBlast) ----
// out (N,OC) = inp (N,C) @ w^T (w is (OC,C)) + bias (OC) (bias may be NULL)
void op_matmul_forward(Ops *o, cl_mem out, cl_mem inp, cl_mem w, cl_mem bias, int N, int C, int OC);
// out (N,OC) += bias (OC): op_matmul_forward's bias add.
void op_add_bias(Ops *o, cl_mem out, cl_mem bias, int N, int OC);
// dst (C) += column sums of src (N,C): a bias gradient (COLSUM_* tunables, cl/columns.cl).
void op_column_sum(Ops *o, cl_mem dst, cl_mem src, int N, int C);
// dinp (N,C) = dout @ w (overwritten); dw (OC,C) += dout^T @ inp; dbias (OC) += column sums of dout
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
