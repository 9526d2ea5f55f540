#include "model/model.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/rng.h"
#include "util/util.h"

const char *const param_tensor_names[NUM_PARAM_TENSORS] = {
    "wte", "wpe", "ln1w", "ln1b", "qkvw", "qkvb", "attprojw", "attprojb",
    "ln2w", "ln2b", "fcw", "fcb", "fcprojw", "fcprojb", "lnfw", "lnfb"};

Status gpt2_config_check(GPT2Config *c) {
    if (c->padded_vocab_size == 0) c->padded_vocab_size = (c->vocab_size + 127) / 128 * 128;
    if (c->num_layers < 1 || c->num_heads < 1 || c->channels < 1 || c->max_seq_len < 1 || c->vocab_size < 1)
        return fail(STATUS_INPUT,
                    "model shape must be positive: n_layer=%d n_head=%d n_embd=%d block_size=%d vocab_size=%d",
                    c->num_layers, c->num_heads, c->channels, c->max_seq_len, c->vocab_size);
    if (c->channels % c->num_heads != 0)
        return fail(STATUS_INPUT, "n_embd (%d) must be divisible by n_head (%d)", c->channels, c->num_heads);
    if (c->padded_vocab_size < c->vocab_size)
        return fail(STATUS_INPUT, "padded vocabulary (%d) is smaller than the vocabulary (%d)", c->padded_vocab_size,
                    c->vocab_size);
    // Sizes are int in the kernels: keep every activation below 2^31 elements.
    if ((double)c->max_seq_len * c->padded_vocab_size > 2e9 || (double)c->channels * c->padded_vocab_size > 2e9)
        return fail(STATUS_INPUT, "model too large for 32-bit indexing (block_size %d, n_embd %d, padded vocab %d)",
                    c->max_seq_len, c->channels, c->padded_vocab_size);
    return STATUS_OK;
}

// Shapes of one slice (rows x cols) of each tensor.
static void tensor_shapes(const GPT2Config *c, size_t rows[], size_t cols[], int slices[]) {
    size_t C = (size_t)c->channels, Vp = (size_t)c->padded_vocab_size, T = (size_t)c->max_seq_len;
    int L = c->num_layers;
    size_t r[NUM_PARAM_TENSORS][2] = {
        {Vp, C}, {T, C}, {C, 1}, {C, 1}, {3 * C, C}, {3 * C, 1}, {C, C}, {C, 1},
        {C, 1}, {C, 1}, {4 * C, C}, {4 * C, 1}, {C, 4 * C}, {C, 1}, {C, 1}, {C, 1}};
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) {
        rows[i] = r[i][0];
        cols[i] = r[i][1];
        slices[i] = (i == P_WTE || i == P_WPE || i == P_LNFW || i == P_LNFB) ? 1 : L;
    }
}

size_t gpt2_param_count(const GPT2Config *c) {
    size_t rows[NUM_PARAM_TENSORS], cols[NUM_PARAM_TENSORS], n = 0;
    int slices[NUM_PARAM_TENSORS];
    tensor_shapes(c, rows, cols, slices);
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) n += rows[i] * cols[i] * (size_t)slices[i];
    return n;
}

void gpt2_tensor_shapes(const GPT2Config *c, TensorShape shapes[NUM_PARAM_TENSORS]) {
    size_t rows[NUM_PARAM_TENSORS], cols[NUM_PARAM_TENSORS], off = 0;
    int slices[NUM_PARAM_TENSORS];
    tensor_shapes(c, rows, cols, slices);
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) {
        shapes[i] = (TensorShape){.rows = rows[i], .cols = cols[i], .slices = slices[i], .llmc_offset = off};
        off += rows[i] * cols[i] * (size_t)slices[i];
    }
}

static size_t align_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

static void build_layout(GPT2 *m) {
    size_t rows[NUM_PARAM_TENSORS], cols[NUM_PARAM_TENSORS];
    int slices[NUM_PARAM_TENSORS];
    tensor_shapes(&m->config, rows, cols, slices);
    size_t align = m->dev->base_align_bytes / sizeof(float);
    size_t llmc = 0, off = 0;
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) {
        ParamTensor *t = &m->tensors[i];
        t->num_slices = slices[i];
        t->rows = rows[i];
        t->cols = cols[i];
        t->slice_elems = rows[i] * cols[i];
        t->is_matrix = cols[i] > 1;
        t->llmc_offset = llmc;
        t->offset = mallocCheck((size_t)slices[i] * sizeof(size_t));
        t->frozen = callocCheck((size_t)slices[i], 1);
        for (int l = 0; l < slices[i]; l++) {
            t->offset[l] = off;
            off = align_up(off + t->slice_elems, align);
        }
        llmc += t->slice_elems * (size_t)slices[i];
    }
    m->num_parameters = llmc;
    m->padded_elems = off;
}

