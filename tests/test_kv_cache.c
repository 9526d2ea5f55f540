// Generation with a KV cache (tests/fixtures/tiny):
//  1. the cached forward's next-token logits equal the recompute path's
//     (gpt2_forward over the whole window) at every position after a prefill,
//     in two rows that share the prefill;
//  2. greedy tokens with the cache equal the recompute path's, token for token,
//     up to the model's context; past it the cache path keeps going;
//  3. num_samples rows equal single runs with the matching seeds;
//  4. beam search equals tests/make_beam_fixture.py's reference (PyTorch, float64).
// 1 and 2 run again with the device's fused-path switches flipped (LN_FUSED, GELU_FUSED, ATTN_FUSED): the
// prefill takes the other attention and both decode their layers' other way.
// The small mode (the oclgrind suite) runs 1 from position 12 and the first two beam cases, every kernel of
// cl/decode.cl in fewer steps, with the device's defaults and then GPU-shaped ones (16 rows of 16 items per
// attention group, half of them past the last row; 64 items per matvec group).
#include <math.h>
#include <string.h>

#include "model/beam_search.h"
#include "model/decode.h"
#include "model/forward.h"
#include "model/generate.h"
#include "model/weights_file.h"
#include "test_util.h"
#include "util/util.h"

enum { MAX_TOKENS = 64 };

typedef struct {
    int tokens[8][MAX_TOKENS];
    int n[8];
} Rows;

static void collect(int token, void *ctx) {
    Rows *r = ctx;
    if (r->n[0] < MAX_TOKENS) r->tokens[0][r->n[0]++] = token;
}

static void collect_row(int row, int token, void *ctx) {
    Rows *r = ctx;
    if (r->n[row] < MAX_TOKENS) r->tokens[row][r->n[row]++] = token;
}

typedef struct {
    Device dev;
    Ops ops;
    GPT2 m;
    int seq[16];  // a sequence of the model's whole context from the fixture's tokens
} Setup;

static void setup(Setup *s, const char *dir) {
    char path[1024];
    snprintf(path, sizeof path, "%s/state.bin", dir);
    FILE *f = fopenCheck(path, "rb");
    int32_t h[256];
    freadCheck(h, sizeof(int32_t), 256, f, path);
    int x[24];
    freadCheck(x, sizeof(int), 24, f, path);  // x (B=2, T=12)
    fclose(f);
    memcpy(s->seq, x, sizeof s->seq);
    snprintf(path, sizeof path, "%s/model.bin", dir);
    GPT2Config mc;
    MUST(checkpoint_read_config(path, &mc));
    if (mc.max_seq_len != 16) die("the tiny fixture's context is 16, not %d", mc.max_seq_len);
    open_test_device(&s->dev, 0);
    MUST(ops_init(&s->ops, &s->dev, NULL));
    MUST(gpt2_create(&s->m, &mc, &s->dev));
    MUST(gpt2_load_checkpoint(&s->m, path));
}

static void test_logits(Setup *s) {
    const int T = 16, Vp = s->m.config.padded_vocab_size, V = s->m.config.vocab_size, prefill = test_small() ? 12 : 4;
    Workspace ws;
    MUST(workspace_create(&ws, &s->m, 1, T, WS_FORWARD));
    gpt2_set_batch(&ws, s->seq, NULL);
    gpt2_forward(&s->m, &ws, &s->ops, 0.0f, 0.0f);
    float *ref = mallocCheck((size_t)T * Vp * sizeof(float));
    device_read(&s->dev, ws.acts.logits, 0, (size_t)T * Vp * sizeof(float), ref);
    workspace_free(&ws);
    int rows[2][16];
    memcpy(rows[0], s->seq, sizeof rows[0]);
    memcpy(rows[1], s->seq, sizeof rows[1]);
    Decoder d;
    MUST(decoder_create(&d, &s->m, 2, T));
    for (int n = prefill; n <= T; n++) {
        MUST(decoder_feed(&d, &s->m, &s->ops, &rows[0][0], 16, n, n == prefill));
        for (int b = 0; b < 2; b++) {
            char what[64];
            snprintf(what, sizeof what, "logits after %d tokens, row %d", n, b);
            compare_rel_to_max(what, d.logits + (size_t)b * Vp, ref + (size_t)(n - 1) * Vp, (size_t)V, 1e-5);
        }
    }
    decoder_free(&d);
    free(ref);
}

static void test_greedy(Setup *s) {
    const SamplerParams greedy = {.temperature = 0.0f};
    for (int n_prompt = 1; n_prompt <= 3; n_prompt += 2) {
        const int max_new = 16 - n_prompt;
        Rows want = {0}, got = {0}, far = {0};
        Workspace ws;
        MUST(workspace_create(&ws, &s->m, 1, 16, WS_FORWARD));
        Rng rng;
        rng_seed(&rng, 1);
        MUST(gpt2_generate(&s->m, &ws, &s->ops, s->seq, n_prompt, max_new, -1, &greedy, &rng, collect, &want));
        workspace_free(&ws);
        GenerateParams g = {.max_new = max_new, .stop_token = -1, .num_samples = 1, .seed = 1, .sampler = greedy};
        MUST(gpt2_generate_cached(&s->m, &s->ops, s->seq, n_prompt, &g, collect_row, &got));
        EXPECT(got.n[0] == max_new && memcmp(got.tokens[0], want.tokens[0], sizeof(int) * max_new) == 0,
               "prompt of %d: greedy tokens with the cache differ from the recompute path's", n_prompt);
        g.max_new = 40;  // past the context: the cache is prefilled again and generation goes on
        MUST(gpt2_generate_cached(&s->m, &s->ops, s->seq, n_prompt, &g, collect_row, &far));
        EXPECT(far.n[0] == 40 && memcmp(far.tokens[0], want.tokens[0], sizeof(int) * max_new) == 0,
               "prompt of %d: 40 tokens past the context: %d tokens, or the first %d differ", n_prompt, far.n[0],
               max_new);
        printf("greedy, prompt of %d: %d tokens equal the recompute path's; 40 past the context\n", n_prompt, max_new);
    }
}

