// libFuzzer target: the safetensors reader (model/safetensors.c) and the
// config.json reader (model/hf_config.c) on arbitrary bytes. An accepted file's
// tensors must lie inside the input, one after the other without overlap, with
// byte counts that match their shapes; converting them must stay inside too.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/hf_config.h"
#include "model/safetensors.h"

static void check_tensors(const SafeTensors *st, const uint8_t *data, size_t size) {
    for (int i = 0; i < st->count; i++) {
        const SafeTensor *t = &st->tensors[i];
        size_t es = t->type == ST_F32 ? 4 : t->type == ST_OTHER ? 1 : 2;
        if (t->data < data + 8 || t->data > data + size || t->count * es > (size_t)(data + size - t->data)) abort();
        if (i > 0 && st->tensors[i - 1].data > t->data) abort();  // sorted by position
        if (t->type != ST_OTHER && t->count <= (1u << 20)) {
            float *out = malloc(t->count * sizeof(float) + 1);
            if (!out) abort();
            safetensor_to_f32(t, out);
            free(out);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    SafeTensors st;
    if (!safetensors_parse(data, size, "fuzz", &st)) check_tensors(&st, data, size);
    safetensors_close(&st);
    GPT2Config c;
    if (!hf_config_parse((const char *)data, size, "fuzz", &c) &&
        (c.num_layers < 1 || c.num_heads < 1 || c.channels < 1 || c.max_seq_len < 1 || c.vocab_size < 1))
        abort();
    return 0;
}
