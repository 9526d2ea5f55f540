// Supervised fine-tuning's masked loss and freezing against PyTorch: tests/make_sft_fixtures.py
// computed, in float64 on tests/fixtures/tiny's model and batch, the loss over the unmasked
// targets only (the others are -1, as the data loader writes them for task = sft), every
// parameter gradient, and the losses of AdamW steps with layer 0, wte and wpe frozen.
// Checks: the loss (1e-5 relative) and the gradients (1e-4 relative to each tensor's max), the
// masked rows' dlogits exactly 0; with the freeze, the trained tensors' gradients still match and
// the frozen ones are 0 (their backward is skipped), the step losses match (1e-4), the frozen
// slices are bit-identical after training and have no optimizer state, the others changed.
//
// Usage: test_sft FIXTURE_DIR (tests/fixtures, holding tiny/ and sft/).
#include <cjson/cJSON.h>
#include <string.h>

#include "model/forward.h"
#include "model/freeze.h"
#include "model/model.h"
#include "model/optimizer.h"
#include "model/weights_file.h"
#include "runtime/ops.h"
#include "test_util.h"
#include "util/util.h"

static double json_num(const cJSON *j, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!cJSON_IsNumber(v)) die("fixture.json: missing number '%s'", key);
    return v->valuedouble;
}

typedef struct {
    int B, T, nsteps, count;
    int *x, *y;
    float loss, *grads, *losses;
} Fixture;

static void read_fixture(const char *dir, size_t np, Fixture *fx) {
    char path[1024];
    snprintf(path, sizeof path, "%s/sft/state.bin", dir);
    FILE *f = fopenCheck(path, "rb");
    int32_t h[256];
    freadCheck(h, sizeof(int32_t), 256, f, path);
    if (h[0] != 20240601 || h[1] != 1) die("%s: bad header", path);
    fx->B = h[2], fx->T = h[3], fx->nsteps = h[4];
    const size_t BT = (size_t)fx->B * fx->T;
    fx->x = mallocCheck(BT * sizeof(int)), fx->y = mallocCheck(BT * sizeof(int));
    fx->grads = mallocCheck(np * sizeof(float)), fx->losses = mallocCheck((size_t)fx->nsteps * sizeof(float));
    freadCheck(fx->x, sizeof(int), BT, f, "x");
    freadCheck(fx->y, sizeof(int), BT, f, "y");
    freadCheck(&fx->loss, sizeof(float), 1, f, "loss");
    freadCheck(fx->grads, sizeof(float), np, f, "grads");
    freadCheck(fx->losses, sizeof(float), (size_t)fx->nsteps, f, "losses");
    fclose(f);
    fx->count = 0;
    for (size_t i = 0; i < BT; i++) fx->count += fx->y[i] >= 0;
}

// Forward (+ backward when train) of the fixture batch with the masked mean; returns the loss.
static float masked_pass(GPT2 *m, Workspace *ws, Ops *o, const Fixture *fx, int train) {
    const float scale = 1.0f / (float)fx->count;
    device_zero(m->dev, m->grads.parent, 0, m->padded_elems * sizeof(float));
    device_zero(m->dev, m->stats, 0, sizeof(float));
    gpt2_forward(m, ws, o, train ? scale : 0.0f, scale);
    if (train) gpt2_backward(m, ws, o);
    float loss;
    device_read(m->dev, m->stats, 0, sizeof loss, &loss);
    return loss;
}

// Every tensor's gradient vs the reference; frozen slices must be exactly 0.
static void check_grads(GPT2 *m, const Fixture *fx, const char *label) {
    float *grads = mallocCheck(m->num_parameters * sizeof(float));
    gpt2_download(m, m->grads.parent, grads);
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) {
        const ParamTensor *t = &m->tensors[i];
        for (int l = 0; l < t->num_slices; l++) {
            const size_t off = t->llmc_offset + (size_t)l * t->slice_elems;
            char what[96];
            snprintf(what, sizeof what, "%s grad %s[%d]", label, param_tensor_names[i], l);
            if (!t->frozen[l]) {
                compare_rel_to_max(what, grads + off, fx->grads + off, t->slice_elems, 1e-4);
                continue;
            }
            size_t nonzero = 0;
            for (size_t k = 0; k < t->slice_elems; k++) nonzero += grads[off + k] != 0.0f;
            EXPECT(nonzero == 0, "%s: frozen, but %zu entries are not 0", what, nonzero);
        }
    }
    free(grads);
}

