// Plain C reference of the optimizers of README "Optimizers and measurements"
// (the spec's update rules written as loops), for tests/test_optimizers.c.
// Parameters are in llm.c layout (tensor after tensor, layer slices
// contiguous), state in double except the Lion momentum, which is float with
// the kernel's arithmetic so sign(c) is decided on the same value.
#pragma once
#include <stddef.h>

#include "model/optimizer.h"

typedef struct {
    size_t offset;      // llm.c element offset
    size_t rows, cols;  // of one slice
    int slices, is_matrix;
} RefTensor;

typedef struct {
    double *w;       // parameters
    float *mf;       // Lion momentum (lion, liona, lionar)
    double *m, *v;   // Adam moments (adamw, rv_adamw)
    double *target;  // target row norms, rows of all matrix tensors in tensor then slice order
} RefState;

// theta_t of the spec for optimizer `kind` (lionar: lionar_angle; rv_adamw: adamw form;
// inverse bias correction included for the rotational ones).
double ref_angle(const char *kind, const OptimizerHyper *h, double lr, int t);
// One step t with learning rate lr of optimizer `kind` on all tensors. g is the
// raw gradient, clip the clipping factor; rho (per tensor, may be NULL) the RRC factor.
void ref_optimizer_step(const char *kind, const OptimizerHyper *h, const RefTensor *ts, int nt, RefState *s,
                        const float *g, double clip, int t, double lr, const double *rho);
