// Every device operation of src/runtime/ops.h, forward and backward, against the plain C
// reference of tests/reference.c on seeded random inputs.
//
// Shapes: small ones that are not multiples of the work-group size (odd row
// counts, C=48, OC=80, V=50 < Vp=64) and larger ones that make the row kernels
// loop inside their work-group (C=768 for LayerNorm, T=300 for the attention
// softmax, V=1000 and 50257 for the loss, n > NORM_GROUPS*REDUCE_WG for the
// gradient norm), and lengths that leave a tail after the last full vector.
//
// Everything runs three times: with the device's default kernel parameters
// (src/runtime/kernel_params.h) and with two sets far from them, since the tuner may
// pick any legal set. The small mode (GPT2CL_TEST_SMALL=1, for the oclgrind
// suite) runs the small shapes only, with the defaults and two GPU-shaped sets,
// then CLBlast's indirect GEMM path.
//
// Errors are max|got - ref| / max|ref| per tensor (compare_rel_to_max). The
// reference accumulates in double, so the tolerances below only have to cover
// the float32 rounding of the device, as argued next to each check. Results
// that must be bit-exact (a single float add, untouched memory, exact zeros) are
// checked with tolerance 0 or memcmp.
#include <stdarg.h>
#include <string.h>

#include "model/forward.h"
#include "reference.h"
#include "runtime/ops.h"
#include "runtime/tunables.h"
#include "test_util.h"
#include "util/rng.h"
#include "util/util.h"

static Device dev;
static Ops ops;
static Rng rng;

