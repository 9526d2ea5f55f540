// Our SGEMM (cl/gemm.cl) against a plain C reference (double sums) on random
// matrices: NN, NT, TN, odd sizes (edge tiles, k tails), padded leading
// dimensions, strided batches, alpha/beta, for several parameter sets.
// Tolerance: 1e-5 * sqrt(k) relative to max |ref| (float sums of k products).
#include <math.h>
#include <string.h>

#include "runtime/gemm_cl.h"
#include "test_util.h"
#include "util/util.h"

typedef struct {
    int ta, tb;
    size_t m, n, k, pad, batch;  // leading dimensions are the row length + pad
    float alpha, beta;
} Case;

static unsigned long long rng = 12345;
static float urand(void) {
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((double)(rng >> 40) / (double)(1ULL << 24) * 2.0 - 1.0);
}

static void run_case(const Device *dev, const GemmKernels *g, const Case *t) {
    size_t lda = (t->ta ? t->m : t->k) + t->pad, ldb = (t->tb ? t->k : t->n) + t->pad, ldc = t->n + t->pad;
    size_t sa = (t->ta ? t->k : t->m) * lda + 3, sb = (t->tb ? t->n : t->k) * ldb + 5, sc = t->m * ldc + 7;
    size_t nb = t->batch ? t->batch : 1, na = sa * nb, nbb = sb * nb, nc = sc * nb;
    float *a = mallocCheck(na * sizeof *a), *b = mallocCheck(nbb * sizeof *b), *c = mallocCheck(nc * sizeof *c);
    float *ref = mallocCheck(nc * sizeof *ref);
    for (size_t i = 0; i < na; i++) a[i] = urand();
    for (size_t i = 0; i < nbb; i++) b[i] = urand();
    for (size_t i = 0; i < nc; i++) c[i] = t->beta == 0.0f ? NAN : urand();  // beta 0 must not read C
    for (size_t q = 0; q < nb; q++)
        for (size_t i = 0; i < t->m; i++)
            for (size_t j = 0; j < t->n; j++) {
                double s = 0;
                for (size_t p = 0; p < t->k; p++)
                    s += (double)a[q * sa + (t->ta ? p * lda + i : i * lda + p)] *
                         (double)b[q * sb + (t->tb ? j * ldb + p : p * ldb + j)];
                size_t ci = q * sc + i * ldc + j;
                ref[ci] = (float)(t->alpha * s + (t->beta == 0.0f ? 0.0 : (double)t->beta * c[ci]));
            }
    cl_mem da = test_alloc(dev, na * sizeof *a, "A"), db = test_alloc(dev, nbb * sizeof *b, "B"),
           dc = test_alloc(dev, nc * sizeof *c, "C");
    device_write(dev, da, 0, na * sizeof *a, a);
    device_write(dev, db, 0, nbb * sizeof *b, b);
    device_write(dev, dc, 0, nc * sizeof *c, c);
    cl_int err = gemm_cl_enqueue(g, dev->queue, t->ta, t->tb, t->m, t->n, t->k, t->alpha, da, lda, sa, db, ldb, sb,
                                 t->beta, dc, ldc, sc, t->batch);
    EXPECT(err == CL_SUCCESS, "enqueue failed: %d", (int)err);
    float *got = mallocCheck(nc * sizeof *got);
    device_read(dev, dc, 0, nc * sizeof *got, got);
    // Only C's matrices are compared: padding keeps its input (NaN or random), as in ref.
    for (size_t q = 0; q < nb; q++)
        for (size_t i = 0; i < t->m; i++)
            for (size_t j = t->n; j < ldc; j++) got[q * sc + i * ldc + j] = ref[q * sc + i * ldc + j] = 0;
    for (size_t q = 0; q < nb; q++)
        for (size_t i = t->m * ldc; i < sc; i++) got[q * sc + i] = ref[q * sc + i] = 0;
    char what[128], pn[64];
    snprintf(what, sizeof what, "%c%c %zux%zux%zu b%zu a%.1f b%.1f [%s]", t->ta ? 'T' : 'N', t->tb ? 'T' : 'N', t->m,
             t->n, t->k, t->batch, t->alpha, t->beta, gemm_params_name(&g->p, pn, sizeof pn));
    compare_rel_to_max(what, got, ref, nc, 1e-5 * sqrt((double)t->k));
    CL_CHECK(clReleaseMemObject(da));
    CL_CHECK(clReleaseMemObject(db));
    CL_CHECK(clReleaseMemObject(dc));
    free(a);
    free(b);
    free(c);
    free(ref);
    free(got);
}

int main(void) {
    Device dev;
    open_test_device(&dev, 0);
    GemmParams sets[] = {gemm_params_default(),
                         {.vw = 4, .tm = 1, .tn = 1, .wg0 = 1, .wg1 = 1},
                         {.vw = 8, .tm = 3, .tn = 3, .wg0 = 4, .wg1 = 2},
                         {.vw = 16, .tm = 8, .tn = 4, .wg0 = 2, .wg1 = 8},
                         // k in chunks: several with a short last one (k 29, 131), and one chunk past k (64)
                         {.vw = 8, .tm = 3, .tn = 3, .wg0 = 4, .wg1 = 2, .kc = 16},
                         {.vw = 16, .tm = 4, .tn = 4, .wg0 = 1, .wg1 = 8, .kc = 128}};
    const Case cases[] = {
        {0, 0, 64, 64, 64, 0, 0, 1.0f, 0.0f},   {0, 1, 64, 64, 64, 0, 0, 1.0f, 0.0f},
        {1, 0, 64, 64, 64, 0, 0, 1.0f, 0.0f},   {0, 0, 37, 53, 29, 0, 0, 1.0f, 0.0f},
        {0, 1, 37, 53, 29, 3, 0, 0.5f, 1.0f},   {1, 0, 37, 53, 29, 1, 0, -1.5f, 0.25f},
        {0, 0, 1, 1, 1, 0, 0, 1.0f, 1.0f},      {0, 1, 70, 5, 131, 0, 0, 1.0f, 0.0f},
        {0, 1, 33, 33, 64, 0, 3, 0.125f, 0.0f}, {0, 0, 33, 64, 33, 0, 3, 1.0f, 0.0f},
        {1, 0, 33, 64, 33, 2, 3, 1.0f, 1.0f},   {0, 1, 96, 100, 256, 0, 0, 1.0f, 1.0f},
    };
    for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++) {
        EXPECT(gemm_params_valid(&sets[s], &dev), "parameter set %zu should be legal", s);
        GemmKernels g;
        MUST(gemm_kernels_build(&g, &dev, &sets[s]));
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&dev, &g, &cases[i]);
        gemm_kernels_free(&g);
    }
    GemmParams bad = {.vw = 3, .tm = 1, .tn = 1, .wg0 = 1, .wg1 = 1};
    EXPECT(!gemm_params_valid(&bad, &dev), "VW=3 should be illegal");
    bad = (GemmParams){.vw = 4, .tm = 1, .tn = 1, .wg0 = 1, .wg1 = 1, .kc = 8};
    EXPECT(!gemm_params_valid(&bad, &dev), "KC=8 (not whole 16-float vectors) should be illegal");
    MUST(device_status(&dev));  // no OpenCL call failed along the way
    device_close(&dev);
    return test_summary("gemm");
}
