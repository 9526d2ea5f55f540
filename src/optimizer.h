// The optimizer interface. A training step ends with optimizer_step, which
// computes the global gradient norm and clipping factor on the device and
// updates every parameter tensor; its state lives on the device in buffers
// shaped like the parameters (so it can be saved in llm.c tensor order).
// Adding an optimizer means one kernel in cl/ and one entry in the table of
// optimizer.c.
#pragma once
#include "model.h"
#include "ops.h"

typedef struct {
    double beta1, beta2, eps, weight_decay, grad_clip;
} OptimizerHyper;

typedef struct Optimizer Optimizer;

typedef struct {
    const char *name;
    int num_state;  // parameter-shaped state buffers (AdamW: m, v)
    // Updates all parameters for step t (1-based) with learning rate lr; the
    // clipping factor is already in m->stats[2].
    void (*update)(Optimizer *opt, GPT2 *m, Ops *o, int t, float lr);
} OptimizerKind;

struct Optimizer {
    const OptimizerKind *kind;
    OptimizerHyper hyper;
    cl_mem state[4];  // parent buffers laid out like GPT2.params
};

const OptimizerKind *optimizer_find(const char *name);  // dies on an unknown name
void optimizer_create(Optimizer *opt, const OptimizerKind *kind, const OptimizerHyper *hyper, GPT2 *m);
void optimizer_free(Optimizer *opt);
// Gradient norm + clipping factor, then the update. Nothing comes back to the host.
void optimizer_step(Optimizer *opt, GPT2 *m, Ops *o, int t, float lr);
