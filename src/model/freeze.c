#include "model/freeze.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/parse_num.h"
#include "util/util.h"

static int is_layer_tensor(int t) { return t >= P_LN1W && t <= P_FCPROJB; }

static void mark_tensor(unsigned char *frozen, int L, int t) {
    for (int l = 0; l < (is_layer_tensor(t) ? L : 1); l++) frozen[t * L + l] = 1;
}

// layers:A-B or layers:A (text after "layers:").
static Status parse_layers(const char *item, const char *range, int L, unsigned char *frozen) {
    char a[32], b[32], why[300];
    const char *dash = strchr(range, '-');
    size_t na = dash ? (size_t)(dash - range) : strlen(range);
    if (na == 0 || na >= sizeof a || (dash && strlen(dash + 1) >= sizeof b))
        return fail(STATUS_INPUT, "freeze: '%s' is not layers:A-B or layers:A", item);
    memcpy(a, range, na);
    a[na] = '\0';
    snprintf(b, sizeof b, "%s", dash ? dash + 1 : a);
    long long lo, hi;
    if (!parse_integer(a, 0, 1 << 30, &lo, why, sizeof why) || !parse_integer(b, 0, 1 << 30, &hi, why, sizeof why))
        return fail(STATUS_INPUT, "freeze: '%s' is not layers:A-B or layers:A with block numbers from 0", item);
    if (lo > hi) return fail(STATUS_INPUT, "freeze: '%s' is an empty range (A > B)", item);
    if (hi >= L)
        return fail(STATUS_INPUT, "freeze: '%s' is outside the model's %d layers (0-%d)", item, L, L - 1);
    for (int t = 0; t < NUM_PARAM_TENSORS; t++)
        if (is_layer_tensor(t))
            for (int l = (int)lo; l <= (int)hi; l++) frozen[t * L + l] = 1;
    return STATUS_OK;
}

static Status parse_item(const char *item, int L, int head, unsigned char *frozen) {
    if (strcmp(item, "embeddings") == 0) mark_tensor(frozen, L, P_WTE);
    else if (strcmp(item, "positions") == 0) mark_tensor(frozen, L, P_WPE);
    else if (strncmp(item, "layers:", 7) == 0) return parse_layers(item, item + 7, L, frozen);
    else if (strcmp(item, "all_but_head") == 0) {
        for (int t = 0; t < NUM_PARAM_TENSORS; t++)
            if (head || (t != P_LNFW && t != P_LNFB)) mark_tensor(frozen, L, t);
    } else {
        for (int t = 0; t < NUM_PARAM_TENSORS; t++)
            if (strcmp(item, param_tensor_names[t]) == 0) {
                mark_tensor(frozen, L, t);
                return STATUS_OK;
            }
        return fail(STATUS_INPUT,
                    "freeze: unknown item '%s' (embeddings, positions, layers:A-B, all_but_head or a tensor name "
                    "such as qkvw)",
                    item);
    }
    return STATUS_OK;
}

Status freeze_parse(const char *spec, int L, int head, unsigned char *frozen) {
    memset(frozen, 0, (size_t)NUM_PARAM_TENSORS * (size_t)L);
    if (!spec[0]) return STATUS_OK;
    char *copy = strdup_check(spec);
    int items = 0;
    Status s = STATUS_OK;
    for (char *save = NULL, *item = strtok_r(copy, ", \t", &save); item && !s; item = strtok_r(NULL, ", \t", &save)) {
        items++;
        s = parse_item(item, L, head, frozen);
    }
    free(copy);
    if (s) return s;
    if (items == 0) return fail(STATUS_INPUT, "freeze: '%s' names nothing to freeze", spec);
    size_t trained = 0;
    for (int t = 0; t < NUM_PARAM_TENSORS; t++)
        for (int l = 0; l < (is_layer_tensor(t) ? L : 1); l++) trained += !frozen[t * L + l];
    if (trained == 0 && !head) return fail(STATUS_INPUT, "freeze: '%s' freezes every parameter, leaving nothing to train", spec);
    return STATUS_OK;
}

Status gpt2_freeze(GPT2 *m, const char *spec, int head) {
    const int L = m->config.num_layers;
    unsigned char *frozen = mallocCheck((size_t)NUM_PARAM_TENSORS * (size_t)L);
    Status s = freeze_parse(spec, L, head, frozen);
    for (int t = 0; t < NUM_PARAM_TENSORS && !s; t++)
        for (int l = 0; l < m->tensors[t].num_slices; l++) m->tensors[t].frozen[l] = frozen[t * L + l];
    free(frozen);
    return s;
}

size_t gpt2_frozen_params(const GPT2 *m) {
    size_t n = 0;
    for (int t = 0; t < NUM_PARAM_TENSORS; t++)
        for (int l = 0; l < m->tensors[t].num_slices; l++)
            if (m->tensors[t].frozen[l]) n += m->tensors[t].slice_elems;
    return n;
}

int gpt2_backward_floor(const GPT2 *m) {
    if (!m->tensors[P_WTE].frozen[0] || !m->tensors[P_WPE].frozen[0]) return 0;
    for (int l = 0; l < m->config.num_layers; l++)
        for (int t = 0; t < NUM_PARAM_TENSORS; t++)
            if (is_layer_tensor(t) && !m->tensors[t].frozen[l]) return l;
    return m->config.num_layers;
}

cl_mem gpt2_grad_or_null(const GPT2 *m, int t, int l) {
    return m->tensors[t].frozen[l] ? NULL : m->grads.slices[t][l];
}

void gpt2_zero_frozen_grads(GPT2 *m) {
    for (int t = 0; t < NUM_PARAM_TENSORS; t++) {
        const ParamTensor *pt = &m->tensors[t];
        for (int l = 0; l < pt->num_slices; l++)
            if (pt->frozen[l])
                device_zero(m->dev, m->grads.parent, pt->offset[l] * sizeof(float), pt->slice_elems * sizeof(float));
    }
}

int tensor_next_run(const ParamTensor *pt, int *l, size_t *first, size_t *n) {
    int a = *l;
    while (a < pt->num_slices && pt->frozen[a]) a++;
    if (a >= pt->num_slices) return 0;
    int b = a;
    while (b + 1 < pt->num_slices && !pt->frozen[b + 1]) b++;
    *first = pt->offset[a];
    *n = pt->offset[b] + pt->slice_elems - *first;
    *l = b + 1;
    return 1;
}
