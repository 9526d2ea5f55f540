// Launchers of the model's layers but attention: embeddings, LayerNorm, linear layers, GELU, residuals, loss.
#include "runtime/ops_launch.h"

// ---- embeddings ----
void op_encoder_forward(Ops *o, cl_mem out, cl_mem inp, cl_mem wte, cl_mem wpe, int B, int T, int C) {
    int BT = B * T;
    set_args(o, K_encoder_forward, ARG(out), ARG(inp), ARG(wte), ARG(wpe), ARG(BT), ARG(T), ARG(C));
    launch_1d(o, K_encoder_forward, (size_t)BT * C);
}

void op_encoder_backward(Ops *o, cl_mem dwte, cl_mem dwpe, cl_mem dout, cl_mem bucket_tokens, cl_mem bucket_start,
                         cl_mem bucket_pos, int num_buckets, int B, int T, int C) {
    set_args(o, K_encoder_backward_wte, ARG(dwte), ARG(dout), ARG(bucket_tokens), ARG(bucket_start), ARG(bucket_pos),
             ARG(C));
    size_t wg = (size_t)o->kp.v[KP_WG], local[2] = {wg, 1}, global[2] = {round_up((size_t)C, wg), (size_t)num_buckets};
    launch(o, K_encoder_backward_wte, 2, global, local);
    // dwpe (T,C) += sum over b of dout viewed as (B, T*C)
    column_sum(o, dwpe, dout, B, T * C, 1);  // T*C columns fill any device
}

// ---- LayerNorm ----
void op_layernorm_forward(Ops *o, cl_mem out, cl_mem mean, cl_mem rstd, cl_mem inp, cl_mem w, cl_mem b, int N, int C) {
    set_args(o, K_layernorm_forward, ARG(out), ARG(mean), ARG(rstd), ARG(inp), ARG(w), ARG(b), ARG(N), ARG(C));
    launch_rows(o, K_layernorm_forward, (size_t)N);
}

void op_layernorm_backward_input(Ops *o, cl_mem dinp, cl_mem dout, cl_mem inp, cl_mem w, cl_mem mean, cl_mem rstd,
                                 int N, int C) {
    set_args(o, K_layernorm_backward_input, ARG(dinp), ARG(dout), ARG(inp), ARG(w), ARG(mean), ARG(rstd), ARG(N),
             ARG(C));
    launch_rows(o, K_layernorm_backward_input, (size_t)N);
}

void op_layernorm_backward(Ops *o, cl_mem dinp, cl_mem dw, cl_mem db, cl_mem dout, cl_mem inp, cl_mem w, cl_mem mean,
                           cl_mem rstd, int N, int C) {
    op_layernorm_backward_input(o, dinp, dout, inp, w, mean, rstd, N, C);
    if (dw) op_layernorm_backward_params(o, dw, db, dout, inp, mean, rstd, N, C);
}

void op_layernorm_backward_params(Ops *o, cl_mem dw, cl_mem db, cl_mem dout, cl_mem inp, cl_mem mean, cl_mem rstd,
                                  int N, int C) {
    if (o->rec.dry_run || N <= 0) return;
    ColumnPlan pl = column_plan(o, N, C, 2, 0);
    cl_mem w_out = pl.add ? dw : pl.partials, b_out = pl.add ? db : pl.partials;
    const int b_off = pl.add ? 0 : pl.chunks * C;
    set_args(o, K_layernorm_backward_params, ARG(w_out), ARG(b_out), ARG(b_off), ARG(dout), ARG(inp), ARG(mean),
             ARG(rstd), ARG(N), ARG(C), ARG(pl.rows), ARG(pl.add));
    launch_columns(o, K_layernorm_backward_params, C, pl.chunks);
    column_finish(o, &pl, dw, db, C);
}

void op_residual_layernorm_forward(Ops *o, cl_mem res, cl_mem out, cl_mem mean, cl_mem rstd, cl_mem a, cl_mem b,
                                   cl_mem bias, cl_mem w, cl_mem lnb, int N, int C) {
    set_args(o, K_residual_layernorm_forward, ARG(res), ARG(out), ARG(mean), ARG(rstd), ARG(a), ARG(b), ARG(bias),
             ARG(w), ARG(lnb), ARG(N), ARG(C));
    launch_rows(o, K_residual_layernorm_forward, (size_t)N);
}

