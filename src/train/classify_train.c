#include "train/classify_train.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/forward.h"
#include "model/freeze.h"
#include "util/comm.h"
#include "util/util.h"

static Status classify_check_config(const Config *cfg) {
    if (comm_size() > 1)
        return fail(STATUS_INPUT, "task = classify trains on one device: its head's gradients are not summed over "
                                  "MPI ranks (run it without mpirun)");
    if (cfg->metrics_every > 0 || cfg->rrc_correction)
        return fail(STATUS_INPUT, "task = classify does not take metrics_every or rrc_correction (they measure the "
                                  "language model's updates)");
    return STATUS_OK;
}

static Status classify_open_data(ClassifyTask *c, Trainer *t, const Config *cfg) {
    TRY(classify_check_config(cfg));
    TRY(tokenizer_load_for_model(cfg->tokenizer, t->model_config.vocab_size, &c->tok));
    TRY(classify_data_load(&c->train, cfg->train_data, "train_data", c->tok, cfg->seq_len, NULL));
    if (cfg->val_data[0]) {
        TRY(classify_data_load(&c->val, cfg->val_data, "val_data", c->tok, cfg->seq_len, &c->train));
        c->have_val = 1;
    }
    TRY(head_create(&c->head, &t->dev, c->train.num_labels, t->model_config.channels, cfg->batch_size));
    head_init_random(&c->head, (uint64_t)cfg->seed ^ 0x5c0e5c0e5c0e5c0eULL);
    const size_t B = (size_t)cfg->batch_size;
    c->tokens = mallocCheck(B * cfg->seq_len * sizeof(int));
    c->last = mallocCheck(B * sizeof(int));
    c->labels = mallocCheck(B * sizeof(int));
    c->idx = mallocCheck(B * sizeof(int));
    printf("classify: %d labels; train %d examples%s%d; window %d tokens (truncated on the right)\n",
           c->train.num_labels, c->train.n, c->have_val ? ", validation " : "", c->have_val ? c->val.n : 0,
           cfg->seq_len);
    return STATUS_OK;
}

Status classify_open(ClassifyTask *c, Trainer *t, const Config *cfg) {
    memset(c, 0, sizeof *c);
    Status s = classify_open_data(c, t, cfg);
    if (s) classify_close(c);
    return s;
}

void classify_close(ClassifyTask *c) {
    head_free(&c->head);
    if (c->have_val) classify_data_free(&c->val);  // borrows the training set's labels: freed first
    classify_data_free(&c->train);
    if (c->tok) tokenizer_free(c->tok);
    free(c->tokens);
    free(c->last);
    free(c->labels);
    free(c->idx);
    memset(c, 0, sizeof *c);
}

// Uploads examples idx[0..B) into ws and the head.
static void set_batch(ClassifyTask *c, const ClassifyData *d, Workspace *ws) {
    classify_data_gather(d, c->idx, ws->B, c->tokens, c->last, c->labels);
    gpt2_set_batch(ws, c->tokens, NULL);
    head_set_batch(&c->head, c->last, c->labels);
}

Status classify_step(ClassifyTask *c, Trainer *t, int step, float lr, float *loss, float *grad_norm) {
    GPT2 *m = &t->model;
    Workspace *ws = &t->train_ws;
    const int B = ws->B, accum = t->cfg.grad_accum;
    const float scale = 1.0f / ((float)B * (float)accum);  // mean over the step's sequences
    device_zero(&t->dev, m->grads.parent, 0, m->padded_elems * sizeof(float));
    device_zero(&t->dev, c->head.grad, 0, (size_t)c->head.num_labels * c->head.channels * sizeof(float));
    device_zero(&t->dev, m->stats, 0, sizeof(float));
    t->measured = 0;
    for (int micro = 0; micro < accum; micro++) {
        for (int b = 0; b < B; b++)
            c->idx[b] = classify_data_order(&c->train, (uint64_t)t->cfg.seed, ((long long)(step - 1) * accum + micro) * B + b);
        set_batch(c, &c->train, ws);
        gpt2_forward_trunk(m, ws, &t->ops, NULL, 0);
        head_forward(&c->head, m, ws, &t->ops, scale, scale);
        head_backward(&c->head, m, ws, &t->ops);
    }
    gpt2_zero_frozen_grads(m);
    optimizer_step(&t->opt, m, &t->ops, step, lr);
    head_adamw(&c->head, m, &t->ops, &t->opt.hyper, step, lr);
    float stats[2];
    device_read(&t->dev, m->stats, 0, sizeof stats, stats);
    *loss = stats[0];
    *grad_norm = stats[1];
    return device_status(&t->dev);
}

