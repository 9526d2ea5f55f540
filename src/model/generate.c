#include "model/generate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/forward.h"
#include "util/util.h"

Status gpt2_generate(const GPT2 *m, Workspace *ws, Ops *o, const int *prompt, int n_prompt, int max_new, int stop_token,
                  const SamplerParams *params, Rng *rng, EmitToken emit, void *ctx) {
    const int T = ws->T, V = m->config.vocab_size, Vp = m->config.padded_vocab_size;
    if (ws->B != 1) internal_error("gpt2_generate needs a workspace for batch size 1");
    int total = n_prompt + max_new;
    int *tokens = mallocCheck((size_t)total * sizeof(int));
    memcpy(tokens, prompt, (size_t)n_prompt * sizeof(int));
    int *window = callocCheck((size_t)T, sizeof(int));
    float *row = mallocCheck((size_t)Vp * sizeof(float));
    int n = n_prompt, generated = 0;
    Status s = STATUS_OK;
    while (generated < max_new) {
        // The last T tokens; positions after them hold 0 and, being later, cannot affect them (causal).
        int start = n > T ? n - T : 0, len = n - start;
        memset(window, 0, (size_t)T * sizeof(int));
        memcpy(window, tokens + start, (size_t)len * sizeof(int));
        gpt2_set_batch(ws, window, NULL);
        gpt2_forward(m, ws, o, 0.0f, 0.0f);
        device_read(ws->dev, ws->acts.logits, (size_t)(len - 1) * Vp * sizeof(float), (size_t)Vp * sizeof(float), row);
        if ((s = device_status(ws->dev))) break;
        int next = sample_token(row, V, params, rng);
        if (next == stop_token) break;
        tokens[n++] = next;
        generated++;
        emit(next, ctx);
    }
    free(tokens);
    free(window);
    free(row);
    return s;
}

void emit_to_stdout(int token, void *tokenizer) {
    size_t len;
    const unsigned char *b = tokenizer_decode(tokenizer, token, &len);
    if (b) fwrite(b, 1, len, stdout);
    fflush(stdout);
}
