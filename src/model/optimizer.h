// The optimizer interface. A training step ends with optimizer_step, which
// computes the global gradient norm and clipping factor on the device and
// updates every parameter tensor; its state lives on the device in buffers
// shaped like the parameters (so it can be saved in llm.c tensor order), plus,
// for the rotational optimizers, one target norm per matrix row, and the
// per-tensor gradient-SNR EMAs (all saved in the resume state).
// Adding an optimizer means one kernel in cl/ and one entry in the table of
// optimizer.c. The update rules are those of README "Optimizers and measurements".
#pragma once
#include "model/model.h"
#include "runtime/ops.h"

// The optimizers, indexed like the table of optimizer.c, which holds their names.
typedef enum { OPTIMIZER_ADAMW, OPTIMIZER_LION, OPTIMIZER_LIONA, OPTIMIZER_LIONAR, OPTIMIZER_RV_ADAMW } OptimizerId;
// lionar_angle's forms; ANGLE_NUMBER is a number of radians, not a name.
typedef enum { ANGLE_LION, ANGLE_ADAMW, ANGLE_SIMPLE, ANGLE_NUMBER } AngleForm;
typedef enum { IBC_OFF, IBC_LINEAR, IBC_SQRT } InverseBiasCorrection;

typedef struct {
    double beta1, beta2, eps, weight_decay, grad_clip;
    double lr_peak;            // peak lr: the schedule multiplier is s_t = lr_t / lr_peak
    int skip_bias_correction1; // adamw_bias_correction1 = false: m is not divided by 1 - beta1^t (0 = PyTorch)
    double kappa;              // liona (and lionar's vector tensors): u = kappa * sign(c)
    AngleForm angle_form;      // lionar's theta_t
    double angle_value;        // ANGLE_NUMBER: theta = angle_value * sqrt(s_t)
    int zero_mean, nesterov;   // lionar_zero_mean; nesterov momentum with `beta` (Lion family)
    double beta;               // nesterov and inverse bias correction
    InverseBiasCorrection ibc;
    int rrc;                   // rrc_correction: theta *= rho_t from the gradient SNR (needs grad_accum >= 2)
} OptimizerHyper;

typedef struct Optimizer Optimizer;

typedef struct {
    OptimizerId id;
    const char *name;
    int lion;        // Lion's momentum and sign update: beta2 defaults to 0.99, nesterov applies
    int num_state;   // parameter-shaped state buffers (AdamW: m, v; Lion: m); state[0] is the momentum
    int rotational;  // keeps a target norm per matrix row
    // Updates all parameters for step t (1-based) with learning rate lr; the
    // clipping factor is already in m->stats[2].
    void (*update)(Optimizer *opt, GPT2 *m, Ops *o, int t, float lr);
} OptimizerKind;

#define SNR_FLOATS (4 * NUM_PARAM_TENSORS)  // per tensor: EMA G2, EMA S, phi, rho (cl/rowstats.cl)

struct Optimizer {
    const OptimizerKind *kind;
    OptimizerHyper hyper;
    cl_mem state[4];  // parent buffers laid out like GPT2.params
    cl_mem target;    // (num_rows) target row norms of the rotational optimizers, else NULL
    size_t num_rows;  // rows of all matrix tensors (see matrix_row_base)
    cl_mem snr;       // (SNR_FLOATS) gradient signal-to-noise EMAs, see op_snr_update
};

const OptimizerKind *optimizer_find(const char *name);  // NULL for an unknown name
const OptimizerKind *optimizer_kind(OptimizerId id);
// The names of the values of each enum, NULL past the last one (the config keys
// optimizer, lionar_angle and inverse_bias_correction read them).
const char *optimizer_name(int id);
const char *angle_form_name(int form);
const char *ibc_name(int ibc);
// The names of the optimizers with the given property (OptimizerKind.lion or
// .rotational), as a list in words: "lion, liona and lionar".
typedef enum { OPTIMIZERS_LION, OPTIMIZERS_ROTATIONAL } OptimizerGroup;
void optimizer_group_names(OptimizerGroup group, char *out, size_t n);
Status optimizer_create(Optimizer *opt, const OptimizerKind *kind, const OptimizerHyper *hyper, GPT2 *m);
void optimizer_free(Optimizer *opt);
// Gradient norm + clipping factor, then the update. Nothing comes back to the host.
void optimizer_step(Optimizer *opt, GPT2 *m, Ops *o, int t, float lr);
// Angular step theta_t of the rotational update at step t with lr_t (inverse bias
// correction included, RRC factor not); for the other optimizers the equilibrium
// angle their update reaches (AdamW form for adamw/liona, Lion form for lion).
double optimizer_angle(const Optimizer *opt, double lr_t, int t);
// Index of the first row of `tensor` (a matrix) in the numbering of all matrix rows
// (slice l of it starts at base + l*rows); *total gets the number of all matrix rows.
size_t matrix_row_base(const GPT2 *m, int tensor, size_t *total);
