// Autoregressive generation with the model's current parameters.
#pragma once
#include "model/model.h"
#include "model/sampler.h"
#include "model/workspace.h"
#include "runtime/ops.h"
#include "text/tokenizer.h"
#include "util/rng.h"

typedef void (*EmitToken)(int token, void *ctx);

// Appends up to max_new tokens to the prompt (n_prompt >= 1 ids), calling emit
// for each as soon as it is chosen; stops early at stop_token (if >= 0, not
// emitted). Runs in ws, a workspace for B = 1 (WS_FORWARD is enough): each
// token runs one forward pass over the last ws->T tokens (no KV cache yet),
// reading back one row of logits. Stops at a device failure, which it returns
// (device_status), before emitting a token of it.
Status gpt2_generate(const GPT2 *m, Workspace *ws, Ops *o, const int *prompt, int n_prompt, int max_new, int stop_token,
                  const SamplerParams *params, Rng *rng, EmitToken emit, void *ctx);

// An EmitToken that writes the token's bytes to stdout at once (ctx: the Tokenizer).
void emit_to_stdout(int token, void *tokenizer);
