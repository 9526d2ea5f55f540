// Plain C reference of every device operation of src/runtime/ops.h, for tests/test_kernels.c.
// Straightforward loops in the style of llm.c's CPU train_gpt2.c, accumulating in
// double. Same shapes and the same accumulate/overwrite contracts as ops.h:
// B batch, T time, C channels, NH heads, hs = C/NH, V vocab, Vp padded vocab.
#pragma once
#include <stddef.h>

// out (B,T,C) = wte[inp] + wpe[:T]
void ref_encoder_forward(float *out, const int *inp, const float *wte, const float *wpe, int B, int T, int C);
// dwte[inp[b,t]] += dout[b,t]; dwpe[t] += sum_b dout[b,t]
void ref_encoder_backward(float *dwte, float *dwpe, const float *dout, const int *inp, int B, int T, int C);

// LayerNorm over rows of C, eps 1e-5; mean and rstd (N) are outputs.
void ref_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w, const float *b,
                           int N, int C);
// dinp += ..., dw += ..., db += ...
void ref_layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                            const float *mean, const float *rstd, int N, int C);

// out (N,OC) = inp (N,C) @ w^T (w (OC,C)) + bias (bias may be NULL)
void ref_matmul_forward(float *out, const float *inp, const float *w, const float *bias, int N, int C, int OC);
// dinp = dout @ w (overwritten, may be NULL); dw += dout^T @ inp; dbias += column sums of dout (may be NULL)
void ref_matmul_backward(float *dinp, float *dw, float *dbias, const float *dout, const float *inp, const float *w,
                         int N, int C, int OC);

// Causal self-attention: out (B,T,C), att (B,NH,T,T) softmax probabilities (0 above the diagonal).
void ref_attention_forward(float *out, float *att, const float *qkv, int B, int T, int C, int NH);
// lse (B,NH,T): log of the sum over j <= t of exp(q_t . k_j / sqrt(hs)), each row's log-sum-exp (the fused
// attention's forward statistics).
void ref_attention_lse(float *lse, const float *qkv, int B, int T, int C, int NH);
// dqkv (B,T,3C) overwritten, from dout (B,T,C), qkv and the att of the forward pass.
void ref_attention_backward(float *dqkv, const float *dout, const float *qkv, const float *att, int B, int T, int C,
                            int NH);

void ref_gelu_forward(float *out, const float *inp, int n);
void ref_gelu_backward(float *dinp, const float *inp, const float *dout, int n);  // overwrites dinp
void ref_residual_forward(float *out, const float *a, const float *b, int n);
void ref_accumulate(float *dst, const float *src, int n);
// dst (C) += sum over the N rows of src (N, C)
void ref_column_sum(float *dst, const float *src, int N, int C);

// losses (N); if dlogits is not NULL: dlogits (N,Vp) = dloss * (softmax - onehot), padded columns 0;
// a negative target masks its row out (loss 0, gradient row 0).
void ref_crossentropy(float *losses, float *dlogits, const float *logits, const int *targets, int N, int V, int Vp,
                      float dloss);
// acc += scale * sum(losses)
void ref_loss_sum(float *acc, const float *losses, int n, float scale);

// Returns ||g||; *clip = min(1, max_norm / (norm + 1e-6)), 1 when max_norm <= 0.
double ref_grad_norm(const float *g, size_t n, double max_norm, double *clip);
// One PyTorch-form AdamW step on elements [offset, offset+n) in double state; the
// gradient is multiplied by clip first. bias_correction = 1 - beta^t.
void ref_adamw(double *params, const float *grads, double *m, double *v, double clip, size_t offset, size_t n,
               double lr, double beta1, double beta2, double eps, double weight_decay, double bias_correction1,
               double bias_correction2);