static Status param_buffer_create(GPT2 *m, ParamBuffer *pb, const char *what) {
    TRY(device_alloc(m->dev, m->padded_elems * sizeof(float), what, &pb->parent));
    device_zero(m->dev, pb->parent, 0, m->padded_elems * sizeof(float));  // alignment gaps stay 0 forever
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) {
        ParamTensor *t = &m->tensors[i];
        pb->slices[i] = mallocCheck((size_t)t->num_slices * sizeof(cl_mem));
        for (int l = 0; l < t->num_slices; l++)
            pb->slices[i][l] =
                device_sub_buffer(m->dev, pb->parent, t->offset[l] * sizeof(float), t->slice_elems * sizeof(float));
    }
    return STATUS_OK;
}

static void param_buffer_free(GPT2 *m, ParamBuffer *pb) {
    if (!pb->parent) return;
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) {
        for (int l = 0; l < m->tensors[i].num_slices; l++) CL_CHECK(clReleaseMemObject(pb->slices[i][l]));
        free(pb->slices[i]);
    }
    CL_CHECK(clReleaseMemObject(pb->parent));
}

// The device buffers of gpt2_create (layout built); stops at the first that fails.
static Status gpt2_buffers(GPT2 *m) {
    TRY(param_buffer_create(m, &m->params, "parameters"));
    TRY(param_buffer_create(m, &m->grads, "gradients"));
    TRY(device_alloc(m->dev, 4 * sizeof(float), "step statistics", &m->stats));
    device_zero(m->dev, m->stats, 0, 4 * sizeof(float));
    TRY(device_alloc(m->dev, NORM_GROUPS_MAX * sizeof(float), "gradient-norm partial sums", &m->norm_partials));
    return device_status(m->dev);
}

Status gpt2_create(GPT2 *m, const GPT2Config *config, const Device *dev) {
    memset(m, 0, sizeof *m);
    m->config = *config;
    m->dev = dev;
    build_layout(m);
    Status s = gpt2_buffers(m);
    if (s) gpt2_free(m);
    return s;
}

static void release(cl_mem *b) {
    if (*b) CL_CHECK(clReleaseMemObject(*b));
    *b = NULL;
}

void gpt2_free(GPT2 *m) {
    release(&m->stats);
    release(&m->norm_partials);
    param_buffer_free(m, &m->params);
    param_buffer_free(m, &m->grads);
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) {
        free(m->tensors[i].offset);
        free(m->tensors[i].frozen);
    }
    memset(m, 0, sizeof *m);
}

void gpt2_upload(GPT2 *m, cl_mem parent, const float *host) {
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) {
        const ParamTensor *t = &m->tensors[i];
        for (int l = 0; l < t->num_slices; l++)
            device_write(m->dev, parent, t->offset[l] * sizeof(float), t->slice_elems * sizeof(float),
                         host + t->llmc_offset + (size_t)l * t->slice_elems);
    }
}

void gpt2_download(GPT2 *m, cl_mem parent, float *host) {
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) {
        const ParamTensor *t = &m->tensors[i];
        for (int l = 0; l < t->num_slices; l++)
            device_read(m->dev, parent, t->offset[l] * sizeof(float), t->slice_elems * sizeof(float),
                        host + t->llmc_offset + (size_t)l * t->slice_elems);
    }
}

void gpt2_init_random(GPT2 *m, uint64_t seed) {
    Rng rng;
    rng_seed(&rng, seed);
    float *host = callocCheck(m->num_parameters, sizeof(float));
    const GPT2Config *c = &m->config;
    const float residual_std = 0.02f / sqrtf(2.0f * (float)c->num_layers);
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) {
        const ParamTensor *t = &m->tensors[i];
        float *p = host + t->llmc_offset;
        size_t n = t->slice_elems * (size_t)t->num_slices;
        if (i == P_LN1W || i == P_LN2W || i == P_LNFW) {
            for (size_t j = 0; j < n; j++) p[j] = 1.0f;
        } else if (t->is_matrix) {
            float std = (i == P_ATTPROJW || i == P_FCPROJW) ? residual_std : 0.02f;
            // wte rows past the real vocabulary stay 0: they are padding, never used.
            if (i == P_WTE) n = (size_t)c->vocab_size * t->cols;
            for (size_t j = 0; j < n; j++) p[j] = rng_normal(&rng, 0.0f, std);
        }  // biases stay 0
    }
    gpt2_upload(m, m->params.parent, host);
    free(host);
}
