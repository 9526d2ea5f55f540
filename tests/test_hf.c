// Hugging Face and llm.c bf16 model files against the real transformers
// package: tests/make_hf_fixtures.py saved a tiny random GPT2LMHeadModel with
// save_pretrained (F32, BF16, F16, BF16 in shards) and in llm.c's bf16 layout,
// with transformers' float64 logits and loss on one batch for the F32, BF16 and
// F16 weights. Each form must load and give those logits (1e-5 of the max
// |logit|, the model test's tolerance: 16-bit weights are exact in fp32, so the
// reference of a BF16 or F16 file is that model's own). Then: the llm.c bf16
// file holds exactly the F32 weights rounded to bf16 (as torch rounds them);
// gpt2cl's writers reproduce llm.c's bf16 file byte for byte and
// transformers' safetensors headers (names, shapes, dtypes) and bytes (BF16 and
// F16 rounded as torch rounds); F32 export then import is bit-exact.
//
// Usage: test_hf FIXTURE_DIR (tests/fixtures/hf)
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/forward.h"
#include "model/hf_config.h"
#include "model/hf_gpt2.h"
#include "model/safetensors.h"
#include "model/weights_file.h"
#include "model/workspace.h"
#include "runtime/ops.h"
#include "test_util.h"
#include "util/half.h"
#include "util/util.h"

static const char *dir;

static char *fixture(const char *name) {
    static char paths[8][1024];
    static int next = 0;
    char *p = paths[next++ % 8];
    snprintf(p, 1024, "%s/%s", dir, name);
    return p;
}

static unsigned char *slurp(const char *path, size_t *len) {
    char *text;
    MUST(read_user_file(path, "fixture", &text, len));
    return (unsigned char *)text;
}

typedef struct {
    int B, T;
    int *x, *y;
    double loss_f32, loss_bf16, loss_f16;
} Batch;

static Batch read_batch(void) {
    size_t len;
    char *text = (char *)slurp(fixture("reference.json"), &len);
    cJSON *j = cJSON_Parse(text);
    free(text);
    if (!j) die("cannot parse reference.json");
    Batch b = {.B = cJSON_GetObjectItem(j, "B")->valueint, .T = cJSON_GetObjectItem(j, "T")->valueint,
               .loss_f32 = cJSON_GetObjectItem(j, "loss_f32")->valuedouble,
               .loss_bf16 = cJSON_GetObjectItem(j, "loss_bf16")->valuedouble,
               .loss_f16 = cJSON_GetObjectItem(j, "loss_f16")->valuedouble};
    b.x = mallocCheck((size_t)b.B * b.T * sizeof(int));
    b.y = mallocCheck((size_t)b.B * b.T * sizeof(int));
    for (int i = 0; i < b.B * b.T; i++) {
        b.x[i] = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "x"), i)->valueint;
        b.y[i] = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "y"), i)->valueint;
    }
    cJSON_Delete(j);
    return b;
}

