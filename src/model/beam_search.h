// Beam search over the KV-cache decoder (model/decode.h).
//
// N beams are the rows of one batch. Each step every live beam i (at the first
// step only beam 0: the rows start equal) proposes every token v with the score
// sum_i + log softmax(logits_i)[v] (in double); the 2N best candidates (ties: the
// lower beam, then the lower token) are taken in order: a candidate that is the
// stop token, among the first N, finishes its beam as a hypothesis scored
// sum / len^length_penalty (Hugging Face's length_penalty), len counting the
// generated tokens with the stop token; the others become the next live beams until
// there are N. The search ends when N hypotheses are finished and the best live
// beam's sum / len^length_penalty does not beat the worst of them (as Hugging
// Face's early_stopping = False), or after max_new tokens, when the live beams are
// scored as hypotheses too. Of all hypotheses the N best are kept.
#pragma once
#include "model/model.h"
#include "runtime/ops.h"

typedef struct {
    int num_beams;         // N, 1 <= N, 2N <= vocab_size
    int max_new;           // >= 1
    int stop_token;        // -1: none
    double length_penalty;
} BeamParams;

typedef struct {
    int n;          // hypotheses, best first (<= num_beams)
    int *len;       // (n) generated tokens of each, the stop token excluded
    int *tokens;    // (n, max_new) row-major
    double *score;  // (n)
} BeamResult;

// Searches from the prompt (1 <= n_prompt <= the model's context). r is filled,
// and must be released with beam_result_free, also when a device failure is returned.
Status gpt2_beam_search(const GPT2 *m, Ops *o, const int *prompt, int n_prompt, const BeamParams *p, BeamResult *r);
void beam_result_free(BeamResult *r);