// AdamW steps with the fixture's freeze: losses vs the reference, frozen slices bit-identical
// and without optimizer state, trained slices changed.
static void check_frozen_training(GPT2 *m, Workspace *ws, Ops *o, const Fixture *fx, const cJSON *js) {
    OptimizerHyper hyper = {.beta1 = json_num(js, "beta1"), .beta2 = json_num(js, "beta2"), .eps = json_num(js, "eps"),
                            .weight_decay = json_num(js, "weight_decay"), .grad_clip = json_num(js, "grad_clip")};
    Optimizer opt;
    MUST(optimizer_create(&opt, optimizer_find("adamw"), &hyper, m));
    const size_t np = m->num_parameters, pe = m->padded_elems;
    float *before = mallocCheck(np * sizeof(float)), *after = mallocCheck(np * sizeof(float));
    gpt2_download(m, m->params.parent, before);
    int ok = 1;
    for (int s = 1; s <= fx->nsteps; s++) {
        float loss = masked_pass(m, ws, o, fx, 1);
        gpt2_zero_frozen_grads(m);
        optimizer_step(&opt, m, o, s, (float)json_num(js, "lr"));
        double rel = fabs(loss - fx->losses[s - 1]) / fabs(fx->losses[s - 1]);
        printf("%-4s frozen step %d masked loss %.7f vs %.7f rel %.2e (tol 1e-4)\n", rel <= 1e-4 ? "ok" : "FAIL", s,
               loss, fx->losses[s - 1], rel);
        ok &= rel <= 1e-4;
    }
    EXPECT(ok, "frozen AdamW step losses differ from the reference");
    gpt2_download(m, m->params.parent, after);
    float *state = mallocCheck(pe * sizeof(float));
    device_read(m->dev, opt.state[0], 0, pe * sizeof(float), state);
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) {
        const ParamTensor *t = &m->tensors[i];
        for (int l = 0; l < t->num_slices; l++) {
            const size_t off = t->llmc_offset + (size_t)l * t->slice_elems;
            const int same = memcmp(before + off, after + off, t->slice_elems * sizeof(float)) == 0;
            size_t moment = 0;
            for (size_t k = 0; k < t->slice_elems; k++) moment += state[t->offset[l] + k] != 0.0f;
            EXPECT(same == t->frozen[l], "%s[%d]: %s", param_tensor_names[i], l,
                   t->frozen[l] ? "frozen but changed" : "trained but unchanged");
            EXPECT(!t->frozen[l] || moment == 0, "%s[%d]: frozen but has %zu optimizer moments", param_tensor_names[i],
                   l, moment);
        }
    }
    printf("ok   frozen slices bit-identical with no optimizer state, trained slices changed\n");
    free(state);
    free(before);
    free(after);
    optimizer_free(&opt);
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "tests/fixtures";
    char path[1024];
    snprintf(path, sizeof path, "%s/sft/fixture.json", dir);
    char *json_text = read_file(path, NULL);
    cJSON *js = cJSON_Parse(json_text);
    if (!js) die("cannot parse %s", path);
    Device dev;
    open_test_device(&dev, 0);
    Ops ops;
    MUST(ops_init(&ops, &dev, &(Tuned){.kp = kernel_params_default(&dev)}));
    snprintf(path, sizeof path, "%s/tiny/model.bin", dir);
    GPT2Config mc;
    MUST(checkpoint_read_config(path, &mc));
    GPT2 m;
    MUST(gpt2_create(&m, &mc, &dev));
    MUST(gpt2_load_checkpoint(&m, path));
    Fixture fx;
    read_fixture(dir, m.num_parameters, &fx);
    Workspace ws;
    MUST(workspace_create(&ws, &m, fx.B, fx.T, WS_TRAIN));
    gpt2_set_batch(&ws, fx.x, fx.y);

    // 1. the masked loss: the mean over the unmasked targets
    float loss = masked_pass(&m, &ws, &ops, &fx, 0);
    double rel = fabs(loss - fx.loss) / fabs(fx.loss);
    printf("%-4s masked loss over %d targets %.7f vs %.7f, rel %.2e (tol 1e-5)\n", rel <= 1e-5 ? "ok" : "FAIL",
           fx.count, loss, fx.loss, rel);
    EXPECT(rel <= 1e-5, "masked loss %.8f vs reference %.8f", loss, fx.loss);

    // 2. its gradient; the masked positions' dlogits rows are exactly 0 (they contribute nothing)
    masked_pass(&m, &ws, &ops, &fx, 1);
    const size_t BT = (size_t)fx.B * fx.T, Vp = (size_t)mc.padded_vocab_size;
    float *dlogits = mallocCheck(BT * Vp * sizeof(float));
    device_read(&dev, ws.acts.logits, 0, BT * Vp * sizeof(float), dlogits);
    size_t nonzero = 0;
    for (size_t i = 0; i < BT; i++)
        for (size_t j = 0; fx.y[i] < 0 && j < Vp; j++) nonzero += dlogits[i * Vp + j] != 0.0f;
    EXPECT(nonzero == 0, "%zu dlogits of masked positions are not 0", nonzero);
    check_grads(&m, &fx, "masked");

    // 3. the same with the fixture's freeze: trained gradients unchanged, frozen ones not computed
    const cJSON *freeze = cJSON_GetObjectItemCaseSensitive(js, "freeze");
    if (!cJSON_IsString(freeze)) die("fixture.json: no freeze");
    MUST(gpt2_freeze(&m, freeze->valuestring, 0));
    EXPECT(gpt2_backward_floor(&m) == 1, "backward floor %d, expected 1", gpt2_backward_floor(&m));
    masked_pass(&m, &ws, &ops, &fx, 1);
    gpt2_zero_frozen_grads(&m);
    check_grads(&m, &fx, "frozen");
    check_frozen_training(&m, &ws, &ops, &fx, js);

    workspace_free(&ws);
    gpt2_free(&m);
    ops_free(&ops);
    MUST(device_status(&dev));
    device_close(&dev);
    free(fx.x), free(fx.y), free(fx.grads), free(fx.losses), free(dlogits), free(json_text);
    cJSON_Delete(js);
    return test_summary("test_sft");
}