// ---- helpers ----
static float *randn(size_t n, float mean, float std) {
    float *x = mallocCheck((n ? n : 1) * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = rng_normal(&rng, mean, std);
    return x;
}

static cl_mem upload(const void *host, size_t bytes) {
    cl_mem m = test_alloc(&dev, bytes, "test buffer");
    device_write(&dev, m, 0, bytes, host);
    return m;
}

static float *download(cl_mem m, size_t n) {
    float *x = mallocCheck((n ? n : 1) * sizeof(float));
    device_read(&dev, m, 0, n * sizeof(float), x);
    return x;
}

// Reads n floats back and compares them with ref.
static double check(const char *what, cl_mem m, const float *ref, size_t n, double tol) {
    float *got = download(m, n);
    double e = compare_rel_to_max(what, got, ref, n, tol);
    free(got);
    return e;
}

static void release(cl_mem *ms, int n) {
    for (int i = 0; i < n; i++)
        if (ms[i]) CL_CHECK(clReleaseMemObject(ms[i]));
}

static char label_buf[128];
static const char *label(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *label(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(label_buf, sizeof label_buf, fmt, ap);
    va_end(ap);
    return label_buf;
}

// The token buckets of op_encoder_backward, built exactly as gpt2_set_batch
// (src/model/forward.c) does: positions grouped by token, ascending within a token.
// ---- embeddings ----
static void test_encoder(int B, int T, int C, int V, int token_range) {
    printf("-- encoder B=%d T=%d C=%d V=%d (tokens from %d values)\n", B, T, C, V, token_range);
    const int BT = B * T;
    int *inp = mallocCheck((size_t)BT * sizeof(int));
    for (int i = 0; i < BT; i++) inp[i] = (int)(rng_u64(&rng) % (uint64_t)token_range);
    inp[BT / 2] = V - 1;  // the last row of wte too
    float *wte = randn((size_t)V * C, 0, 1), *wpe = randn((size_t)T * C, 0, 1);
    float *out = mallocCheck((size_t)BT * C * sizeof(float));
    ref_encoder_forward(out, inp, wte, wpe, B, T, C);
    cl_mem d_inp = upload(inp, (size_t)BT * sizeof(int)), d_wte = upload(wte, (size_t)V * C * sizeof(float)),
           d_wpe = upload(wpe, (size_t)T * C * sizeof(float)),
           d_out = test_alloc(&dev, (size_t)BT * C * sizeof(float), "out");
    op_encoder_forward(&ops, d_out, d_inp, d_wte, d_wpe, B, T, C);
    // One float add per element, correctly rounded on both sides: bit-exact.
    check("encoder_forward out", d_out, out, (size_t)BT * C, 0);

    int *tokens = mallocCheck((size_t)BT * sizeof(int)), *start = mallocCheck(((size_t)BT + 1) * sizeof(int)),
        *pos = mallocCheck((size_t)BT * sizeof(int));
    int U = encoder_buckets(inp, BT, tokens, start, pos);
    int max_bucket = 0;
    for (int u = 0; u < U; u++)
        if (start[u + 1] - start[u] > max_bucket) max_bucket = start[u + 1] - start[u];
    EXPECT(max_bucket > 1, "the batch should repeat tokens");
    // dwte, dwpe accumulate: start from nonzero values.
    float *dwte = randn((size_t)V * C, 0, 1), *dwpe = randn((size_t)T * C, 0, 1), *dout = randn((size_t)BT * C, 0, 1);
    cl_mem d_dwte = upload(dwte, (size_t)V * C * sizeof(float)), d_dwpe = upload(dwpe, (size_t)T * C * sizeof(float)),
           d_dout = upload(dout, (size_t)BT * C * sizeof(float)), d_tok = upload(tokens, (size_t)U * sizeof(int)),
           d_start = upload(start, ((size_t)U + 1) * sizeof(int)), d_pos = upload(pos, (size_t)BT * sizeof(int));
    op_encoder_backward(&ops, d_dwte, d_dwpe, d_dout, d_tok, d_start, d_pos, U, B, T, C);
    ref_encoder_backward(dwte, dwpe, dout, inp, B, T, C);
    // Float sums of at most max(B, largest bucket)+1 terms of size ~1: a few ulps of the max.
    check(label("encoder_backward dwte (%d buckets)", U), d_dwte, dwte, (size_t)V * C, 1e-6);
    check("encoder_backward dwpe", d_dwpe, dwpe, (size_t)T * C, 1e-6);

    cl_mem ms[] = {d_inp, d_wte, d_wpe, d_out, d_dwte, d_dwpe, d_dout, d_tok, d_start, d_pos};
    release(ms, (int)(sizeof ms / sizeof ms[0]));
    free(inp), free(wte), free(wpe), free(out), free(tokens), free(start), free(pos), free(dwte), free(dwpe),
        free(dout);
}

// ---- LayerNorm ----
static void test_layernorm(int N, int C) {
    printf("-- layernorm N=%d C=%d\n", N, C);
    const size_t NC = (size_t)N * C;
    float *inp = randn(NC, 0.5f, 2.0f), *w = randn((size_t)C, 1, 0.3f), *b = randn((size_t)C, 0, 0.3f);
    float *out = mallocCheck(NC * sizeof(float)), *mean = mallocCheck((size_t)N * sizeof(float)),
          *rstd = mallocCheck((size_t)N * sizeof(float));
    ref_layernorm_forward(out, mean, rstd, inp, w, b, N, C);
    cl_mem d_inp = upload(inp, NC * sizeof(float)), d_w = upload(w, (size_t)C * sizeof(float)),
           d_b = upload(b, (size_t)C * sizeof(float)), d_out = test_alloc(&dev, NC * sizeof(float), "out"),
           d_mean = test_alloc(&dev, (size_t)N * sizeof(float), "mean"),
           d_rstd = test_alloc(&dev, (size_t)N * sizeof(float), "rstd");
    op_layernorm_forward(&ops, d_out, d_mean, d_rstd, d_inp, d_w, d_b, N, C);
    // Float sums of C terms for the mean and variance (tree-reduced, error ~ log2(C) ulps)
    // then a few float ops per element: ~1e-6 of the max; 1e-5 leaves margin.
    check("layernorm_forward out", d_out, out, NC, 1e-5);
    check("layernorm_forward mean", d_mean, mean, (size_t)N, 1e-5);
    check("layernorm_forward rstd", d_rstd, rstd, (size_t)N, 1e-5);

    // Backward from the reference mean/rstd (so only the backward is tested);
    // dinp, dw, db accumulate: start them from nonzero values of the gradients' size.
    device_write(&dev, d_mean, 0, (size_t)N * sizeof(float), mean);
    device_write(&dev, d_rstd, 0, (size_t)N * sizeof(float), rstd);
    float *dout = randn(NC, 0, 1), *dinp = randn(NC, 0, 1), *dw = randn((size_t)C, 0, 1), *db = randn((size_t)C, 0, 1);
    cl_mem d_dout = upload(dout, NC * sizeof(float)), d_dinp = upload(dinp, NC * sizeof(float)),
           d_dw = upload(dw, (size_t)C * sizeof(float)), d_db = upload(db, (size_t)C * sizeof(float));
    op_layernorm_backward(&ops, d_dinp, d_dw, d_db, d_dout, d_inp, d_w, d_mean, d_rstd, N, C);
    ref_layernorm_backward(dinp, dw, db, dout, inp, w, mean, rstd, N, C);
    // dinp: two float row sums of C terms, then (dnorm - mean - norm*mean)*rstd with
    // partial cancellation: ~1e-6 of the max. dw, db: float column sums of N terms.
    check("layernorm_backward dinp (+=)", d_dinp, dinp, NC, 1e-5);
    check("layernorm_backward dw (+=)", d_dw, dw, (size_t)C, 1e-5);
    check("layernorm_backward db (+=)", d_db, db, (size_t)C, 1e-5);

    cl_mem ms[] = {d_inp, d_w, d_b, d_out, d_mean, d_rstd, d_dout, d_dinp, d_dw, d_db};
    release(ms, (int)(sizeof ms / sizeof ms[0]));
    free(inp), free(w), free(b), free(out), free(mean), free(rstd), free(dout), free(dinp), free(dw), free(db);
}

static void test_residual_layernorm(int N, int C) {
    printf("-- residual_layernorm N=%d C=%d\n", N, C);
    const size_t NC = (size_t)N * C;
    float *a = randn(NC, 0, 1), *b = randn(NC, 0, 1), *bias = randn((size_t)C, 0, 0.5f), *w = randn((size_t)C, 1, 0.3f),
          *lnb = randn((size_t)C, 0, 0.3f);
    // The reference: the bias add (one float add, as op_matmul_forward's), the residual add, then the LayerNorm.
    float *pb = mallocCheck(NC * sizeof(float)), *res = mallocCheck(NC * sizeof(float)),
          *out = mallocCheck(NC * sizeof(float)), *mean = mallocCheck((size_t)N * sizeof(float)),
          *rstd = mallocCheck((size_t)N * sizeof(float));
    for (size_t i = 0; i < NC; i++) pb[i] = b[i] + bias[i % (size_t)C];
    ref_residual_forward(res, a, pb, (int)NC);
    ref_layernorm_forward(out, mean, rstd, res, w, lnb, N, C);
    float *garbage = randn(NC, 100, 10);
    cl_mem d_a = upload(a, NC * sizeof(float)), d_b = upload(b, NC * sizeof(float)),
           d_bias = upload(bias, (size_t)C * sizeof(float)), d_w = upload(w, (size_t)C * sizeof(float)),
           d_lnb = upload(lnb, (size_t)C * sizeof(float)), d_res = upload(garbage, NC * sizeof(float)),
           d_out = upload(garbage, NC * sizeof(float)), d_mean = test_alloc(&dev, (size_t)N * sizeof(float), "mean"),
           d_rstd = test_alloc(&dev, (size_t)N * sizeof(float), "rstd");
    op_residual_layernorm_forward(&ops, d_res, d_out, d_mean, d_rstd, d_a, d_b, d_bias, d_w, d_lnb, N, C);
    // Two float adds per element in the same order: bit-exact.
    check("residual_layernorm res", d_res, res, NC, 0);
    // As layernorm_forward above.
    check("residual_layernorm out", d_out, out, NC, 1e-5);
    check("residual_layernorm mean", d_mean, mean, (size_t)N, 1e-5);
    check("residual_layernorm rstd", d_rstd, rstd, (size_t)N, 1e-5);
    cl_mem ms[] = {d_a, d_b, d_bias, d_w, d_lnb, d_res, d_out, d_mean, d_rstd};
    release(ms, (int)(sizeof ms / sizeof ms[0]));
    free(a), free(b), free(bias), free(w), free(lnb), free(pb), free(res), free(out), free(mean), free(rstd),
        free(garbage);
}

// ---- linear layers ----
static void test_matmul(int N, int C, int OC, int with_bias) {
    printf("-- matmul N=%d C=%d OC=%d %s\n", N, C, OC, with_bias ? "with bias" : "no bias");
    const size_t NC = (size_t)N * C, NO = (size_t)N * OC, OCC = (size_t)OC * C;
    float *inp = randn(NC, 0, 1), *w = randn(OCC, 0, 0.2f), *bias = with_bias ? randn((size_t)OC, 0, 1) : NULL;
    float *out = mallocCheck(NO * sizeof(float));
    ref_matmul_forward(out, inp, w, bias, N, C, OC);
    // out and dinp are overwritten: they start as garbage with NaNs (a GEMM computing
    // beta*C with beta = 0 would leak them).
    float *garbage = randn(NO > NC ? NO : NC, 100, 10);
    for (size_t i = 0; i < (NO > NC ? NO : NC); i += 7) garbage[i] = NAN;
    cl_mem d_inp = upload(inp, NC * sizeof(float)), d_w = upload(w, OCC * sizeof(float)),
           d_bias = with_bias ? upload(bias, (size_t)OC * sizeof(float)) : NULL,
           d_out = upload(garbage, NO * sizeof(float));  // overwritten
    op_matmul_forward(&ops, d_out, d_inp, d_w, d_bias, N, C, OC);
    // A float GEMM with inner dimension C (any summation order) plus one add:
    // error ~ sqrt(C) ulps of the typical |term|, well under 1e-5 of the max.
    check("matmul_forward out", d_out, out, NO, 1e-5);

    // dinp is overwritten (starts as the garbage); dw and dbias accumulate (start nonzero).
    float *dout = randn(NO, 0, 1), *dinp = mallocCheck(NC * sizeof(float)), *dw = randn(OCC, 0, 3),
          *dbias = with_bias ? randn((size_t)OC, 0, 3) : NULL;
    cl_mem d_dout = upload(dout, NO * sizeof(float)), d_dinp = upload(garbage, NC * sizeof(float)),
           d_dw = upload(dw, OCC * sizeof(float)),
           d_dbias = with_bias ? upload(dbias, (size_t)OC * sizeof(float)) : NULL;
    op_matmul_backward(&ops, d_dinp, d_dw, d_dbias, d_dout, d_inp, d_w, N, C, OC);
    ref_matmul_backward(dinp, dw, dbias, dout, inp, w, N, C, OC);
    // Float GEMMs with inner dimension OC (dinp) and N (dw), column sums of N terms (dbias).
    check("matmul_backward dinp (=)", d_dinp, dinp, NC, 1e-5);
    check("matmul_backward dw (+=)", d_dw, dw, OCC, 1e-5);
    if (with_bias) check("matmul_backward dbias (+=)", d_dbias, dbias, (size_t)OC, 1e-5);

    cl_mem ms[] = {d_inp, d_w, d_bias, d_out, d_dout, d_dinp, d_dw, d_dbias};
    release(ms, (int)(sizeof ms / sizeof ms[0]));
    free(inp), free(w), free(bias), free(out), free(garbage), free(dout), free(dinp), free(dw), free(dbias);
}

// ---- attention ----
static void test_attention(int B, int T, int C, int NH) {
    printf("-- attention B=%d T=%d C=%d NH=%d\n", B, T, C, NH);
    const size_t BTC = (size_t)B * T * C, BT3C = 3 * BTC, ATT = (size_t)B * NH * T * T;
    // The forward adds the qkv layer's bias: the reference works on qkv + bias (one float add, as the device's).
    float *qkv_in = randn(BT3C, 0, 1), *bias = randn(3 * (size_t)C, 0, 0.5f), *qkv = mallocCheck(BT3C * sizeof(float)),
          *out = mallocCheck(BTC * sizeof(float)), *att = mallocCheck(ATT * sizeof(float));
    for (size_t i = 0; i < BT3C; i++) qkv[i] = qkv_in[i] + bias[i % (3 * (size_t)C)];
    ref_attention_forward(out, att, qkv, B, T, C, NH);
    // Outputs that are overwritten and the scratch buffers start as garbage with NaNs
    // (as fresh device memory may): nothing may leak through, e.g. a GEMM's beta*C with beta = 0.
    float *garbage = randn(ATT > BT3C ? ATT : BT3C, 100, 10);
    for (size_t i = 0; i < (ATT > BT3C ? ATT : BT3C); i += 7) garbage[i] = NAN;
    cl_mem d_qkv = upload(qkv_in, BT3C * sizeof(float)), d_bias = upload(bias, 3 * (size_t)C * sizeof(float)),
           d_out = upload(garbage, BTC * sizeof(float)),
           d_att = upload(garbage, ATT * sizeof(float)),
           d_q = upload(garbage, BTC * sizeof(float)), d_k = upload(garbage, BTC * sizeof(float)),
           d_v = upload(garbage, BTC * sizeof(float)), d_y = upload(garbage, BTC * sizeof(float));
    op_attention_forward(&ops, d_out, d_att, d_qkv, d_bias, d_q, d_k, d_v, d_y, B, T, C, NH);
    check("attention_forward qkv (+= bias)", d_qkv, qkv, BT3C, 0);  // one float add: bit-exact
    // Scores: float dot products of hs terms (scores ~1), exp/normalise in float:
    // probabilities within ~1e-6 absolute; out = att @ v adds T-term float sums.
    check("attention_forward out", d_out, out, BTC, 1e-5);
    float *att_got = download(d_att, ATT);
    compare_rel_to_max("attention_forward att", att_got, att, ATT, 1e-5);
    size_t nonzero_future = 0, bad_rows = 0;
    for (size_t r = 0; r < (size_t)B * NH * T; r++) {
        const int t = (int)(r % (size_t)T);
        double s = 0;
        for (int j = 0; j < T; j++) {
            float a = att_got[r * T + j];
            if (j > t && a != 0.0f) nonzero_future++;
            s += a;
        }
        if (fabs(s - 1.0) > 1e-5) bad_rows++;  // each row a distribution: T float terms
    }
    EXPECT(nonzero_future == 0, "attention_forward: %zu entries of att above the diagonal are not exactly 0",
           nonzero_future);
    EXPECT(bad_rows == 0, "attention_forward: %zu rows of att do not sum to 1 within 1e-5", bad_rows);

    // Backward from the reference att (only the backward is tested); dqkv is overwritten.
    device_write(&dev, d_att, 0, ATT * sizeof(float), att);
    float *dout = randn(BTC, 0, 1), *dqkv = mallocCheck(BT3C * sizeof(float));
    cl_mem d_dout = upload(dout, BTC * sizeof(float)), d_dqkv = upload(garbage, BT3C * sizeof(float)),
           d_datt = upload(garbage, ATT * sizeof(float)), d_dq = upload(garbage, BTC * sizeof(float)),
           d_dk = upload(garbage, BTC * sizeof(float)), d_dv = upload(garbage, BTC * sizeof(float)),
           d_dy = upload(garbage, BTC * sizeof(float));
    op_attention_backward(&ops, d_dqkv, d_dout, d_qkv, d_att, d_q, d_k, d_v, d_datt, d_dq, d_dk, d_dv, d_dy, B, T, C,
                          NH);
    ref_attention_backward(dqkv, dout, qkv, att, B, T, C, NH);
    // Four float GEMMs (inner dims hs and T) around the softmax backward, whose
    // a*(d - sum a*d) cancels partly: ~1e-6 of the max; 1e-5 leaves margin.
    check("attention_backward dqkv (=)", d_dqkv, dqkv, BT3C, 1e-5);

    // The fused kernels (ATTN_FUSED) on the same inputs, for head sizes they take.
    if (C / NH <= ATTN_HS_MAX) {
        const size_t BNT = (size_t)B * NH * T;
        float *lse = mallocCheck(BNT * sizeof(float));
        ref_attention_lse(lse, qkv, B, T, C, NH);
        cl_mem d_lse = upload(garbage, BNT * sizeof(float)), d_dsum = upload(garbage, BNT * sizeof(float));
        device_write(&dev, d_out, 0, BTC * sizeof(float), garbage);
        device_write(&dev, d_dqkv, 0, BT3C * sizeof(float), garbage);
        op_attention_fused_forward(&ops, d_out, d_lse, d_qkv, B, T, C, NH);
        // Float scores and an online softmax (exp, running max and sum over the
        // keys): as the unfused path, ~1e-6 of the max.
        check("attention_fused_forward out", d_out, out, BTC, 1e-5);
        // log(sum) + max in float, values ~|score| + log T.
        check("attention_fused_forward lse", d_lse, lse, BNT, 1e-5);
        // Backward from the reference out and lse (only the backward is tested).
        device_write(&dev, d_out, 0, BTC * sizeof(float), out);
        device_write(&dev, d_lse, 0, BNT * sizeof(float), lse);
        op_attention_fused_backward(&ops, d_dqkv, d_dsum, d_dout, d_out, d_qkv, d_lse, B, T, C, NH);
        // The probabilities recomputed from lse in float, then the same sums as the
        // unfused backward: ~1e-6 of the max.
        check("attention_fused_backward dqkv (=)", d_dqkv, dqkv, BT3C, 1e-5);
        cl_mem fm[] = {d_lse, d_dsum};
        release(fm, 2);
        free(lse);
    }

    cl_mem ms[] = {d_qkv, d_bias, d_out, d_att, d_q, d_k, d_v, d_y, d_dout, d_dqkv, d_datt, d_dq, d_dk, d_dv, d_dy};
    release(ms, (int)(sizeof ms / sizeof ms[0]));
    free(qkv_in), free(bias), free(qkv), free(out), free(att), free(garbage), free(att_got), free(dout), free(dqkv);
}

// ---- elementwise ----
static void test_elementwise(int n) {
    printf("-- elementwise n=%d\n", n);
    const size_t bytes = (size_t)n * sizeof(float);
    float *x = randn((size_t)n, 0, 2), *y = randn((size_t)n, 0, 2), *dout = randn((size_t)n, 0, 1);
    float *ref = mallocCheck(bytes);
    cl_mem d_x = upload(x, bytes), d_y = upload(y, bytes), d_dout = upload(dout, bytes),
           d_out = test_alloc(&dev, bytes, "out");

    op_gelu_forward(&ops, d_out, d_x, n);
    ref_gelu_forward(ref, x, n);
    // A handful of float ops and one tanh (OpenCL allows a few ulps): ~1e-6 of the max.
    check("gelu_forward", d_out, ref, (size_t)n, 1e-5);

    op_gelu_backward(&ops, d_out, d_x, d_dout, n);
    ref_gelu_backward(ref, x, dout, n);
    // tanh and cosh in float (a few ulps each) then a product: ~1e-6 of the max.
    check("gelu_backward", d_out, ref, (size_t)n, 1e-5);
    op_gelu_backward(&ops, d_dout, d_x, d_dout, n);  // in place, dinp == dout (as ops.h allows)
    check("gelu_backward in place", d_dout, ref, (size_t)n, 1e-5);

    op_residual_forward(&ops, d_out, d_x, d_y, n);
    ref_residual_forward(ref, x, y, n);
    // One float add, correctly rounded on both sides: bit-exact.
    check("residual_forward", d_out, ref, (size_t)n, 0);

    device_write(&dev, d_out, 0, bytes, dout);
    op_accumulate(&ops, d_out, d_y, n);
    memcpy(ref, dout, bytes);
    ref_accumulate(ref, y, n);
    // One float add: bit-exact.
    check("accumulate (+=)", d_out, ref, (size_t)n, 0);

    cl_mem ms[] = {d_x, d_y, d_dout, d_out};
    release(ms, 4);
    free(x), free(y), free(dout), free(ref);
}

// The tails of GELU, apart so that their large outputs do not set the scale of
// the relative error above: cosh overflows to inf for |x| >~ 10 in gelu_backward
// and sech^2 must come out 0, not NaN.
static void test_gelu_tails(void) {
    printf("-- gelu tails\n");
    const float x[] = {0.0f,  1e-4f, -1e-4f, 3.0f,  -3.0f,  5.0f, -5.0f, 9.0f,
                       -9.0f, 12.0f, -12.0f, 30.0f, -30.0f, 1e4f, -1e4f};
    const int n = (int)(sizeof x / sizeof x[0]);
    float ones[sizeof x / sizeof x[0]], ref[sizeof x / sizeof x[0]];
    for (int i = 0; i < n; i++) ones[i] = 1.0f;
    cl_mem d_x = upload(x, sizeof x), d_ones = upload(ones, sizeof ones), d_out = test_alloc(&dev, sizeof x, "out");
    op_gelu_forward(&ops, d_out, d_x, n);
    ref_gelu_forward(ref, x, n);
    // Same arithmetic as above; the max |ref| is now 1e4 (gelu(x) = x there), so
    // this mainly checks for inf/NaN and the exact limits 0 and x.
    check("gelu_forward tails", d_out, ref, (size_t)n, 1e-5);
    op_gelu_backward(&ops, d_out, d_x, d_ones, n);
    ref_gelu_backward(ref, x, ones, n);
    // The derivative itself (dout = 1), whose max is ~1.13 near x = 2: as above.
    check("gelu_backward tails", d_out, ref, (size_t)n, 1e-5);
    cl_mem ms[] = {d_x, d_ones, d_out};
    release(ms, 3);
}

// The fc layer's fused bias + GELU and GELU backward + bias gradient.
static void test_bias_gelu(int N, int OC) {
    printf("-- bias_gelu N=%d OC=%d\n", N, OC);
    const size_t n = (size_t)N * OC, bytes = n * sizeof(float);
    float *pre = randn(n, 0, 2), *bias = randn((size_t)OC, 0, 1), *dout = randn(n, 0, 1),
          *dbias = randn((size_t)OC, 0, 3);
    // The reference: the bias add (one float add, as op_matmul_forward's), then GELU forward;
    // backward: GELU backward, then the column sums into dbias.
    float *pre_ref = mallocCheck(bytes), *out = mallocCheck(bytes), *dinp = mallocCheck(bytes),
          *dbias_ref = mallocCheck((size_t)OC * sizeof(float));
    for (size_t i = 0; i < n; i++) pre_ref[i] = pre[i] + bias[i % (size_t)OC];
    ref_gelu_forward(out, pre_ref, (int)n);
    ref_gelu_backward(dinp, pre_ref, dout, (int)n);
    memcpy(dbias_ref, dbias, (size_t)OC * sizeof(float));
    ref_column_sum(dbias_ref, dinp, N, OC);
    float *garbage = randn(n, 100, 10);
    cl_mem d_pre = upload(pre, bytes), d_bias = upload(bias, (size_t)OC * sizeof(float)),
           d_out = upload(garbage, bytes), d_dout = upload(dout, bytes), d_dinp = upload(garbage, bytes),
           d_dbias = upload(dbias, (size_t)OC * sizeof(float));
    op_bias_gelu_forward(&ops, d_out, d_pre, d_bias, N, OC);
    // One float add: bit-exact; GELU as gelu_forward above.
    check("bias_gelu_forward pre (+= bias)", d_pre, pre_ref, n, 0);
    check("bias_gelu_forward out", d_out, out, n, 1e-5);
    op_gelu_backward_bias(&ops, d_dinp, d_dbias, d_pre, d_dout, N, OC);
    // As gelu_backward above; dbias: float column sums of N terms of size ~1.
    check("gelu_backward_bias dinp", d_dinp, dinp, n, 1e-5);
    check("gelu_backward_bias dbias (+=)", d_dbias, dbias_ref, (size_t)OC, 1e-5);
    // In place (dinp == dout, as the model runs it), adding to dbias a second time.
    ref_column_sum(dbias_ref, dinp, N, OC);
    op_gelu_backward_bias(&ops, d_dout, d_dbias, d_pre, d_dout, N, OC);
    check("gelu_backward_bias in place", d_dout, dinp, n, 1e-5);
    check("gelu_backward_bias dbias (+= twice)", d_dbias, dbias_ref, (size_t)OC, 1e-5);
    cl_mem ms[] = {d_pre, d_bias, d_out, d_dout, d_dinp, d_dbias};
    release(ms, (int)(sizeof ms / sizeof ms[0]));
    free(pre), free(bias), free(dout), free(dbias), free(pre_ref), free(out), free(dinp), free(dbias_ref),
        free(garbage);
}

// ---- loss ----
static void test_crossentropy(int N, int V, int Vp) {
    printf("-- crossentropy N=%d V=%d Vp=%d\n", N, V, Vp);
    const size_t NV = (size_t)N * Vp;
    float *logits = randn(NV, 0, 2);
    // Large values in the padding: wrong if they take part in the softmax.
    for (int n = 0; n < N; n++)
        for (int i = V; i < Vp; i++) logits[(size_t)n * Vp + i] = 8.0f + (float)i;
    int *targets = mallocCheck((size_t)N * sizeof(int));
    for (int n = 0; n < N; n++) targets[n] = (int)(rng_u64(&rng) % (uint64_t)V);
    targets[N - 1] = V - 1;
    if (N > 2) targets[1] = -1;  // a masked position (task = sft): loss 0, gradient row exactly 0
    float *losses = mallocCheck((size_t)N * sizeof(float)), *dlogits = mallocCheck(NV * sizeof(float));
    cl_mem d_logits = upload(logits, NV * sizeof(float)), d_targets = upload(targets, (size_t)N * sizeof(int)),
           d_losses = test_alloc(&dev, (size_t)N * sizeof(float), "losses");

    // dloss = 0: losses only, logits untouched.
    op_crossentropy(&ops, d_logits, d_losses, d_targets, N, V, Vp, 0.0f);
    ref_crossentropy(losses, NULL, logits, targets, N, V, Vp, 0.0f);
    // log-sum-exp in float: exp of V terms summed (relative error ~log2(V) ulps), log,
    // plus the max: ~1e-6 of the max loss.
    check("crossentropy losses (dloss=0)", d_losses, losses, (size_t)N, 1e-5);
    float *got = download(d_logits, NV);
    EXPECT(memcmp(got, logits, NV * sizeof(float)) == 0, "crossentropy with dloss=0 changed the logits");
    free(got);

    // dloss != 0: the logits become dloss * (softmax - onehot), padding exactly 0.
    const float dloss = 1.0f / (float)N;
    op_crossentropy(&ops, d_logits, d_losses, d_targets, N, V, Vp, dloss);
    ref_crossentropy(losses, dlogits, logits, targets, N, V, Vp, dloss);
    check("crossentropy losses (dloss!=0)", d_losses, losses, (size_t)N, 1e-5);
    got = download(d_logits, NV);
    // exp(x - logsum) in float, logsum off by ~1 ulp of |logsum| (~10): the probability
    // is off by ~1e-6 relative; the max |dlogit| is ~dloss (the target's -1).
    compare_rel_to_max("crossentropy dlogits", got, dlogits, NV, 1e-5);
    size_t pad_nonzero = 0;
    for (int n = 0; n < N; n++)
        for (int i = V; i < Vp; i++)
            if (got[(size_t)n * Vp + i] != 0.0f) pad_nonzero++;
    EXPECT(pad_nonzero == 0, "crossentropy: %zu padded columns of dlogits are not exactly 0", pad_nonzero);
    size_t masked_nonzero = 0;
    for (int n = 0; n < N; n++)
        for (int i = 0; targets[n] < 0 && i < Vp; i++) masked_nonzero += got[(size_t)n * Vp + i] != 0.0f;
    EXPECT(masked_nonzero == 0, "crossentropy: %zu dlogits of a masked row are not exactly 0", masked_nonzero);
    free(got);

    cl_mem ms[] = {d_logits, d_targets, d_losses};
    release(ms, 3);
    free(logits), free(targets), free(losses), free(dlogits);
}

static void test_loss_sum(int n) {
    printf("-- loss_sum n=%d\n", n);
    float *losses = randn((size_t)n, 4, 1);
    float stats[4] = {0.25f, -1.5f, 2.5f, 7.0f}, ref[4];
    memcpy(ref, stats, sizeof stats);
    cl_mem d_losses = upload(losses, (size_t)n * sizeof(float)), d_stats = upload(stats, sizeof stats);
    const float scale = 1.0f / (float)n;
    op_loss_sum(&ops, d_stats, d_losses, n, scale);
    ref_loss_sum(&ref[0], losses, n, scale);
    // A float tree sum of n positive terms then one multiply-add: a few ulps.
    check("loss_sum acc[0] (+=)", d_stats, ref, 1, 1e-6);
    float got[4];
    device_read(&dev, d_stats, 0, sizeof got, got);
    EXPECT(memcmp(got + 1, stats + 1, 3 * sizeof(float)) == 0, "loss_sum wrote past acc[0]");
    cl_mem ms[] = {d_losses, d_stats};
    release(ms, 2);
    free(losses);
}

// ---- optimizer support ----
static void test_grad_norm(size_t n) {
    printf("-- grad_norm n=%zu\n", n);
    float *g = randn(n, 0, 0.01f);
    cl_mem d_g = upload(g, n * sizeof(float)), d_partials = test_alloc(&dev, NORM_GROUPS_MAX * sizeof(float), "partials");
    const float sentinel[4] = {3.5f, -1, -1, 9.25f};
    cl_mem d_stats = upload(sentinel, sizeof sentinel);
    double clip;
    const double norm = ref_grad_norm(g, n, 0.0, &clip);
    // max_norm: 0 (clipping off), far above the norm (no clipping), a third of it (clipping).
    const double max_norms[3] = {0.0, 1e6, norm / 3};
    for (int k = 0; k < 3; k++) {
        op_grad_norm(&ops, d_stats, d_partials, d_g, n, (float)max_norms[k]);
        ref_grad_norm(g, n, (double)(float)max_norms[k], &clip);
        float got[4];
        device_read(&dev, d_stats, 0, sizeof got, got);
        const float ref_norm = (float)norm, ref_clip = (float)clip;
        // Sum of n squares: per-item float sums of n/(NORM_GROUPS*REDUCE_WG) terms then two tree
        // reductions, all terms positive: relative error ~ (n/16384 + 20) ulps; sqrt halves it.
        compare_rel_to_max(label("grad_norm norm (max_norm %.3g)", max_norms[k]), &got[1], &ref_norm, 1, 1e-5);
        if (k < 2) {  // exactly 1: fmin(1, x>=1) or clipping off
            EXPECT(got[2] == 1.0f, "grad_norm: clip factor %.9g should be exactly 1 (max_norm %g)", got[2],
                   max_norms[k]);
        } else {
            // max_norm / (norm + 1e-6) inherits the norm's relative error.
            compare_rel_to_max("grad_norm clip factor", &got[2], &ref_clip, 1, 1e-5);
        }
        EXPECT(got[0] == sentinel[0] && got[3] == sentinel[3], "grad_norm wrote stats[0] or stats[3]");
    }
    cl_mem ms[] = {d_g, d_partials, d_stats};
    release(ms, 3);
    free(g);
}

static void test_adamw(size_t total, size_t offset, size_t n, int steps) {
    printf("-- adamw total=%zu offset=%zu n=%zu steps=%d (weight decay, clipping)\n", total, offset, n, steps);
    const double beta1 = 0.9, beta2 = 0.95, eps = 1e-8, wd = 0.1, max_norm = 0.5;
    float *p0 = randn(total, 0, 1), *zeros = mallocCheck(total * sizeof(float));
    memset(zeros, 0, total * sizeof(float));
    double *p = mallocCheck(total * sizeof(double)), *m = mallocCheck(total * sizeof(double)),
           *v = mallocCheck(total * sizeof(double));
    for (size_t i = 0; i < total; i++) p[i] = p0[i], m[i] = v[i] = 0;
    cl_mem d_p = upload(p0, total * sizeof(float)), d_m = upload(zeros, total * sizeof(float)),
           d_v = upload(zeros, total * sizeof(float)), d_g = test_alloc(&dev, total * sizeof(float), "grads"),
           d_partials = test_alloc(&dev, NORM_GROUPS_MAX * sizeof(float), "partials"),
           d_stats = upload(zeros, 4 * sizeof(float));
    double min_clip = 1;
    for (int t = 1; t <= steps; t++) {
        float *g = randn(total, 0, 0.2f);
        device_write(&dev, d_g, 0, total * sizeof(float), g);
        // The clip factor comes from op_grad_norm over the whole buffer, as in the optimizer.
        op_grad_norm(&ops, d_stats, d_partials, d_g, total, (float)max_norm);
        double clip;
        ref_grad_norm(g, total, max_norm, &clip);
        if (clip < min_clip) min_clip = clip;
        const double lr = 1e-2 * (1.0 - 0.1 * t);  // a changing learning rate, as with a schedule
        const float bc1 = (float)(1.0 - pow(beta1, t)), bc2 = (float)(1.0 - pow(beta2, t));
        op_adamw(&ops, d_p, d_g, d_m, d_v, d_stats, offset, n, (float)lr, (float)beta1, (float)beta2, (float)eps,
                 (float)wd, bc1, bc2);
        ref_adamw(p, g, m, v, clip, offset, n, (float)lr, (float)beta1, (float)beta2, (float)eps, (float)wd, bc1, bc2);
        free(g);
    }
    EXPECT(min_clip < 0.5, "adamw test: clipping should be active (clip %g)", min_clip);
    float *rp = mallocCheck(total * sizeof(float)), *rm = mallocCheck(total * sizeof(float)),
          *rv = mallocCheck(total * sizeof(float)), *gp = download(d_p, total), *gm = download(d_m, total),
          *gv = download(d_v, total);
    for (size_t i = 0; i < total; i++) rp[i] = (float)p[i], rm[i] = (float)m[i], rv[i] = (float)v[i];
    // m, v: float recurrences over a few steps on g*clip (clip ~1e-6 relative from the norm): ~1e-6.
    compare_rel_to_max("adamw m", gm + offset, rm + offset, n, 1e-5);
    compare_rel_to_max("adamw v", gv + offset, rv + offset, n, 1e-5);
    // params: each step rounds p (|p| <~ 4) to float, the step itself is ~1e-6 relative.
    compare_rel_to_max("adamw params", gp + offset, rp + offset, n, 1e-6);
    // The change p - p0 alone (~lr per step), so that an error in the update is not hidden
    // by |p|: float rounding of p (~2e-7 each step) over max|delta| ~ steps*lr -> 1e-4.
    float *dgot = mallocCheck(n * sizeof(float)), *dref = mallocCheck(n * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        dgot[i] = (float)((double)gp[offset + i] - p0[offset + i]);
        dref[i] = (float)(p[offset + i] - p0[offset + i]);
    }
    compare_rel_to_max("adamw params - params0", dgot, dref, n, 1e-4);
    // Outside [offset, offset+n) nothing moves.
    size_t moved = 0;
    for (size_t i = 0; i < total; i++) {
        if (i >= offset && i < offset + n) continue;
        if (gp[i] != p0[i] || gm[i] != 0.0f || gv[i] != 0.0f) moved++;
    }
    EXPECT(moved == 0, "adamw changed %zu elements outside [offset, offset+n)", moved);

    cl_mem ms[] = {d_p, d_m, d_v, d_g, d_partials, d_stats};
    release(ms, 6);
    free(p0), free(zeros), free(p), free(m), free(v), free(rp), free(rm), free(rv), free(gp), free(gm), free(gv),
        free(dgot), free(dref);
}

// The small mode's shapes (test_util.h): each still leaves a tail after the last
// vector, rows past the end of the last group of rows, and several work-groups
// (or passes of one) under the GPU-shaped sets of main.
static void test_small_shapes(void) {
    test_encoder(2, 7, 48, 50, 6);
    test_layernorm(13, 48);
    test_layernorm(3, 200);  // C > LN_WG: several passes per work-item
    test_layernorm(70, 20);  // C not a multiple of COLSUM_VW; rows in several chunks, the last one short
    test_residual_layernorm(13, 48);
    test_matmul(13, 48, 80, 1);
    test_matmul(37, 16, 20, 1);  // bias gradient: OC not a multiple of COLSUM_VW
    test_matmul(3, 40, 50, 1);   // N <= MATVEC_ROWS_MAX: matvec_forward; C not a multiple of its vectors
    test_attention(2, 7, 48, 3);
    test_attention(1, 37, 16, 2);  // T > SOFTMAX_WG: several passes per row
    test_attention(1, 21, 128, 2);  // head size ATTN_HS_MAX, T not a multiple of the fused tiles
    test_elementwise(1001);
    test_gelu_tails();
    test_bias_gelu(13, 80);
    test_bias_gelu(7, 37);  // OC not a multiple of VW or COLSUM_VW
    test_crossentropy(13, 50, 64);
    test_crossentropy(2, 2500, 2560);  // V > CE_WG * CE_VW: several passes per row
    test_loss_sum(13);
    test_loss_sum(1001);
    test_grad_norm(1000);
    test_grad_norm(9001);  // > NORM_GROUPS * REDUCE_WG * REDUCE_VW: several passes, and a tail
    test_adamw(1003, 101, 801, 2);
}

// Every kernel against the reference, with the kernel program built with kp;
// with our GEMM (cl/gemm.cl) instead of CLBlast's when gemm_cl is set.
static void test_all(const KernelParams *kp, int gemm_cl) {
    MUST(ops_init(&ops, &dev, &(Tuned){.kp = *kp}));
    char opts[KERNEL_PARAMS_OPTIONS_MAX];
    kernel_params_options(&ops.kp, opts, sizeof opts);
    printf("== kernel parameters %s, GEMMs by %s\n", opts, gemm_cl ? "cl/gemm.cl" : "CLBlast");
    const GemmParams gp = gemm_params_default();
    if (gemm_cl) EXPECT(ops_use_gemm_cl(&ops, NULL, &gp), "our GEMM should be usable for every shape");
    if (test_small()) {
        test_small_shapes();
        ops_free(&ops);
        return;
    }

    // Small shapes, not multiples of anything; then larger ones.
    test_encoder(2, 7, 48, 50, 6);
    test_encoder(4, 64, 300, 1000, 40);

    test_layernorm(13, 48);
    test_layernorm(129, 192);
    test_layernorm(3, 768);  // C > LN_WG: several passes per work-item
    test_layernorm(300, 100);  // C not a multiple of COLSUM_VW; rows in several chunks, the last one short
    test_residual_layernorm(13, 48);
    test_residual_layernorm(129, 100);

    test_matmul(13, 48, 80, 1);
    test_matmul(13, 48, 80, 0);
    test_matmul(129, 192, 576, 1);
    test_matmul(129, 768, 300, 0);
    test_matmul(77, 64, 100, 1);  // bias gradient: OC not a multiple of COLSUM_VW
    test_matmul(1, 768, 300, 1);  // N <= MATVEC_ROWS_MAX: matvec_forward (a decode step)
    test_matmul(8, 40, 77, 0);    // ... its most rows; C not a multiple of its vectors

    test_attention(2, 7, 48, 3);
    test_attention(2, 64, 192, 4);
    test_attention(1, 300, 16, 2);  // T > SOFTMAX_WG: several passes per row in the softmax
    test_attention(2, 70, 128, 2);  // head size ATTN_HS_MAX, T not a multiple of the fused tiles

    test_elementwise(1001);  // n not a multiple of VW: the scalar tail
    test_elementwise(100003);
    test_gelu_tails();
    test_bias_gelu(13, 80);
    test_bias_gelu(300, 100);  // OC not a multiple of VW or COLSUM_VW: the element-by-element paths

    test_crossentropy(13, 50, 64);
    test_crossentropy(5, 1000, 1024);
    test_crossentropy(3, 50257, 50304);  // GPT-2's vocabulary

    test_loss_sum(13);
    test_loss_sum(1001);

    test_grad_norm(1000);     // fewer elements than work-items
    test_grad_norm(1000003);  // > NORM_GROUPS * REDUCE_WG: several passes

    test_adamw(1003, 101, 801, 5);  // an offset and length that are not multiples of VW
    ops_free(&ops);
}

// p made legal on this device: any work-group size beyond its limits halved
// until it fits (ops_init then caps each family to what its compiled kernels allow).
static KernelParams capped(KernelParams p) {
    const char *bad;
    while (!kernel_params_valid(&p, &dev, &bad)) p.v[kernel_param_find(bad)] /= 2;
    return p;
}

// A driver may compile a kernel that runs fewer work-items than the device's
// maximum (CL_KERNEL_WORK_GROUP_SIZE; NVIDIA's attention_softmax allowed fewer
// than 512 of 1024): ops_init then halves its family with kernel_params_fit,
// checked here with made-up limits. Local memory: a set whose __local scratch
// exceeds the device's is illegal, and the defaults fit a small local memory.
static void test_work_group_limits(void) {
    printf("-- work-group sizes capped to a kernel's limit, local memory\n");
    KernelParams p = kernel_params_default(&dev);
    p.v[KP_SOFTMAX_WG] = 512, p.v[KP_SOFTMAX_ROWS] = 1;
    EXPECT(kernel_params_fit(&p, KP_SOFTMAX_WG, KP_SOFTMAX_ROWS, 384) && p.v[KP_SOFTMAX_WG] == 256 &&
               p.v[KP_SOFTMAX_ROWS] == 1,
           "512 x 1 under a limit of 384 should become 256 x 1, got %d x %d", p.v[KP_SOFTMAX_WG],
           p.v[KP_SOFTMAX_ROWS]);
    p.v[KP_LN_WG] = 32, p.v[KP_LN_ROWS] = 16;
    EXPECT(kernel_params_fit(&p, KP_LN_WG, KP_LN_ROWS, 100) && p.v[KP_LN_WG] == 32 && p.v[KP_LN_ROWS] == 2,
           "32 x 16 under a limit of 100 should drop rows first, to 32 x 2, got %d x %d", p.v[KP_LN_WG],
           p.v[KP_LN_ROWS]);
    p.v[KP_CE_WG] = 256;
    EXPECT(kernel_params_fit(&p, KP_CE_WG, KP_COUNT, 256) && p.v[KP_CE_WG] == 256, "a size within the limit stays");
    p.v[KP_ROW_WG] = 1;
    EXPECT(!kernel_params_fit(&p, KP_ROW_WG, KP_COUNT, 0), "a limit of 0 items cannot be met");

    Device small = dev;  // this device with 4 KiB of local memory
    small.local_mem = 4096;
    KernelParams d = kernel_params_default(&small), q = d;
    const char *bad = NULL;
    EXPECT(kernel_params_valid(&d, &small, NULL), "the defaults should fit 4 KiB of local memory");
    EXPECT(d.v[KP_ROW_WG] * 16 <= 4096, "default ROW_WG %d needs %d bytes of float4 scratch", d.v[KP_ROW_WG],
           d.v[KP_ROW_WG] * 16);
    q.v[KP_ROW_WG] = 512;  // a float4 per item: 8 KiB
    EXPECT(small.max_wg < 512 || (!kernel_params_valid(&q, &small, &bad) && bad && !strcmp(bad, "ROW_WG")),
           "ROW_WG=512 should be illegal with 4 KiB of local memory");
    printf("ok   kernel_params_fit and local-memory legality\n");
}

int main(void) {
    open_test_device(&dev, 0);
    rng_seed(&rng, 1337);
    test_work_group_limits();
    KernelParams def = kernel_params_default(&dev);
    if (test_small()) {
        // The device's defaults (Oclgrind reports every device type, CPU included, so
        // its defaults take the CPU path), then two GPU-shaped sets: groups of 256 and
        // 64, 4-16 rows per group, strided reductions, vectors of 4 and 16; the
        // first with our GEMM, the others with CLBlast's.
        test_all(&def, 0);
        KernelParams g1 = {{[KP_WG] = 256, [KP_VW] = 4, [KP_LN_WG] = 32, [KP_LN_ROWS] = 8, [KP_SOFTMAX_WG] = 32,
                            [KP_SOFTMAX_ROWS] = 4, [KP_CE_WG] = 256, [KP_CE_VW] = 4, [KP_ROW_WG] = 64,
                            [KP_REDUCE_WG] = 256, [KP_NORM_GROUPS] = 8, [KP_REDUCE_CONTIGUOUS] = 0,
                            [KP_REDUCE_VW] = 4, [KP_COLSUM_WG] = 256, [KP_COLSUM_VW] = 1, [KP_COLSUM_CHUNKS] = 64,
                            [KP_LN_FUSED] = 1, [KP_GELU_FUSED] = 1, [KP_GELU_BWD_FUSED] = 1, [KP_ATTN_FUSED] = 1,
                            [KP_ATTN_BQ] = 64, [KP_ATTN_BK] = 16, [KP_ATTN_VW] = 4}};
        test_all((g1 = capped(g1), &g1), 1);
        KernelParams g2 = {{[KP_WG] = 64, [KP_VW] = 16, [KP_LN_WG] = 16, [KP_LN_ROWS] = 16, [KP_SOFTMAX_WG] = 16,
                            [KP_SOFTMAX_ROWS] = 16, [KP_CE_WG] = 64, [KP_CE_VW] = 16, [KP_ROW_WG] = 32,
                            [KP_REDUCE_WG] = 64, [KP_NORM_GROUPS] = 16, [KP_REDUCE_CONTIGUOUS] = 0,
                            [KP_REDUCE_VW] = 16, [KP_COLSUM_WG] = 64, [KP_COLSUM_VW] = 4, [KP_COLSUM_CHUNKS] = 16,
                            [KP_LN_FUSED] = 0, [KP_GELU_FUSED] = 0, [KP_GELU_BWD_FUSED] = 0, [KP_ATTN_FUSED] = 1,
                            [KP_ATTN_BQ] = 32, [KP_ATTN_BK] = 8, [KP_ATTN_VW] = 16}};
        test_all((g2 = capped(g2), &g2), 0);
        // CLBlast picks its direct GEMM kernels for products this small; its indirect path
        // (Xgemm with its padding and transposing helpers) is forced here for the same checks.
        printf("== CLBlast's indirect GEMM forced (XGEMM_MIN_INDIRECT_SIZE=1)\n");
        CLBLAST_CHECK(tune_override_min_indirect(&dev, 1));
        MUST(ops_init(&ops, &dev, &(Tuned){.kp = def}));
        test_matmul(13, 48, 80, 1);
        test_attention(2, 7, 48, 3);
        ops_free(&ops);
        MUST(device_status(&dev));  // no OpenCL call failed along the way
        device_close(&dev);
        return test_summary("test_kernels");
    }
    // The device's defaults, then two sets far from them (the tuner may pick
    // any legal set): tiny and large work-groups, several rows per group
    // (with rows past the end), vectors with tails, many and
    // few partial sums, and the other reduction layout (GPUs read strided,
    // CPUs contiguous chunks), many and few row chunks of the column
    // reductions, fused-attention tiles from one row to wide ones: all must
    // give the reference's results.
    test_all(&def, 0);
    KernelParams a = {{[KP_WG] = 32, [KP_VW] = 4, [KP_LN_WG] = 1, [KP_LN_ROWS] = 8, [KP_SOFTMAX_WG] = 512,
                       [KP_SOFTMAX_ROWS] = 1, [KP_CE_WG] = 8, [KP_CE_VW] = 2, [KP_ROW_WG] = 2, [KP_REDUCE_WG] = 16,
                       [KP_NORM_GROUPS] = 1024, [KP_REDUCE_CONTIGUOUS] = !def.v[KP_REDUCE_CONTIGUOUS],
                       [KP_REDUCE_VW] = 4, [KP_COLSUM_WG] = 8, [KP_COLSUM_VW] = 4, [KP_COLSUM_CHUNKS] = 256,
                       [KP_LN_FUSED] = !def.v[KP_LN_FUSED], [KP_GELU_FUSED] = !def.v[KP_GELU_FUSED],
                       [KP_GELU_BWD_FUSED] = !def.v[KP_GELU_BWD_FUSED],
                       [KP_ATTN_FUSED] = !def.v[KP_ATTN_FUSED], [KP_ATTN_BQ] = 1, [KP_ATTN_BK] = 2, [KP_ATTN_VW] = 1}};
    test_all((a = capped(a), &a), 0);
    KernelParams b = {{[KP_WG] = 8, [KP_VW] = 16, [KP_LN_WG] = 32, [KP_LN_ROWS] = 4, [KP_SOFTMAX_WG] = 4,
                       [KP_SOFTMAX_ROWS] = 16, [KP_CE_WG] = 1, [KP_CE_VW] = 16, [KP_ROW_WG] = 128,
                       [KP_REDUCE_WG] = 512, [KP_NORM_GROUPS] = 8, [KP_REDUCE_CONTIGUOUS] = def.v[KP_REDUCE_CONTIGUOUS],
                       [KP_REDUCE_VW] = 16, [KP_COLSUM_WG] = 128, [KP_COLSUM_VW] = 2, [KP_COLSUM_CHUNKS] = 4,
                       [KP_LN_FUSED] = def.v[KP_LN_FUSED], [KP_GELU_FUSED] = def.v[KP_GELU_FUSED],
                       [KP_GELU_BWD_FUSED] = def.v[KP_GELU_BWD_FUSED],
                       [KP_ATTN_FUSED] = def.v[KP_ATTN_FUSED], [KP_ATTN_BQ] = 256, [KP_ATTN_BK] = 8,
                       [KP_ATTN_VW] = 8}};
    test_all((b = capped(b), &b), 0);
    MUST(device_status(&dev));  // no OpenCL call failed along the way
    device_close(&dev);
    return test_summary("test_kernels");
}
