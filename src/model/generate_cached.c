#include <stdlib.h>
#include <string.h>

#include "model/decode.h"
#include "model/generate.h"
#include "util/util.h"

int generate_cache_len(const GPT2Config *mc, int n_prompt, int max_new) {
    int need = n_prompt + max_new;
    return need < mc->max_seq_len ? need : mc->max_seq_len;
}

Status gpt2_generate_cached(const GPT2 *m, Ops *o, const int *prompt, int n_prompt, const GenerateParams *g,
                            EmitRowToken emit, void *ctx) {
    const int N = g->num_samples, V = m->config.vocab_size, Vp = m->config.padded_vocab_size;
    const int total = n_prompt + g->max_new;
    if (g->max_new == 0) return STATUS_OK;
    Decoder d;
    TRY(decoder_create(&d, m, N, generate_cache_len(&m->config, n_prompt, g->max_new)));
    int *tokens = mallocCheck((size_t)N * total * sizeof(int));  // (N, total): each row's sequence
    int *live = mallocCheck((size_t)N * sizeof(int));
    Rng *rng = mallocCheck((size_t)N * sizeof(Rng));
    for (int b = 0; b < N; b++) {
        memcpy(tokens + (size_t)b * total, prompt, (size_t)n_prompt * sizeof(int));
        live[b] = 1;
        rng_seed(&rng[b], g->seed + (uint64_t)b);
    }
    Status s = STATUS_OK;
    int n = n_prompt, any = 1;
    while (any && n < total) {
        if ((s = decoder_feed(&d, m, o, tokens, (size_t)total, n, n == n_prompt))) break;
        any = 0;
        for (int b = 0; b < N; b++) {
            int next = live[b] ? sample_token(d.logits + (size_t)b * Vp, V, &g->sampler, &rng[b]) : g->stop_token;
            if (live[b] && next == g->stop_token) live[b] = 0;
            // A stopped row keeps a filler token: the rows stay of one length.
            tokens[(size_t)b * total + n] = next < 0 ? 0 : next;
            if (live[b]) emit(b, next, ctx);
            any |= live[b];
        }
        n++;
    }
    free(tokens);
    free(live);
    free(rng);
    decoder_free(&d);
    return s;
}
