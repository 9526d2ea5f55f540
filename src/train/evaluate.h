// Loss, perplexity and bits per byte of a model over a whole token stream, as
// `gpt2cl eval` reports them. Windows of T tokens (the workspace's) start every
// `stride` tokens; the first window scores all its positions, each later one
// only the positions past the previous window's end (the overlap is context
// only), and the last window may be shorter than T. So every token after the
// first is scored exactly once, whatever the stride.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "model/workspace.h"
#include "runtime/ops.h"
#include "text/tokenizer.h"
#include "util/status.h"

typedef struct {
    double nats;     // summed over the scored tokens
    size_t tokens;   // scored so far
    size_t windows;  // evaluated so far
} EvalTotals;

// Called after each batch of windows with the totals so far and the number of tokens to score in all.
typedef void (*EvalProgress)(const EvalTotals *sofar, size_t total, void *ctx);

// The number of windows of length T at this stride (1 <= stride <= T) over n >= 2 tokens.
size_t eval_num_windows(size_t n, int T, int stride);

// Scores tokens[1..n) with the model, ws->B windows per forward pass (ws: a
// WS_FORWARD workspace; its T is the window length). Per-position losses are
// read back and summed on the host in a fixed order, so the result is
// deterministic. progress may be NULL.
Status evaluate_tokens(const GPT2 *m, Workspace *ws, Ops *o, const int32_t *tokens, size_t n, int stride,
                       EvalProgress progress, void *ctx, EvalTotals *out);

// UTF-8 bytes of the text tokens[1..n) decode to: what bits per byte divide by.
// <|endoftext|> counts 0 bytes: it separates documents, it is not text.
size_t eval_scored_bytes(const Tokenizer *tok, const int32_t *tokens, size_t n);

// The token stream of llm.c shards: each pattern a file, a glob pattern or a
// folder (as train_data: a leading ~ or $DATA is expanded), their files in
// order, concatenated; ids must be below vocab_size.
Status eval_read_shards(char *const *patterns, int num_patterns, int vocab_size, TokenIds *out);
// The token stream of text files: each file's ids after an <|endoftext|>, as
// `gpt2cl prepare` writes documents, so the first token of each file is scored too.
Status eval_read_texts(char *const *paths, int num_paths, Tokenizer *tok, TokenIds *out);
