// Training a sequence classifier (task = classify): the classification head
// (model/classifier.h) on the trainer's model, the labelled data
// (classify_data.h), the step, validation (loss and accuracy), and the head's
// files in the run folder: head_STEP.bin beside each checkpoint (with the
// head's AdamW state, so a resume is bit-identical) and labels.json.
#pragma once
#include "model/classifier.h"
#include "train/classify_data.h"
#include "train/trainer.h"

typedef struct {
    ClassHead head;
    ClassifyData train, val;
    int have_val;
    Tokenizer *tok;
    int *tokens, *last, *labels, *idx;  // one micro-batch on the host: (B,T), (B), (B), (B)
} ClassifyTask;

// Loads the tokenizer and the data of cfg (task = classify), creates the head (random, seeded by cfg->seed)
// On failure c holds nothing to close.
Status classify_open(ClassifyTask *c, Trainer *t, const Config *cfg);
void classify_close(ClassifyTask *c);
// One optimizer step (grad_accum micro-batches in the seeded epoch order) of model and head; loss: the
// mean over the step's sequences.
Status classify_step(ClassifyTask *c, Trainer *t, int step, float lr, float *loss, float *grad_norm);
// Loss and accuracy over the whole validation file.
Status classify_validate(ClassifyTask *c, Trainer *t, float *loss, float *accuracy);
// head_STEP.bin and labels.json of a run folder.
void classify_head_path(const char *dir, int step, char *path, size_t n);
void classify_labels_path(const char *dir, char *path, size_t n);
// 1 for the names of the files above (the run folder's own).
int classify_file_name(const char *name);
Status classify_save(ClassifyTask *c, const char *dir, int step, int seq_len);
// Writes labels.json (a fresh run).
Status classify_save_labels(ClassifyTask *c, const char *dir);
// Loads the head and its optimizer state of that step; the run's labels.json must equal the data's labels.
Status classify_resume(ClassifyTask *c, const char *dir, int step);
