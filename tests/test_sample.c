// Sampling checks:
//  1. greedy generation picks the argmax of the logits PyTorch computed for
//     the same prefix (tests/fixtures/tiny, made by tests/make_fixtures.py);
//  2. the sampler draws from softmax(logits / temperature), restricted by
//     top-k and top-p, with frequencies matching the probabilities computed
//     here in double (20000 draws; tolerance 5 standard errors per token);
//  3. the same seed gives the same draws.
#include <math.h>
#include <string.h>

#include "model/generate.h"
#include "model/model.h"
#include "model/weights_file.h"
#include "runtime/ops.h"
#include "test_util.h"
#include "util/util.h"

typedef struct {
    int tokens[64];
    int n;
} Collected;

static void collect(int token, void *ctx) {
    Collected *c = ctx;
    if (c->n < 64) c->tokens[c->n++] = token;
}

static void test_greedy_vs_pytorch(const char *dir) {
    char path[1024];
    snprintf(path, sizeof path, "%s/state.bin", dir);
    FILE *f = fopenCheck(path, "rb");
    int32_t h[256];
    freadCheck(h, sizeof(int32_t), 256, f, path);
    if (h[0] != 20240327 || h[1] != 2) die("%s: bad header", path);
    const int B = h[2], T = h[3];
    snprintf(path, sizeof path, "%s/model.bin", dir);
    GPT2Config mc;
    MUST(checkpoint_read_config(path, &mc));
    const int V = mc.vocab_size;
    int *x = mallocCheck((size_t)B * T * sizeof(int)), *y = mallocCheck((size_t)B * T * sizeof(int));
    float *ref_logits = mallocCheck((size_t)B * T * V * sizeof(float));
    freadCheck(x, sizeof(int), (size_t)B * T, f, "x");
    freadCheck(y, sizeof(int), (size_t)B * T, f, "y");
    freadCheck(ref_logits, sizeof(float), (size_t)B * T * V, f, "logits");
    fclose(f);

    Device dev;
    open_test_device(&dev, 0);
    Ops ops;
    MUST(ops_init(&ops, &dev, NULL));
    GPT2 m;
    MUST(gpt2_create(&m, &mc, &dev));
    Workspace ws;
    MUST(workspace_create(&ws, &m, 1, T, WS_FORWARD));
    MUST(gpt2_load_checkpoint(&m, path));
    SamplerParams greedy = {.temperature = 0.0f};
    int checked = 0, skipped = 0;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            const float *row = ref_logits + ((size_t)b * T + t) * V;
            int best = 0, second = -1;
            for (int i = 1; i < V; i++)
                if (row[i] > row[best]) {
                    second = best;
                    best = i;
                } else if (second < 0 || row[i] > row[second]) {
                    second = i;
                }
            // A near-tie is decided by rounding, not by the model: skip it (and say so).
            if (row[best] - row[second] < 1e-4f * fabsf(row[best]) + 1e-6f) {
                skipped++;
                continue;
            }
            Collected c = {.n = 0};
            Rng rng;
            rng_seed(&rng, 1);
            MUST(gpt2_generate(&m, &ws, &ops, x + (size_t)b * T, t + 1, 1, -1, &greedy, &rng, collect, &c));
            EXPECT(c.n == 1 && c.tokens[0] == best, "greedy after prefix (b=%d, t=%d): token %d, argmax %d", b, t,
                   c.n ? c.tokens[0] : -1, best);
            checked++;
        }
    printf("greedy: %d prefixes match PyTorch's argmax (%d near-ties skipped)\n", checked, skipped);
    EXPECT(checked >= B * T / 2, "too few prefixes checked (%d)", checked);
    free(x);
    free(y);
    free(ref_logits);
    workspace_free(&ws);
    gpt2_free(&m);
    ops_free(&ops);
    MUST(device_status(&dev));  // no OpenCL call failed along the way
    device_close(&dev);
}