static void test_num_samples(Setup *s) {
    GenerateParams g = {.max_new = 10, .stop_token = -1, .num_samples = 3, .seed = 7,
                        .sampler = {.temperature = 1.0f, .top_k = 0, .top_p = 1.0f}};
    Rows batch = {0};
    MUST(gpt2_generate_cached(&s->m, &s->ops, s->seq, 2, &g, collect_row, &batch));
    int distinct = 0;
    for (int i = 0; i < 3; i++) {
        Rows one = {0};
        GenerateParams g1 = g;
        g1.num_samples = 1;
        g1.seed = g.seed + (uint64_t)i;
        MUST(gpt2_generate_cached(&s->m, &s->ops, s->seq, 2, &g1, collect_row, &one));
        EXPECT(batch.n[i] == 10 && one.n[0] == 10 && memcmp(batch.tokens[i], one.tokens[0], sizeof(int) * 10) == 0,
               "sample %d of 3 differs from a single run with seed %d", i, 7 + i);
        distinct += i > 0 && memcmp(batch.tokens[i], batch.tokens[0], sizeof(int) * 10) != 0;
    }
    EXPECT(distinct == 2, "the samples are not independent (%d of 2 differ from the first)", distinct);
    printf("num_samples=3: each row equals a single run with its seed\n");
}

static void test_beams(Setup *s, const char *dir) {
    char path[1024];
    snprintf(path, sizeof path, "%s/beam_search.txt", dir);
    FILE *f = fopenCheck(path, "r");
    int cases = 0;
    BeamParams p;
    int n_prompt;
    const int want = test_small() ? 2 : 5;
    while (cases < want && fscanf(f, " case %d %lf %d %d %d", &p.num_beams, &p.length_penalty, &p.max_new,
                                  &p.stop_token, &n_prompt) == 5) {
        int prompt[16], nh;
        for (int i = 0; i < n_prompt; i++)
            if (fscanf(f, "%d", &prompt[i]) != 1) die("%s: bad prompt", path);
        if (fscanf(f, "%d", &nh) != 1) die("%s: bad count", path);
        BeamResult r;
        MUST(gpt2_beam_search(&s->m, &s->ops, prompt, n_prompt, &p, &r));
        EXPECT(r.n == nh, "beams=%d stop=%d: %d hypotheses, expected %d", p.num_beams, p.stop_token, r.n, nh);
        for (int h = 0; h < nh; h++) {
            double score;
            int len, tok[64];
            if (fscanf(f, "%lf %d", &score, &len) != 2) die("%s: bad hypothesis", path);
            for (int i = 0; i < len; i++)
                if (fscanf(f, "%d", &tok[i]) != 1) die("%s: bad tokens", path);
            if (h >= r.n) continue;
            EXPECT(r.len[h] == len && memcmp(r.tokens + (size_t)h * p.max_new, tok, sizeof(int) * len) == 0,
                   "beams=%d lp=%.1f stop=%d: hypothesis %d's tokens differ", p.num_beams, p.length_penalty,
                   p.stop_token, h);
            EXPECT(fabs(r.score[h] - score) <= 1e-5 * fabs(score) + 1e-6,
                   "beams=%d hypothesis %d: score %.9f, expected %.9f", p.num_beams, h, r.score[h], score);
        }
        printf("beams=%d length_penalty=%.1f stop=%d: %d hypotheses as the reference\n", p.num_beams,
               p.length_penalty, p.stop_token, nh);
        beam_result_free(&r);
        cases++;
    }
    fclose(f);
    EXPECT(cases == want, "%s: %d cases read, expected %d", path, cases, want);
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "tests/fixtures/tiny";
    Setup s;
    setup(&s, dir);
    test_logits(&s);
    if (!test_small()) {
        test_greedy(&s);
        test_num_samples(&s);
    }
    test_beams(&s, dir);
    if (test_small()) {
        KernelParams kp = kernel_params_default(&s.dev);
        kp.v[KP_WG] = 64;
        kp.v[KP_SOFTMAX_WG] = 16;
        kp.v[KP_SOFTMAX_ROWS] = 16;
        ops_free(&s.ops);
        MUST(ops_init(&s.ops, &s.dev, &(Tuned){.kp = kp}));
        printf("GPU-shaped: WG=64, SOFTMAX_WG=16, SOFTMAX_ROWS=16\n");
        test_logits(&s);
        test_beams(&s, dir);
    } else {
        KernelParams kp = kernel_params_default(&s.dev);
        kp.v[KP_LN_FUSED] ^= 1;
        kp.v[KP_GELU_FUSED] ^= 1;
        kp.v[KP_ATTN_FUSED] ^= 1;
        ops_free(&s.ops);
        MUST(ops_init(&s.ops, &s.dev, &(Tuned){.kp = kp}));
        printf("fused paths flipped: LN_FUSED=%d GELU_FUSED=%d ATTN_FUSED=%d\n", kp.v[KP_LN_FUSED],
               kp.v[KP_GELU_FUSED], kp.v[KP_ATTN_FUSED]);
        test_logits(&s);
        test_greedy(&s);
    }
    gpt2_free(&s.m);
    ops_free(&s.ops);
    MUST(device_status(&s.dev));
    device_close(&s.dev);
    printf("%s\n", test_failures ? "FAILED" : "all KV cache checks passed");
    return test_failures ? 1 : 0;
}