// Loads path as gpt2_load_checkpoint does for any command, runs the batch and compares with the reference.
static void check_logits(Device *dev, Ops *ops, const Batch *b, const char *path, const char *ref_name,
                         double ref_loss) {
    GPT2Config mc;
    MUST(checkpoint_read_config(path, &mc));
    EXPECT(mc.vocab_size == 101 && mc.padded_vocab_size == 128 && mc.num_layers == 2 && mc.num_heads == 4 &&
               mc.channels == 32 && mc.max_seq_len == 16,
           "%s: shape V=%d Vp=%d L=%d NH=%d C=%d T=%d", path, mc.vocab_size, mc.padded_vocab_size, mc.num_layers,
           mc.num_heads, mc.channels, mc.max_seq_len);
    GPT2 m;
    MUST(gpt2_create(&m, &mc, dev));
    Workspace ws;
    MUST(workspace_create(&ws, &m, b->B, b->T, WS_FORWARD));
    MUST(gpt2_load_checkpoint(&m, path));
    const int BT = b->B * b->T, V = mc.vocab_size, Vp = mc.padded_vocab_size;
    gpt2_set_batch(&ws, b->x, b->y);
    device_zero(dev, m.stats, 0, sizeof(float));
    gpt2_forward(&m, &ws, ops, 0.0f, 1.0f / BT);
    float *logits = mallocCheck((size_t)BT * Vp * sizeof(float)), loss;
    float *got = mallocCheck((size_t)BT * V * sizeof(float));
    device_read(dev, ws.acts.logits, 0, (size_t)BT * Vp * sizeof(float), logits);
    device_read(dev, m.stats, 0, sizeof loss, &loss);
    for (int i = 0; i < BT; i++) memcpy(got + (size_t)i * V, logits + (size_t)i * Vp, V * sizeof(float));
    size_t len;
    float *ref = (float *)slurp(fixture(ref_name), &len);
    EXPECT(len == (size_t)BT * V * sizeof(float), "%s: %zu bytes", ref_name, len);
    char what[160];
    snprintf(what, sizeof what, "logits of %s", path + strlen(dir) + 1);
    compare_rel_to_max(what, got, ref, (size_t)BT * V, 1e-5);
    double rel = fabs(loss - ref_loss) / ref_loss;
    printf("%-4s loss of %-26s %.7f vs %.7f rel %.1e (tol 1e-5)\n", rel <= 1e-5 ? "ok" : "FAIL",
           path + strlen(dir) + 1, loss, ref_loss, rel);
    EXPECT(rel <= 1e-5, "loss of %s", path);
    free(ref);
    free(got);
    free(logits);
    workspace_free(&ws);
    gpt2_free(&m);
}

static void expect_same(const char *what, const void *a, const void *b, size_t bytes) {
    int same = memcmp(a, b, bytes) == 0;
    printf("%-4s %s\n", same ? "ok" : "FAIL", what);
    EXPECT(same, "%s", what);
}

// The exported file's header equals transformers' (same names, dtypes, shapes) and so do the bytes of each tensor.
static void compare_headers(const unsigned char *mine, size_t size, const char *theirs_path) {
    SafeTensors a, b;
    MUST(safetensors_parse(mine, size, "exported", &a));
    MUST(safetensors_open(theirs_path, &b));
    int ok = a.count == b.count;
    for (int i = 0; ok && i < b.count; i++) {
        const SafeTensor *t = &b.tensors[i], *u = safetensors_find(&a, t->name);
        ok = u && !strcmp(u->dtype, t->dtype) && u->ndim == t->ndim &&
             !memcmp(u->shape, t->shape, sizeof(int64_t) * (size_t)t->ndim);
        if (ok) ok = !memcmp(u->data, t->data, t->count * (t->type == ST_F32 ? 4 : 2));
        if (!ok) printf("     differs at '%s'\n", t->name);
    }
    printf("%-4s export header and data = transformers' %s (%d tensors)\n", ok ? "ok" : "FAIL",
           theirs_path + strlen(dir) + 1, b.count);
    EXPECT(ok, "exported header differs from %s", theirs_path);
    safetensors_close(&a);
    safetensors_close(&b);
}

// Export (to a temporary folder) and import again.
static float *round_trip(const GPT2Config *c, const float *host, const char *dtype, const char *theirs) {
    unsigned char *bytes;
    size_t size;
    hf_model_serialize(c, host, dtype, &bytes, &size);
    compare_headers(bytes, size, fixture(theirs));
    char tmp[] = "/tmp/gpt2cl_test_hf_XXXXXX", path[256];
    if (!mkdtemp(tmp)) die("mkdtemp failed");
    snprintf(path, sizeof path, "%s/model.safetensors", tmp);
    MUST(write_file_atomic(path, bytes, size));
    char *json = hf_config_json(c, "float32");
    snprintf(path, sizeof path, "%s/config.json", tmp);
    MUST(write_file_atomic(path, json, strlen(json)));
    GPT2Config back;
    float *got;
    MUST(model_file_load(tmp, &back, &got));
    EXPECT(!memcmp(&back, c, sizeof back), "shape changed in the round trip");
    remove_tree(tmp);
    free(json);
    free(bytes);
    return got;
}

