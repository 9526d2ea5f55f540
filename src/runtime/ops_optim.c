// Launchers of the optimizers and of the update-size measurements.
#include "runtime/ops_launch.h"

// ---- optimizer support ----
void op_grad_norm(Ops *o, cl_mem stats, cl_mem partials, cl_mem grads, size_t n, float max_norm) {
    cl_ulong nn = n;
    set_args(o, K_sumsq_partial, ARG(partials), ARG(grads), ARG(nn));
    launch_rows(o, K_sumsq_partial, (size_t)o->kp.v[KP_NORM_GROUPS]);
    set_args(o, K_grad_norm_finalize, ARG(stats), ARG(partials), ARG(max_norm));
    launch_rows(o, K_grad_norm_finalize, 1);
}

void op_adamw(Ops *o, cl_mem params, cl_mem grads, cl_mem m, cl_mem v, cl_mem stats, size_t offset, size_t n, float lr,
              float beta1, float beta2, float eps, float weight_decay, float bias_correction1, float bias_correction2) {
    cl_ulong off = offset, nn = n;
    set_args(o, K_adamw_update, ARG(params), ARG(grads), ARG(m), ARG(v), ARG(stats), ARG(off), ARG(nn), ARG(lr),
             ARG(beta1), ARG(beta2), ARG(eps), ARG(weight_decay), ARG(bias_correction1), ARG(bias_correction2));
    launch_vec(o, K_adamw_update, n);
}

// ---- optimizer variants ----
void op_lion(Ops *o, cl_mem params, cl_mem grads, cl_mem m, cl_mem stats, size_t offset, size_t n, float lr,
             float beta1, float beta2, float weight_decay, float kappa, int nesterov) {
    cl_ulong off = offset, nn = n;
    set_args(o, K_lion_update, ARG(params), ARG(grads), ARG(m), ARG(stats), ARG(off), ARG(nn), ARG(lr), ARG(beta1),
             ARG(beta2), ARG(weight_decay), ARG(kappa), ARG(nesterov));
    launch_vec(o, K_lion_update, n);
}

void op_rot_init_rows(Ops *o, cl_mem params, cl_mem target, size_t offset, size_t rows, int cols, size_t row_base,
                      int zero_mean) {
    cl_ulong off = offset, rb = row_base;
    set_args(o, K_rot_init_rows, ARG(params), ARG(target), ARG(off), ARG(cols), ARG(rb), ARG(zero_mean));
    launch_rows(o, K_rot_init_rows, rows);
}

void op_rot_update_rows(Ops *o, cl_mem params, cl_mem grads, cl_mem m, cl_mem v, cl_mem stats, cl_mem target,
                        cl_mem snr, size_t offset, size_t rows, int cols, size_t row_base, const RotArgs *a) {
    cl_ulong off = offset, rb = row_base;
    set_args(o, K_rot_update_rows, ARG(params), ARG(grads), ARG(m), ARG(v), ARG(stats), ARG(target), ARG(snr),
             ARG(a->rho_index), ARG(off), ARG(cols), ARG(rb), ARG(a->mode), ARG(a->theta), ARG(a->beta1),
             ARG(a->beta2), ARG(a->eps), ARG(a->bc1), ARG(a->bc2), ARG(a->nesterov), ARG(a->zero_mean));
    launch_rows(o, K_rot_update_rows, rows);
}

// ---- measurements ----
void op_row_delta_stats(Ops *o, cl_mem out, cl_mem w_old, cl_mem w_new, size_t offset, size_t rows, int cols,
                        size_t out_base) {
    cl_ulong off = offset, ob = out_base;
    set_args(o, K_row_delta_stats, ARG(out), ARG(w_old), ARG(w_new), ARG(off), ARG(cols), ARG(ob));
    launch_rows(o, K_row_delta_stats, rows);
}

void op_pair_stats(Ops *o, cl_mem out, cl_mem partials, cl_mem x, cl_mem y, size_t offset, size_t n, int slot,
                   int accumulate) {
    cl_ulong off = offset, nn = n;
    set_args(o, K_pair_stats_partial, ARG(partials), ARG(x), ARG(y), ARG(off), ARG(nn));
    launch_rows(o, K_pair_stats_partial, (size_t)o->kp.v[KP_NORM_GROUPS]);
    set_args(o, K_pair_stats_finalize, ARG(out), ARG(partials), ARG(slot), ARG(accumulate));
    launch_rows(o, K_pair_stats_finalize, 1);
}

void op_output_sumsq(Ops *o, cl_mem out, cl_mem partials, cl_mem a, cl_mem b, cl_mem bias, size_t bias_offset,
                     int N, int OC, int slot) {
    cl_ulong boff = bias_offset, nn = (cl_ulong)N * (cl_ulong)OC;
    int use_b = b != NULL, acc = 0;
    cl_mem bb = b ? b : a;
    set_args(o, K_output_sumsq_partial, ARG(partials), ARG(a), ARG(bb), ARG(use_b), ARG(bias), ARG(boff), ARG(OC),
             ARG(nn));
    launch_rows(o, K_output_sumsq_partial, (size_t)o->kp.v[KP_NORM_GROUPS]);
    set_args(o, K_pair_stats_finalize, ARG(out), ARG(partials), ARG(slot), ARG(acc));
    launch_rows(o, K_pair_stats_finalize, 1);
}

void op_sub_range(Ops *o, cl_mem dst, cl_mem a, cl_mem b, size_t offset, size_t n) {
    cl_ulong off = offset, nn = n;
    set_args(o, K_sub_range, ARG(dst), ARG(a), ARG(b), ARG(off), ARG(nn));
    launch_1d(o, K_sub_range, n);
}

void op_snr_update(Ops *o, cl_mem snr, cl_mem total, cl_mem micro, int count, float b, float B, float accum,
                   float ema) {
    set_args(o, K_snr_update, ARG(snr), ARG(total), ARG(micro), ARG(count), ARG(b), ARG(B), ARG(accum), ARG(ema));
    size_t one = 1;
    launch(o, K_snr_update, 1, &one, &one);
}