// ---- linear layers ----
void op_matmul_forward(Ops *o, cl_mem out, cl_mem inp, cl_mem w, cl_mem bias, int N, int C, int OC) {
    if (N <= MATVEC_ROWS_MAX) {  // a decode step's few rows: a GEMM would pad them to its tile
        int use_bias = bias != NULL;
        cl_mem b = bias ? bias : w;  // not read without use_bias
        set_args(o, K_matvec_forward, ARG(out), ARG(inp), ARG(w), ARG(b), ARG(use_bias), ARG(N), ARG(C), ARG(OC));
        launch_1d(o, K_matvec_forward, (size_t)OC);
        return;
    }
    gemm(o, 0, 1, (size_t)N, (size_t)OC, (size_t)C, 1.0f, inp, (size_t)C, w, (size_t)C, 0.0f, out, (size_t)OC);
    if (bias) op_add_bias(o, out, bias, N, OC);
}

void op_add_bias(Ops *o, cl_mem out, cl_mem bias, int N, int OC) {
    set_args(o, K_add_bias, ARG(out), ARG(bias), ARG(N), ARG(OC));
    launch_1d(o, K_add_bias, (size_t)N * OC);
}

void op_matmul_backward(Ops *o, cl_mem dinp, cl_mem dw, cl_mem dbias, cl_mem dout, cl_mem inp, cl_mem w, int N, int C,
                        int OC) {
    if (dinp) gemm(o, 0, 0, (size_t)N, (size_t)C, (size_t)OC, 1.0f, dout, (size_t)OC, w, (size_t)C, 0.0f, dinp, (size_t)C);
    if (dw)
        gemm(o, 1, 0, (size_t)OC, (size_t)C, (size_t)N, 1.0f, dout, (size_t)OC, inp, (size_t)C, 1.0f, dw, (size_t)C);
    if (dbias) column_sum(o, dbias, dout, N, OC, 0);
}

// ---- elementwise ----
void op_gelu_forward(Ops *o, cl_mem out, cl_mem inp, int n) {
    set_args(o, K_gelu_forward, ARG(out), ARG(inp), ARG(n));
    launch_vec(o, K_gelu_forward, (size_t)n);
}

void op_gelu_backward(Ops *o, cl_mem dinp, cl_mem inp, cl_mem dout, int n) {
    set_args(o, K_gelu_backward, ARG(dinp), ARG(inp), ARG(dout), ARG(n));
    launch_vec(o, K_gelu_backward, (size_t)n);
}

void op_bias_gelu_forward(Ops *o, cl_mem out, cl_mem pre, cl_mem bias, int N, int OC) {
    int n = N * OC;
    set_args(o, K_bias_gelu_forward, ARG(out), ARG(pre), ARG(bias), ARG(n), ARG(OC));
    launch_vec(o, K_bias_gelu_forward, (size_t)n);
}

void op_gelu_backward_bias(Ops *o, cl_mem dinp, cl_mem dbias, cl_mem inp, cl_mem dout, int N, int OC) {
    if (o->rec.dry_run || N <= 0 || OC <= 0) return;
    ColumnPlan pl = column_plan(o, N, OC, 1, 0);
    cl_mem out = pl.add ? dbias : pl.partials;
    set_args(o, K_gelu_backward_bias, ARG(dinp), ARG(out), ARG(inp), ARG(dout), ARG(N), ARG(OC), ARG(pl.rows),
             ARG(pl.add));
    launch_columns(o, K_gelu_backward_bias, OC, pl.chunks);
    column_finish(o, &pl, dbias, dbias, OC);
}

void op_residual_forward(Ops *o, cl_mem out, cl_mem a, cl_mem b, int n) {
    set_args(o, K_residual_forward, ARG(out), ARG(a), ARG(b), ARG(n));
    launch_vec(o, K_residual_forward, (size_t)n);
}

void op_accumulate(Ops *o, cl_mem dst, cl_mem src, int n) {
    set_args(o, K_accumulate, ARG(dst), ARG(src), ARG(n));
    launch_vec(o, K_accumulate, (size_t)n);
}

// ---- loss ----
void op_crossentropy(Ops *o, cl_mem logits, cl_mem losses, cl_mem targets, int N, int V, int Vp, float dloss) {
    set_args(o, K_crossentropy_forward_backward, ARG(logits), ARG(losses), ARG(targets), ARG(V), ARG(Vp), ARG(dloss));
    launch_rows(o, K_crossentropy_forward_backward, (size_t)N);
}

void op_loss_sum(Ops *o, cl_mem acc, cl_mem losses, int n, float scale) {
    set_args(o, K_loss_sum, ARG(acc), ARG(losses), ARG(n), ARG(scale));
    launch_rows(o, K_loss_sum, 1);
}
