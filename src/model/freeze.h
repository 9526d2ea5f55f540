// Freezing parameters for fine-tuning (the config key freeze): a frozen tensor
// slice gets no gradient where the backward pass can skip it (weight-gradient
// GEMMs, LayerNorm parameter sums, the layers below the lowest trained one),
// no update and no optimizer state change (its moments stay zero, so the
// resume state keeps its layout and stays bit-identical).
//
// A freeze list is items separated by commas or spaces:
//   embeddings    wte (the token embedding, also the tied LM head)
//   positions     wpe
//   layers:A-B    every tensor of transformer blocks A..B (0-based, inclusive); layers:A one block
//   all_but_head  everything but the head: with a classification head the whole transformer; for
//                 the language model every tensor but the final LayerNorm lnfw/lnfb (its head is
//                 wte, tied to the embedding, so it stays frozen)
//   a tensor name wte, wpe, ln1w, ln1b, qkvw, ... lnfb (every layer's slice of it)
#pragma once
#include "model/model.h"

// Parses spec for a model of L layers into frozen (NUM_PARAM_TENSORS x L bytes, [t * L + l]; the
// tensors without layers use l = 0); head: a separate head (classification) trains beside them. An
// empty spec freezes nothing; a list that names nothing, an unknown item, a layer outside the model
// or, without a head, a list that freezes every parameter is an error.
Status freeze_parse(const char *spec, int L, int head, unsigned char *frozen);
// Marks m's frozen slices (ParamTensor.frozen) from spec.
Status gpt2_freeze(GPT2 *m, const char *spec, int head);
// Parameters in frozen slices.
size_t gpt2_frozen_params(const GPT2 *m);
// The lowest block the backward pass must reach: 0 when an embedding trains, L when only the
// final LayerNorm does.
int gpt2_backward_floor(const GPT2 *m);
// The gradient of slice l of tensor t, or NULL when it is frozen.
cl_mem gpt2_grad_or_null(const GPT2 *m, int t, int l);
// Zeroes the gradients of frozen slices that the backward pass computed anyway (wpe's when wte
// trains, one of a LayerNorm's pair), so the gradient norm and clipping see the trained ones only.
void gpt2_zero_frozen_grads(GPT2 *m);
// The runs of consecutive trained slices of a tensor, as element ranges of the parent buffer (the
// alignment gaps between slices inside a run hold zeros that every update keeps zero): from slice
// *l on, the next run into *first, *n, *l past it; 0 when there is none. With nothing frozen, the
// one run is tensor_range's. for (int l = 0; tensor_next_run(pt, &l, &first, &n);) ...
int tensor_next_run(const ParamTensor *pt, int *l, size_t *first, size_t *n);
