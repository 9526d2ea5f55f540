// Autoregressive generation with the model's current parameters.
#pragma once
#include <stdint.h>

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
// token runs one forward pass over the last ws->T tokens (the recompute path,
// without a KV cache), reading back one row of logits. Stops at a device
// failure, which it returns (device_status), before emitting a token of it.
Status gpt2_generate(const GPT2 *m, Workspace *ws, Ops *o, const int *prompt, int n_prompt, int max_new, int stop_token,
                  const SamplerParams *params, Rng *rng, EmitToken emit, void *ctx);

// Emits the next token of sample `row`.
typedef void (*EmitRowToken)(int row, int token, void *ctx);

typedef struct {
    int max_new;      // tokens to add to each sample, at most
    int stop_token;   // a sample ends at it (not emitted); -1: none
    int num_samples;  // N >= 1 independent samples, the rows of one batch
    uint64_t seed;    // sample i draws from an Rng seeded seed + i
    SamplerParams sampler;
} GenerateParams;

// The KV-cache path (model/decode.h): the prompt is processed once, then each
// step is one single-position forward of all N rows together. Sample i equals
// a run of one sample with seed + i (up to the rounding of a batch of N rows).
// Returns a device failure, emitting no token of its step.
Status gpt2_generate_cached(const GPT2 *m, Ops *o, const int *prompt, int n_prompt, const GenerateParams *g,
                            EmitRowToken emit, void *ctx);
// The positions a generation's KV cache holds: the prompt and max_new tokens, at most the model's context.
int generate_cache_len(const GPT2Config *mc, int n_prompt, int max_new);

// An EmitToken that writes the token's bytes to stdout at once (ctx: the Tokenizer).
void emit_to_stdout(int token, void *tokenizer);
