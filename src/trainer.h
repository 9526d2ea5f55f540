// What `train` and `bench` share: the device, the model and its optimizer,
// and the training step itself.
#pragma once
#include "config.h"
#include "dataloader.h"
#include "measure.h"
#include "model.h"
#include "ops.h"
#include "optimizer.h"
#include "schedule.h"

typedef struct {
    Config cfg;
    GPT2Config model_config;
    Device dev;
    Ops ops;
    GPT2 model;
    Optimizer opt;
    Schedule sched;
    Measure meas;  // update-size measurements and gradient SNR (issue 4)
    int measured;  // the last trainer_step filled meas.t
} Trainer;

// The optimizer's hyperparameters from the config keys (trainer_open has put Lion's beta2 default in).
OptimizerHyper optimizer_hyper_from_config(const Config *cfg);

// The model shape: from init_from's header when set (explicit model keys must agree), else from the keys.
void resolve_model_config(const Config *cfg, GPT2Config *mc);
// Opens the device, checks it has the memory the run needs, builds the kernels,
// creates the model (random init or init_from) and the optimizer.
void trainer_open(Trainer *t, const Config *cfg, int profiling);
void trainer_close(Trainer *t);
// One optimizer step over grad_accum micro-batches from d. The loss and
// gradient norm are the only values read back from the device.
void trainer_step(Trainer *t, DataLoader *d, int step, float lr, float *loss, float *grad_norm);
// Mean loss over val_steps micro-batches read from the start of d.
float trainer_validate(Trainer *t, DataLoader *d, int val_steps);