static void check_files(void) {
    GPT2Config c, cb, cv;
    float *f32, *bf, *v5;
    MUST(model_file_load(fixture("f32"), &c, &f32));
    MUST(model_file_load(fixture("bf16"), &cb, &bf));
    MUST(model_file_load(fixture("llmc_bf16.bin"), &cv, &v5));
    size_t n = gpt2_param_count(&c);
    EXPECT(!memcmp(&c, &cb, sizeof c) && !memcmp(&c, &cv, sizeof c), "the fixtures' shapes differ");
    expect_same("llm.c bf16 file = transformers' BF16 weights", v5, bf, n * sizeof(float));
    float *rounded = mallocCheck(n * sizeof(float));
    for (size_t i = 0; i < n; i++) rounded[i] = bf16_to_f32(f32_to_bf16(f32[i]));
    expect_same("llm.c bf16 file = F32 weights rounded to nearest even", v5, rounded, n * sizeof(float));

    // llm.c writers: bf16 byte-identical to the fixture, fp32 read back bit-exact.
    char tmp[] = "/tmp/gpt2cl_test_llmc_XXXXXX", path[256];
    if (!mkdtemp(tmp)) die("mkdtemp failed");
    snprintf(path, sizeof path, "%s/m.bin", tmp);
    MUST(llmc_file_write(path, &c, f32, 1));
    size_t la, lb;
    unsigned char *a = slurp(path, &la), *b = slurp(fixture("llmc_bf16.bin"), &lb);
    EXPECT(la == lb, "llm.c bf16 file of %zu bytes, fixture %zu", la, lb);
    expect_same("llmc_file_write bf16 = the fixture's bytes", a, b, la < lb ? la : lb);
    free(a);
    free(b);
    MUST(llmc_file_write(path, &c, f32, 0));
    GPT2Config c3;
    float *back;
    MUST(model_file_load(path, &c3, &back));
    expect_same("llm.c fp32 write + read is bit-exact", back, f32, n * sizeof(float));
    free(back);
    remove_tree(tmp);

    float *r32 = round_trip(&c, f32, "F32", "f32/model.safetensors");
    expect_same("HF F32 export + import is bit-exact", r32, f32, n * sizeof(float));
    float *r16 = round_trip(&c, f32, "BF16", "bf16/model.safetensors");
    expect_same("HF BF16 export = transformers' BF16 weights", r16, bf, n * sizeof(float));
    GPT2Config ch;
    float *half;
    MUST(model_file_load(fixture("f16"), &ch, &half));
    float *rh = round_trip(&c, f32, "F16", "f16/model.safetensors");
    expect_same("HF F16 export = transformers' F16 weights", rh, half, n * sizeof(float));
    free(rh);
    free(half);
    free(r32);
    free(r16);
    free(rounded);
    free(f32);
    free(bf);
    free(v5);
}

int main(int argc, char **argv) {
    dir = argc > 1 ? argv[1] : "tests/fixtures/hf";
    Batch b = read_batch();
    Device dev;
    open_test_device(&dev, 0);
    Ops ops;
    MUST(ops_init(&ops, &dev, &(Tuned){.kp = kernel_params_default(&dev)}));
    check_logits(&dev, &ops, &b, fixture("f32"), "logits_f32.bin", b.loss_f32);
    check_logits(&dev, &ops, &b, fixture("f32/model.safetensors"), "logits_f32.bin", b.loss_f32);
    check_logits(&dev, &ops, &b, fixture("sharded"), "logits_bf16.bin", b.loss_bf16);
    check_logits(&dev, &ops, &b, fixture("bf16"), "logits_bf16.bin", b.loss_bf16);
    check_logits(&dev, &ops, &b, fixture("llmc_bf16.bin"), "logits_bf16.bin", b.loss_bf16);
    check_logits(&dev, &ops, &b, fixture("f16"), "logits_f16.bin", b.loss_f16);
    check_files();
    ops_free(&ops);
    device_close(&dev);
    free(b.x);
    free(b.y);
    return test_summary("test_hf");
}
