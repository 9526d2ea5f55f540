// Sequence-classification data (task = classify): JSONL files of
// {"text": "...", "label": "..."} objects, one per line (blank lines skipped).
// Each text is tokenized and cut to the window T: its first T tokens are kept
// (truncation on the right, as Hugging Face's tokenizers by default), and a
// shorter one is padded on the right with <|endoftext|>; the head reads the
// last real token. The label set is that of the training file, sorted by byte
// order (strcmp), stored with the run as labels.json.
#pragma once
#include <stdint.h>

#include "text/tokenizer.h"
#include "util/status.h"

typedef struct {
    int T, n;          // window, examples
    int num_labels;
    char **labels;     // (num_labels) names, sorted; owned unless borrowed
    int borrowed;      // labels belong to another ClassifyData (the training set's)
    int32_t *tokens;   // (n,T) padded with end-of-text
    int32_t *last;     // (n) position of the last real token
    int32_t *label;    // (n) index into labels
    int *perm;         // (n) the training order of perm_epoch
    long long perm_epoch;
} ClassifyData;

// Reads path (named `what` in errors, e.g. "train_data"). labels_from NULL: the
// label set is this file's (at least 2 labels); else every label must be one of
// labels_from's, which d borrows (labels_from must outlive d).
Status classify_data_load(ClassifyData *d, const char *path, const char *what, Tokenizer *tok, int T,
                          const ClassifyData *labels_from);
void classify_data_free(ClassifyData *d);
// The example at position g of the training order: epoch g / n visits every
// example once, in a permutation seeded by seed and the epoch. A pure function of
// (seed, g): a resumed run continues the same order.
int classify_data_order(ClassifyData *d, uint64_t seed, long long g);
// Copies examples idx[0..B) into tokens (B,T), last (B) and labels (B).
void classify_data_gather(const ClassifyData *d, const int *idx, int B, int *tokens, int *last, int *labels);
// labels.json: {"labels": [...]} in index order.
Status labels_save(const char *path, char *const *labels, int n);
// Reads labels.json (at least 2 distinct string labels); *labels is n malloc'd strings in one malloc'd array.
Status labels_load(const char *path, char ***labels, int *n);
void labels_free(char **labels, int n);
