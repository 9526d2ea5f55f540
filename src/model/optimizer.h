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

// ZeRO-1: the ranks of a data-parallel run share the optimizer state. Rank r
// owns the range [first[r], end[r]) of the parameter layout, cut at aligned
// row boundaries so that no matrix row is ever split, keeps the state of that
// range only (compact), updates it from the summed gradient and all-gathers
// the parameters afterwards.
typedef struct {
    int rank, ranks;
    size_t *first, *end;  // (ranks) each rank's range of the parent buffers
    cl_mem params, grads; // sub-buffers of this rank's range, indexed like the compact state; NULL if empty
} OptimizerShard;

struct Optimizer {
    const OptimizerKind *kind;
    OptimizerHyper hyper;
    OptimizerShard *shard;  // NULL: this rank holds all the state
    cl_mem state[4];  // parent buffers laid out like GPT2.params; sharded: this rank's range alone, compact
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
// As optimizer_create, holding the state of rank's shard of ranks only (ZeRO-1); ranks = 1 holds it all.
Status optimizer_create_sharded(Optimizer *opt, const OptimizerKind *kind, const OptimizerHyper *hyper, GPT2 *m,
                                int rank, int ranks);
// Bytes of optimizer state this rank holds (parameter-shaped buffers only).
size_t optimizer_state_bytes(const Optimizer *opt, const GPT2 *m);

// Where an update runs: parameter, gradient and state buffers, the elements
// [first, first + n) in them, and (a matrix slice) the first of its rows they start at.
typedef struct {
    cl_mem p, g, s[2];
    size_t first, n, row0;
} Span;
// The spans of tensor i this rank updates (spans holds its num_slices), frozen slices
// left out: each run of trained slices of the parent buffers (one over the whole tensor
// when nothing is frozen), or with a shard the part of each trained slice in it.
int optimizer_tensor_spans(const Optimizer *opt, const GPT2 *m, int i, Span *spans);
// The part of slice l of tensor i this rank updates (whole rows); 0 when none or frozen.
int optimizer_slice_span(const Optimizer *opt, const GPT2 *m, int i, int l, Span *span);
// Sharded: every rank's updated parameters to every rank (a collective). Else nothing.
Status optimizer_gather_params(const Optimizer *opt, GPT2 *m);
// State k (or the target norms, k = -1) in llm.c order / from it, into and out of
// host (num_parameters floats, num_rows for the targets). Sharded, the download is a
// collective that assembles every rank's part and the upload keeps this rank's.
Status optimizer_download_state(const Optimizer *opt, GPT2 *m, int k, float *host);
void optimizer_upload_state(Optimizer *opt, GPT2 *m, int k, const float *host);
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
