// Layer model (src/model/): the network on the device: this model (parameters and gradients), its
// workspaces, weight files, the forward and backward passes, the optimizers, update-size
// measurements, sampling and generation. It uses runtime, text and util.
//
// GPT-2 on the device: shapes, parameter layout (llm.c order), parameters and
// gradients, random initialisation and the llm.c checkpoint format. The
// buffers of a batch shape are a Workspace (model/workspace.h).
#pragma once
#include <stdint.h>

#include "runtime/cl_device.h"
#include "runtime/ops.h"

typedef struct {
    int max_seq_len;        // block_size: maxT
    int vocab_size;         // V, e.g. 50257
    int padded_vocab_size;  // Vp, e.g. 50304 (multiple of 128 for fast GEMMs)
    int num_layers;         // L
    int num_heads;          // NH
    int channels;           // C
} GPT2Config;

// The 16 parameter tensors, in llm.c's order.
enum {
    P_WTE, P_WPE, P_LN1W, P_LN1B, P_QKVW, P_QKVB, P_ATTPROJW, P_ATTPROJB,
    P_LN2W, P_LN2B, P_FCW, P_FCB, P_FCPROJW, P_FCPROJB, P_LNFW, P_LNFB,
    NUM_PARAM_TENSORS
};
extern const char *const param_tensor_names[NUM_PARAM_TENSORS];

// A tensor of the parameter set as the device holds it: one slice per layer
// (or one slice for wte, wpe, lnf), each slice starting at an aligned offset of
// one parent buffer and exposed as its own sub-buffer, because CLBlast copies
// any matrix passed with a non-zero offset.
typedef struct {
    int num_slices;        // L or 1
    size_t slice_elems;    // elements per slice
    size_t rows, cols;     // shape of one slice (cols = 1 for vectors)
    int is_matrix;         // 2+ dimensions: weight decay applies
    size_t llmc_offset;    // element offset of the tensor in an llm.c checkpoint
    size_t *offset;        // element offset of each slice in the parent buffer
    unsigned char *frozen; // per slice: 1 = frozen (model/freeze.h): no gradient, no update
} ParamTensor;

// First element and length of a tensor's span in the parent buffer, all layer
// slices together: one launch covers them, and the alignment gaps between
// slices hold zeros in params, grads and state that every update keeps zero.
static inline void tensor_range(const ParamTensor *pt, size_t *first, size_t *n) {
    *first = pt->offset[0];
    *n = pt->offset[pt->num_slices - 1] + pt->slice_elems - *first;
}

// A parent buffer laid out like the parameters, with a sub-buffer per slice.
typedef struct {
    cl_mem parent;
    cl_mem *slices[NUM_PARAM_TENSORS];  // slices[t][l]
} ParamBuffer;

typedef struct {
    GPT2Config config;
    ParamTensor tensors[NUM_PARAM_TENSORS];
    size_t num_parameters;    // as in llm.c: sum of all tensors, Vp rows for wte
    size_t padded_elems;      // size of a parent buffer including alignment gaps
    const Device *dev;
    ParamBuffer params, grads;
    cl_mem stats;       // [0] loss accumulator, [1] grad norm, [2] clip factor
    cl_mem norm_partials;
} GPT2;

// Fills padded_vocab_size if 0 (round V up to a multiple of 128) and checks the shape; fails on nonsense.
Status gpt2_config_check(GPT2Config *c);
// Computes the layout and allocates parameters and gradients on the device
// (STATUS_DEVICE where they do not fit; then nothing is held).
Status gpt2_create(GPT2 *m, const GPT2Config *config, const Device *dev);
void gpt2_free(GPT2 *m);

// Random initialisation as GPT-2 (host RNG seeded with seed, then uploaded).
void gpt2_init_random(GPT2 *m, uint64_t seed);

// Copies between a ParamBuffer-shaped parent and a host array in llm.c layout.
void gpt2_upload(GPT2 *m, cl_mem parent, const float *host);
void gpt2_download(GPT2 *m, cl_mem parent, float *host);

size_t gpt2_param_count(const GPT2Config *c);

// Data parallelism: sums the gradients and the loss accumulator (stats[0]) over
// the ranks (util/comm.h), staged through the host; nothing to do with one rank.
// Every rank then holds the global batch's gradient and applies the same update.
Status gpt2_sum_grads(GPT2 *m);
// Sums the first n floats of a device buffer of m's over the ranks in place (the loss
// accumulator of a validation, measurement statistics); nothing to do with one rank.
Status gpt2_sum_over_ranks(const GPT2 *m, cl_mem buf, size_t n);

// A tensor's place in llm.c's layout, known from the shape alone (no device).
typedef struct {
    size_t rows, cols;   // of one slice (cols = 1 for vectors; wte has Vp rows)
    int slices;          // L or 1
    size_t llmc_offset;  // element offset in an llm.c checkpoint's parameters
} TensorShape;
void gpt2_tensor_shapes(const GPT2Config *c, TensorShape shapes[NUM_PARAM_TENSORS]);