// Adds the loss and the number of correct argmax predictions of the batch's first n rows.
static void score_batch(const ClassHead *h, int n, const int *labels, double *loss, int *correct) {
    const int K = h->num_labels;
    float *logits = mallocCheck((size_t)h->B * K * sizeof(float)), *losses = mallocCheck((size_t)h->B * sizeof(float));
    device_read(h->dev, h->logits, 0, (size_t)h->B * K * sizeof(float), logits);
    device_read(h->dev, h->losses, 0, (size_t)h->B * sizeof(float), losses);
    for (int b = 0; b < n; b++) {
        int best = 0;
        for (int k = 1; k < K; k++)
            if (logits[(size_t)b * K + k] > logits[(size_t)b * K + best]) best = k;
        *correct += best == labels[b];
        *loss += losses[b];
    }
    free(logits);
    free(losses);
}

Status classify_validate(ClassifyTask *c, Trainer *t, float *loss, float *accuracy) {
    GPT2 *m = &t->model;
    Workspace *ws = &t->val_ws;
    if (!ws->dev) TRY(workspace_create(ws, m, t->cfg.batch_size, t->cfg.seq_len, WS_FORWARD));
    const int B = ws->B, n = c->val.n;
    double sum = 0.0;
    int correct = 0;
    for (int first = 0; first < n; first += B) {
        const int rows = n - first < B ? n - first : B;  // a short last batch repeats its first example
        for (int b = 0; b < B; b++) c->idx[b] = first + (b < rows ? b : 0);
        set_batch(c, &c->val, ws);
        gpt2_forward_trunk(m, ws, &t->ops, NULL, 0);
        head_forward(&c->head, m, ws, &t->ops, 0.0f, 0.0f);
        score_batch(&c->head, rows, c->labels, &sum, &correct);
    }
    *loss = (float)(sum / n);
    *accuracy = (float)correct / (float)n;
    return device_status(&t->dev);
}

void classify_head_path(const char *dir, int step, char *path, size_t n) {
    snprintf(path, n, "%s/head_%08d.bin", dir, step);
}

void classify_labels_path(const char *dir, char *path, size_t n) { snprintf(path, n, "%s/labels.json", dir); }

int classify_file_name(const char *name) {
    int step;
    char tail;
    return !strcmp(name, "labels.json") ||
           (strlen(name) == strlen("head_00000000.bin") && sscanf(name, "head_%d.bi%c", &step, &tail) == 2 &&
            tail == 'n' && strspn(name + 5, "0123456789") == 8);
}

Status classify_save(ClassifyTask *c, const char *dir, int step, int seq_len) {
    char path[1024];
    classify_head_path(dir, step, path, sizeof path);
    return head_save(&c->head, path, seq_len, 1);
}

Status classify_save_labels(ClassifyTask *c, const char *dir) {
    char path[1024];
    classify_labels_path(dir, path, sizeof path);
    return labels_save(path, c->train.labels, c->train.num_labels);
}

Status classify_resume(ClassifyTask *c, const char *dir, int step) {
    char path[1024];
    classify_labels_path(dir, path, sizeof path);
    char **labels;
    int n;
    TRY(labels_load(path, &labels, &n));
    int same = n == c->train.num_labels;
    for (int i = 0; same && i < n; i++) same = !strcmp(labels[i], c->train.labels[i]);
    labels_free(labels, n);
    if (!same) return fail(STATUS_INPUT, "the labels of train_data differ from the run's '%s'", path);
    classify_head_path(dir, step, path, sizeof path);
    return head_load(&c->head, path, 1);
}
