// The safetensors format (Hugging Face): an 8-byte little-endian header
// length N, N bytes of JSON ({"NAME": {"dtype": "F32", "shape": [..],
// "data_offsets": [BEGIN, END]}, ..., optional "__metadata__": {str: str}}),
// then the tensors' bytes, offsets counted from the end of the header.
// Reading maps the file and checks everything before any tensor is used.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "util/status.h"

#define SAFETENSORS_MAX_HEADER (100u * 1000 * 1000)  // as the reference implementation
#define SAFETENSORS_MAX_DIMS 8

typedef enum { ST_F32, ST_F16, ST_BF16, ST_OTHER } SafeDtype;  // ST_OTHER: a known dtype gpt2cl does not convert

typedef struct {
    char *name;
    char dtype[12];  // as in the header: "F32", "BF16", "I64", ...
    SafeDtype type;
    int ndim;
    int64_t shape[SAFETENSORS_MAX_DIMS];
    size_t count;              // elements: the product of shape
    const unsigned char *data; // count * dtype size bytes
} SafeTensor;

typedef struct {
    char *path;
    void *map;  // the mapped file (NULL when parsed from memory)
    size_t map_size;
    SafeTensor *tensors;
    int count;
} SafeTensors;

// Parses and checks a whole file's bytes (header length within the file and at
// most SAFETENSORS_MAX_HEADER, JSON of the form above, known dtypes, byte
// counts = product(shape) x dtype size, offsets inside the data, no overlaps).
// The tensors point into data, which must outlive st. path is for messages.
Status safetensors_parse(const unsigned char *data, size_t size, const char *path, SafeTensors *st);
// Maps the file at path and parses it.
Status safetensors_open(const char *path, SafeTensors *st);
void safetensors_close(SafeTensors *st);
const SafeTensor *safetensors_find(const SafeTensors *st, const char *name);
// Converts an F32, F16 or BF16 tensor to fp32 (t->count floats into out).
void safetensor_to_f32(const SafeTensor *t, float *out);

// A tensor to write: dtype "F32", "F16" or "BF16", its bytes in data.
typedef struct {
    const char *name;
    const char *dtype;
    int ndim;
    int64_t shape[4];
    const void *data;
    size_t bytes;
} SafeTensorOut;

// The file's bytes for these tensors, in this order, with "__metadata__":
// {"format": "pt"} as PyTorch writers put it; the header is padded with spaces
// to a multiple of 8 bytes so the data stays aligned. *out is malloc'ed.
void safetensors_serialize(const SafeTensorOut *t, int n, unsigned char **out, size_t *size);
