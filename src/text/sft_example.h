// Supervised fine-tuning examples (`gpt2cl prepare --format sft`): one JSONL line, as tokens with
// a loss mask, and the mask file written beside each token shard.
//
// A line is {"prompt": P, "completion": C} or {"messages": [{"role": R, "content": X}, ...]}.
// Its tokens are <|endoftext|> followed by the text of the template:
//   prompt/completion:  P C                      (concatenated as given: put the space in C)
//   messages:           R1: X1\nR2: X2\n ...     (each message "ROLE:" then " CONTENT\n")
// The loss counts the completion's tokens (of messages: " CONTENT\n" of every message whose role is
// "assistant") and the <|endoftext|> that follows the example, so the model learns to stop.
//
// Mask file PREFIX_NNNNNN.mask beside PREFIX_NNNNNN.bin: a 256 x int32 little-endian header ([0] =
// 20240521 magic, [1] = 1 version, [2] = token count, equal to the shard's; rest 0), then one byte
// per token: bit 0 (MASK_TARGET) = the loss counts predicting this token from the tokens before it;
// bit 1 (MASK_START) = this <|endoftext|> starts an example. Training scores a target only when
// its example's start lies in the same window (train/dataloader.h), so a scored token always sees
// its whole example before it; attention also sees the examples packed before it in the window.
#pragma once
#include <stddef.h>

#include "text/tokenizer.h"
#include "util/status.h"

#define MASK_MAGIC 20240521
#define MASK_VERSION 1
#define MASK_TARGET 1
#define MASK_START 2

// A growable byte array of mask bytes, parallel to a TokenIds; zero-initialise before first use.
typedef struct {
    unsigned char *bytes;
    size_t len, cap;
} MaskBytes;

void mask_bytes_push(MaskBytes *m, unsigned char b);
void mask_bytes_free(MaskBytes *m);

// Encodes the JSONL line (len bytes, no line end) into ids and mask (cleared first). The first
// token is <|endoftext|> with MASK_START. A scored token must sit below position `context` of the
// example. Fails with the reason (without the file and line, which the caller adds): not an
// object with the fields, an empty completion, no assistant message, a prompt that fills the context.
Status sft_example_encode(Tokenizer *tok, const char *line, size_t len, int context, TokenIds *ids,
                          MaskBytes *mask);
// The mask file of a shard path: its ".bin" replaced by ".mask" (else ".mask" appended); caller frees.
char *mask_path_of(const char *shard_path);
