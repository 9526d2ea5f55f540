// A sequence-classification head on the transformer, as Hugging Face's
// GPT2ForSequenceClassification: logits (B,K) = lnf[b, last[b]] @ W^T, with
// W (K,C) and no bias, at each sequence's last non-padding position; the loss
// is the cross-entropy over the K labels, averaged over the batch. The head's
// parameters, gradient and AdamW moments live apart from the model's, so the
// llm.c parameter layout and checkpoint stay unchanged; the head has its own
// file (head_save).
#pragma once
#include <stdint.h>

#include "model/model.h"
#include "model/optimizer.h"
#include "model/workspace.h"
#include "runtime/ops.h"

typedef struct {
    const Device *dev;
    int num_labels, channels, B;  // K, C, and the rows of one batch
    cl_mem weight, grad;          // (K,C)
    cl_mem adam_m, adam_v;        // (K,C) AdamW moments
    cl_mem last, labels;          // (B) int32: last non-padding position and label of each sequence
    cl_mem feat, dfeat;           // (B,C) the selected lnf rows and their gradient
    cl_mem logits, losses;        // (B,K) (holds dlogits after a forward with dloss != 0), (B)
} ClassHead;

// Allocates a head of num_labels x channels for batches of B sequences (all zero).
Status head_create(ClassHead *h, const Device *dev, int num_labels, int channels, int B);
// Releases it; a zeroed ClassHead (never created) is left as it is.
void head_free(ClassHead *h);
// W ~ N(0, 0.02) (GPT-2's initializer_range) from seed.
void head_init_random(ClassHead *h, uint64_t seed);
// Uploads the batch's last positions and labels (labels may be NULL: inference, losses meaningless).
void head_set_batch(ClassHead *h, const int *last, const int *labels);
// After gpt2_forward_trunk over ws: logits, per-sequence losses, and m->stats[0] += loss_scale * sum(losses).
// With dloss != 0 the logits are replaced by dloss * dL/dlogits, ready for head_backward.
void head_forward(ClassHead *h, const GPT2 *m, const Workspace *ws, Ops *o, float dloss, float loss_scale);
// head grad += dlogits^T @ feat; the gradient at the selected lnf rows into ws->scratch.dbuf, then the
// transformer's backward (gpt2_backward_trunk) accumulates into m->grads.
void head_backward(ClassHead *h, GPT2 *m, Workspace *ws, Ops *o);
// AdamW step t of the head with the model's clipping factor (m->stats[2], computed by optimizer_step
// from the transformer's gradients); weight decay applies (W is a matrix).
void head_adamw(ClassHead *h, const GPT2 *m, Ops *o, const OptimizerHyper *hp, int t, float lr);
// The head file: a 256-byte header (magic, version, num_labels, channels, seq_len, with_state), W (K,C)
// float32, then the AdamW moments m, v when with_state (a run's checkpoint; resume needs them).
Status head_save(const ClassHead *h, const char *path, int seq_len, int with_state);
// Reads a head file's header: num_labels, channels and the seq_len it was trained with.
Status head_read_header(const char *path, int *num_labels, int *channels, int *seq_len);
// Loads W (and the moments, when with_state: the file must hold them) into a head of the file's shape.
Status head_load(ClassHead *h, const char *path, int with_state);
