// The classification head against Hugging Face's GPT2ForSequenceClassification:
// tests/make_classify_fixtures.py ran it in float64 on the tiny model's weights
// with a 3-label score matrix over a right-padded batch (last non-pad token).
// Same tolerances as test_model: logits 1e-5 relative to the max |logit|,
// loss 1e-5 relative, gradients (head and every transformer tensor) 1e-4
// relative to each tensor's max.
//
// Usage: test_classify [FIXTURE_DIR]
#include <string.h>

#include "model/classifier.h"
#include "model/forward.h"
#include "model/model.h"
#include "model/weights_file.h"
#include "runtime/ops.h"
#include "test_util.h"
#include "util/util.h"

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "tests/fixtures/tiny";
    char path[1024];
    snprintf(path, sizeof path, "%s/classify.bin", dir);
    FILE *f = fopenCheck(path, "rb");
    int32_t h[256];
    freadCheck(h, sizeof(int32_t), 256, f, path);
    if (h[0] != 20261202 || h[1] != 1) die("%s: bad header", path);
    const int B = h[2], T = h[3], K = h[4];

    Device dev;
    open_test_device(&dev, 0);
    Ops ops;
    MUST(ops_init(&ops, &dev, NULL));
    GPT2Config mc;
    snprintf(path, sizeof path, "%s/model.bin", dir);
    MUST(checkpoint_read_config(path, &mc));
    GPT2 m;
    MUST(gpt2_create(&m, &mc, &dev));
    MUST(gpt2_load_checkpoint(&m, path));
    Workspace ws;
    MUST(workspace_create(&ws, &m, B, T, WS_TRAIN));
    const int C = mc.channels;
    ClassHead head;
    MUST(head_create(&head, &dev, K, C, B));

    const size_t np = m.num_parameters, KC = (size_t)K * C;
    int *x = mallocCheck((size_t)B * T * sizeof(int)), *last = mallocCheck(B * sizeof(int)),
        *labels = mallocCheck(B * sizeof(int));
    float *W = mallocCheck(KC * sizeof(float)), *ref_logits = mallocCheck((size_t)B * K * sizeof(float)), ref_loss;
    float *ref_dW = mallocCheck(KC * sizeof(float)), *ref_grads = mallocCheck(np * sizeof(float));
    freadCheck(x, sizeof(int), (size_t)B * T, f, "x");
    freadCheck(last, sizeof(int), B, f, "last");
    freadCheck(labels, sizeof(int), B, f, "labels");
    freadCheck(W, sizeof(float), KC, f, "W");
    freadCheck(ref_logits, sizeof(float), (size_t)B * K, f, "logits");
    freadCheck(&ref_loss, sizeof(float), 1, f, "loss");
    freadCheck(ref_dW, sizeof(float), KC, f, "dW");
    freadCheck(ref_grads, sizeof(float), np, f, "grads");
    fclose(f);
    device_write(&dev, head.weight, 0, KC * sizeof(float), W);

    // 1. forward only: logits and the mean loss
    gpt2_set_batch(&ws, x, NULL);
    head_set_batch(&head, last, labels);
    device_zero(&dev, m.stats, 0, sizeof(float));
    gpt2_forward_trunk(&m, &ws, &ops, NULL, 0);
    head_forward(&head, &m, &ws, &ops, 0.0f, 1.0f / B);
    float *logits = mallocCheck((size_t)B * K * sizeof(float)), loss;
    device_read(&dev, head.logits, 0, (size_t)B * K * sizeof(float), logits);
    device_read(&dev, m.stats, 0, sizeof loss, &loss);
    compare_rel_to_max("logits (B,K)", logits, ref_logits, (size_t)B * K, 1e-5);
    double loss_rel = fabs(loss - ref_loss) / fabs(ref_loss);
    printf("%-4s %-34s %.7f vs %.7f, rel %.2e (tol 1e-5)\n", loss_rel <= 1e-5 ? "ok" : "FAIL", "loss", loss, ref_loss,
           loss_rel);
    EXPECT(loss_rel <= 1e-5, "loss %.8f vs reference %.8f", loss, ref_loss);

    // 2. forward + backward: the head's gradient and every transformer gradient
    device_zero(&dev, m.grads.parent, 0, m.padded_elems * sizeof(float));
    gpt2_forward_trunk(&m, &ws, &ops, NULL, 0);
    head_forward(&head, &m, &ws, &ops, 1.0f / B, 1.0f / B);
    head_backward(&head, &m, &ws, &ops);
    float *dW = mallocCheck(KC * sizeof(float)), *grads = mallocCheck(np * sizeof(float));
    device_read(&dev, head.grad, 0, KC * sizeof(float), dW);
    compare_rel_to_max("grad score.weight (K,C)", dW, ref_dW, KC, 1e-4);
    gpt2_download(&m, m.grads.parent, grads);
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) {
        const ParamTensor *t = &m.tensors[i];
        char what[64];
        snprintf(what, sizeof what, "grad %s", param_tensor_names[i]);
        compare_rel_to_max(what, grads + t->llmc_offset, ref_grads + t->llmc_offset,
                           t->slice_elems * (size_t)t->num_slices, 1e-4);
    }

    head_free(&head);
    workspace_free(&ws);
    gpt2_free(&m);
    ops_free(&ops);
    MUST(device_status(&dev));
    device_close(&dev);
    free(x); free(last); free(labels); free(W); free(ref_logits); free(ref_dW); free(ref_grads); free(logits);
    free(dW); free(grads);
    return test_summary("test_classify");
}
