// Every kernel of the main program (cl/*.cl, all but the standalone gemm.cl and
// peak.cl), one row each: its name in cl/ and the defines that size its
// work-group, X(name, wg, rows). wg is the family's work-items (KP_WG for the
// 1-D launches); rows its rows per work-group where a group takes several
// (KP_COUNT: one row per group). kernel_set.h makes the handles, their
// creation, check and release, and the family lookup from this one list.
#pragma once

#define KERNEL_LIST(X)                                            \
    X(encoder_forward, KP_WG, KP_COUNT)                           \
    X(encoder_backward_wte, KP_WG, KP_COUNT)                      \
    X(layernorm_forward, KP_LN_WG, KP_LN_ROWS)                    \
    X(layernorm_backward_input, KP_LN_WG, KP_LN_ROWS)             \
    X(layernorm_backward_params, KP_COLSUM_WG, KP_COUNT)          \
    X(residual_layernorm_forward, KP_LN_WG, KP_LN_ROWS)           \
    X(add_bias, KP_WG, KP_COUNT)                                  \
    X(column_sum, KP_COLSUM_WG, KP_COUNT)                         \
    X(column_partials_add, KP_COLSUM_WG, KP_COUNT)                \
    X(attention_split_heads, KP_WG, KP_COUNT)                     \
    X(attention_merge_heads, KP_WG, KP_COUNT)                     \
    X(attention_split_grad, KP_WG, KP_COUNT)                      \
    X(attention_merge_qkv_grad, KP_WG, KP_COUNT)                  \
    X(attention_softmax, KP_SOFTMAX_WG, KP_SOFTMAX_ROWS)          \
    X(attention_softmax_backward, KP_SOFTMAX_WG, KP_SOFTMAX_ROWS) \
    X(attention_fused_forward, KP_ATTN_BQ, KP_COUNT)              \
    X(attention_fused_backward_q, KP_ATTN_BQ, KP_COUNT)           \
    X(attention_fused_backward_kv, KP_ATTN_BQ, KP_COUNT)          \
    X(gelu_forward, KP_WG, KP_COUNT)                              \
    X(gelu_backward, KP_WG, KP_COUNT)                             \
    X(bias_gelu_forward, KP_WG, KP_COUNT)                         \
    X(gelu_backward_bias, KP_COLSUM_WG, KP_COUNT)                 \
    X(residual_forward, KP_WG, KP_COUNT)                          \
    X(accumulate, KP_WG, KP_COUNT)                                \
    X(crossentropy_forward_backward, KP_CE_WG, KP_COUNT)          \
    X(loss_sum, KP_CE_WG, KP_COUNT)                               \
    X(sumsq_partial, KP_REDUCE_WG, KP_COUNT)                      \
    X(grad_norm_finalize, KP_REDUCE_WG, KP_COUNT)                 \
    X(adamw_update, KP_WG, KP_COUNT)                              \
    X(lion_update, KP_WG, KP_COUNT)                               \
    X(rot_init_rows, KP_ROW_WG, KP_COUNT)                         \
    X(rot_update_rows, KP_ROW_WG, KP_COUNT)                       \
    X(row_delta_stats, KP_ROW_WG, KP_COUNT)                       \
    X(pair_stats_partial, KP_REDUCE_WG, KP_COUNT)                 \
    X(pair_stats_finalize, KP_REDUCE_WG, KP_COUNT)                \
    X(output_sumsq_partial, KP_REDUCE_WG, KP_COUNT)               \
    X(sub_range, KP_WG, KP_COUNT)                                 \
    X(snr_update, KP_WG, KP_COUNT)                                \
    X(encoder_forward_at, KP_WG, KP_COUNT)                        \
    X(kv_cache_append, KP_WG, KP_COUNT)                           \
    X(kv_cache_gather, KP_WG, KP_COUNT)                           \
    X(decode_attention, KP_SOFTMAX_WG, KP_SOFTMAX_ROWS)           \
    X(matvec_forward, KP_WG, KP_COUNT)                            \
    X(gather_rows, KP_WG, KP_COUNT)                               \
    X(scatter_rows, KP_WG, KP_COUNT)