// Expected probabilities of the sampler's filters, computed independently in double.
static void expected_probs(const float *logits, int V, const SamplerParams *p, double *q) {
    double mx = -INFINITY, sum = 0;
    for (int i = 0; i < V; i++) mx = fmax(mx, logits[i]);
    for (int i = 0; i < V; i++) sum += q[i] = exp((logits[i] - mx) / p->temperature);
    for (int i = 0; i < V; i++) q[i] /= sum;
    // Keep the k largest, then the smallest prefix (by probability) reaching top_p of what is left.
    int *rank = mallocCheck((size_t)V * sizeof(int));
    for (int i = 0; i < V; i++) {
        rank[i] = 0;
        for (int j = 0; j < V; j++) rank[i] += q[j] > q[i] || (q[j] == q[i] && j < i);
    }
    int k = p->top_k > 0 && p->top_k < V ? p->top_k : V;
    double total = 0, kept = 0;
    for (int i = 0; i < V; i++)
        if (rank[i] < k) total += q[i];
    int cut = k;
    for (int r = 0; r < k; r++) {
        for (int i = 0; i < V; i++)
            if (rank[i] == r) kept += q[i];
        if (kept >= p->top_p * total - 1e-12) {
            cut = r + 1;
            break;
        }
    }
    sum = 0;
    for (int i = 0; i < V; i++) sum += q[i] = rank[i] < cut ? q[i] : 0.0;
    for (int i = 0; i < V; i++) q[i] /= sum;
    free(rank);
}

static void test_sampler_distribution(void) {
    enum { V = 12, DRAWS = 20000 };
    float logits[V];
    Rng r;
    rng_seed(&r, 5);
    for (int i = 0; i < V; i++) logits[i] = rng_normal(&r, 0.0f, 1.5f);
    const SamplerParams cases[] = {
        {1.0f, 0, 1.0f}, {0.5f, 0, 1.0f}, {2.0f, 0, 1.0f}, {1.0f, 4, 1.0f}, {1.0f, 0, 0.6f}, {1.0f, 6, 0.8f},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const SamplerParams *p = &cases[c];
        double q[V];
        expected_probs(logits, V, p, q);
        int count[V] = {0};
        Rng a, b;
        rng_seed(&a, 100 + c);
        rng_seed(&b, 100 + c);
        int same = 1;
        for (int d = 0; d < DRAWS; d++) {
            int t = sample_token(logits, V, p, &a);
            same &= t == sample_token(logits, V, p, &b);
            count[t]++;
        }
        double worst = 0;
        for (int i = 0; i < V; i++) {
            double se = sqrt(q[i] * (1 - q[i]) / DRAWS), f = (double)count[i] / DRAWS;
            if (q[i] == 0) EXPECT(count[i] == 0, "case %zu: token %d is filtered out but was drawn %d times", c, i,
                                  count[i]);
            else worst = fmax(worst, fabs(f - q[i]) / se);
        }
        printf("sampler T=%.1f top_k=%d top_p=%.1f: worst deviation %.2f standard errors (tol 5)\n", p->temperature,
               p->top_k, p->top_p, worst);
        EXPECT(worst <= 5.0, "case %zu: frequencies deviate by %.2f standard errors", c, worst);
        EXPECT(same, "case %zu: the same seed gave different draws", c);
    }
    SamplerParams greedy = {.temperature = 0.0f}, top1 = {.temperature = 1.0f, .top_k = 1, .top_p = 1.0f};
    int best = argmax(logits, V);
    EXPECT(sample_token(logits, V, &greedy, &r) == best && sample_token(logits, V, &top1, &r) == best,
           "greedy / top_k=1 do not pick the argmax");
}

int main(int argc, char **argv) {
    test_greedy_vs_pytorch(argc > 1 ? argv[1] : "tests/fixtures/tiny");
    test_sampler_distribution();
    printf("%s\n", test_failures ? "FAILED" : "all sample checks passed");
    return test_failures ? 1 : 0;
}
