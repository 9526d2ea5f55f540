#include "model/optimizer.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model/freeze.h"
#include "util/util.h"

static void adamw_update(Optimizer *opt, GPT2 *m, Ops *o, int t, float lr) {
    const OptimizerHyper *h = &opt->hyper;
    float bc1 = h->skip_bias_correction1 ? 1.0f : (float)(1.0 - pow(h->beta1, t));
    float bc2 = (float)(1.0 - pow(h->beta2, t));
    size_t first, n;
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) {
        const ParamTensor *pt = &m->tensors[i];
        float wd = pt->is_matrix ? (float)h->weight_decay : 0.0f;
        for (int l = 0; tensor_next_run(pt, &l, &first, &n);)
            op_adamw(o, m->params.parent, m->grads.parent, opt->state[0], opt->state[1], m->stats, first, n, lr,
                     (float)h->beta1, (float)h->beta2, (float)h->eps, wd, bc1, bc2);
    }
}

// The Lion momentum coefficients: with nesterov both are `beta` (cl/lion.cl).
static void lion_betas(const OptimizerHyper *h, float *b1, float *b2) {
    *b1 = (float)(h->nesterov ? h->beta : h->beta1);
    *b2 = (float)(h->nesterov ? h->beta : h->beta2);
}

static void lion_all(Optimizer *opt, GPT2 *m, Ops *o, float lr, float kappa) {
    const OptimizerHyper *h = &opt->hyper;
    float b1, b2;
    lion_betas(h, &b1, &b2);
    size_t first, n;
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) {
        const ParamTensor *pt = &m->tensors[i];
        float wd = pt->is_matrix ? (float)h->weight_decay : 0.0f;
        for (int l = 0; tensor_next_run(pt, &l, &first, &n);)
            op_lion(o, m->params.parent, m->grads.parent, opt->state[0], m->stats, first, n, lr, b1, b2, wd,
                    kappa, h->nesterov);
    }
}

static void lion_update(Optimizer *opt, GPT2 *m, Ops *o, int t, float lr) {
    (void)t;
    lion_all(opt, m, o, lr, 1.0f);
}

static void liona_update(Optimizer *opt, GPT2 *m, Ops *o, int t, float lr) {
    (void)t;
    lion_all(opt, m, o, lr, (float)opt->hyper.kappa);
}

size_t matrix_row_base(const GPT2 *m, int tensor, size_t *total) {
    size_t base = 0, rows = 0;
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) {
        const ParamTensor *pt = &m->tensors[i];
        if (!pt->is_matrix) continue;
        if (i == tensor) base = rows;
        rows += pt->rows * (size_t)pt->num_slices;
    }
    if (total) *total = rows;
    return base;
}

// Rotational update of every matrix row (mode 0: LionAR, 1: rotational AdamW);
// vector tensors take the LionA (mode 0) or AdamW (mode 1) step without decay.
static void rotational_update(Optimizer *opt, GPT2 *m, Ops *o, int t, float lr, int mode) {
    const OptimizerHyper *h = &opt->hyper;
    RotArgs a = {.mode = mode, .nesterov = mode == 0 && h->nesterov, .zero_mean = h->zero_mean,
                 .theta = (float)optimizer_angle(opt, lr, t), .eps = (float)h->eps, .bc1 = 1.0f, .bc2 = 1.0f};
    if (mode == 0) {
        lion_betas(h, &a.beta1, &a.beta2);
    } else {
        a.beta1 = (float)h->beta1;
        a.beta2 = (float)h->beta2;
        a.bc1 = (float)(1.0 - pow(h->beta1, t));
        a.bc2 = (float)(1.0 - pow(h->beta2, t));
    }
    cl_mem v = mode ? opt->state[1] : opt->state[0];
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) {
        const ParamTensor *pt = &m->tensors[i];
        if (!pt->is_matrix) {
            size_t first, n;
            for (int l = 0; tensor_next_run(pt, &l, &first, &n);)
                if (mode == 0)
                    op_lion(o, m->params.parent, m->grads.parent, opt->state[0], m->stats, first, n, lr, a.beta1,
                            a.beta2, 0.0f, (float)h->kappa, a.nesterov);
                else
                    op_adamw(o, m->params.parent, m->grads.parent, opt->state[0], opt->state[1], m->stats, first, n,
                             lr, a.beta1, a.beta2, a.eps, 0.0f, a.bc1, a.bc2);
            continue;
        }
        size_t base = matrix_row_base(m, i, NULL);
        a.rho_index = h->rrc ? 4 * i + 3 : -1;
        for (int l = 0; l < pt->num_slices; l++) {
            if (pt->frozen[l]) continue;  // its target norms stay 0 in the resume state
            size_t row_base = base + (size_t)l * pt->rows;
            // The target norms are fixed once, before the first update.
            if (t == 1)
                op_rot_init_rows(o, m->params.parent, opt->target, pt->offset[l], pt->rows, (int)pt->cols, row_base,
                                 h->zero_mean);
            op_rot_update_rows(o, m->params.parent, m->grads.parent, opt->state[0], v, m->stats, opt->target,
                               opt->snr, pt->offset[l], pt->rows, (int)pt->cols, row_base, &a);
        }
    }
}

static void lionar_update(Optimizer *opt, GPT2 *m, Ops *o, int t, float lr) { rotational_update(opt, m, o, t, lr, 0); }
static void rv_adamw_update(Optimizer *opt, GPT2 *m, Ops *o, int t, float lr) { rotational_update(opt, m, o, t, lr, 1); }

// The optimizers and their names (the values of the config key optimizer).
static const OptimizerKind optimizers[] = {
    {OPTIMIZER_ADAMW, "adamw", 0, 2, 0, adamw_update},
    {OPTIMIZER_LION, "lion", 1, 1, 0, lion_update},
    {OPTIMIZER_LIONA, "liona", 1, 1, 0, liona_update},
    {OPTIMIZER_LIONAR, "lionar", 1, 1, 1, lionar_update},
    {OPTIMIZER_RV_ADAMW, "rv_adamw", 0, 2, 1, rv_adamw_update},
};
#define NUM_OPTIMIZERS ((int)(sizeof optimizers / sizeof optimizers[0]))

const OptimizerKind *optimizer_find(const char *name) {
    for (int i = 0; i < NUM_OPTIMIZERS; i++)
        if (strcmp(optimizers[i].name, name) == 0) return &optimizers[i];
    return NULL;
}

const OptimizerKind *optimizer_kind(OptimizerId id) { return &optimizers[id]; }

const char *optimizer_name(int id) { return id >= 0 && id < NUM_OPTIMIZERS ? optimizers[id].name : NULL; }

const char *angle_form_name(int form) {
    static const char *const names[] = {[ANGLE_LION] = "lion", [ANGLE_ADAMW] = "adamw", [ANGLE_SIMPLE] = "simple"};
    return form >= 0 && form < (int)(sizeof names / sizeof names[0]) ? names[form] : NULL;
}

const char *ibc_name(int ibc) {
    static const char *const names[] = {[IBC_OFF] = "off", [IBC_LINEAR] = "linear", [IBC_SQRT] = "sqrt"};
    return ibc >= 0 && ibc < (int)(sizeof names / sizeof names[0]) ? names[ibc] : NULL;
}

void optimizer_group_names(OptimizerGroup group, char *out, size_t n) {
    const char *in[NUM_OPTIMIZERS];
    int count = 0;
    for (int i = 0; i < NUM_OPTIMIZERS; i++)
        if (group == OPTIMIZERS_LION ? optimizers[i].lion : optimizers[i].rotational) in[count++] = optimizers[i].name;
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < count && used < n; i++)
        used += (size_t)snprintf(out + used, n - used, "%s%s", i == 0 ? "" : i == count - 1 ? " and " : ", ", in[i]);
}

double optimizer_angle(const Optimizer *opt, double lr_t, int t) {
    const OptimizerHyper *h = &opt->hyper;
    double eta_lambda = lr_t * h->weight_decay;
    AngleForm form = ANGLE_ADAMW;  // adamw, liona (kappa makes it AdamW-like) and rv_adamw
    if (opt->kind->id == OPTIMIZER_LION) form = ANGLE_LION;
    if (opt->kind->id == OPTIMIZER_LIONAR) form = h->angle_form;
    double theta;
    switch (form) {
        case ANGLE_LION: {
            // With nesterov, c = beta^2 m_{t-1} + (1-beta^2) g_t: Lion's form with beta1 = beta^2, beta2 = beta.
            double b1 = h->nesterov ? h->beta * h->beta : h->beta1, b2 = h->nesterov ? h->beta : h->beta2;
            theta = sqrt(M_PI / 2) * sqrt(2 * eta_lambda) * sqrt((1 - b1) * (1 - b1) + b1 * b1 * (1 - b2) / (1 + b2));
            break;
        }
        case ANGLE_ADAMW: theta = sqrt(2 * eta_lambda * (1 - h->beta1) / (1 + h->beta1)); break;
        case ANGLE_SIMPLE: theta = sqrt(2 * eta_lambda); break;
        default: theta = h->angle_value * sqrt(h->lr_peak > 0 ? lr_t / h->lr_peak : 1.0); break;
    }
    if (opt->kind->rotational) {
        if (h->ibc == IBC_LINEAR) theta *= 1 - pow(h->beta, t);
        else if (h->ibc == IBC_SQRT) theta *= sqrt(1 - pow(h->beta, 2.0 * t));
    }
    return theta;
}

// The device buffers of optimizer_create; stops at the first that fails.
static Status optimizer_buffers(Optimizer *opt, const OptimizerKind *kind, GPT2 *m) {
    for (int i = 0; i < kind->num_state; i++) {
        TRY(device_alloc(m->dev, m->padded_elems * sizeof(float), "optimizer state", &opt->state[i]));
        device_zero(m->dev, opt->state[i], 0, m->padded_elems * sizeof(float));
    }
    if (kind->rotational) {
        matrix_row_base(m, 0, &opt->num_rows);
        TRY(device_alloc(m->dev, opt->num_rows * sizeof(float), "target row norms", &opt->target));
        device_zero(m->dev, opt->target, 0, opt->num_rows * sizeof(float));
    }
    TRY(device_alloc(m->dev, SNR_FLOATS * sizeof(float), "gradient SNR statistics", &opt->snr));
    device_zero(m->dev, opt->snr, 0, SNR_FLOATS * sizeof(float));
    // rho = 1 until the first estimate (so rrc_correction without statistics is a no-op)
    float init[SNR_FLOATS] = {0};
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) init[4 * i + 3] = 1.0f;
    device_write(m->dev, opt->snr, 0, sizeof init, init);
    return device_status(m->dev);
}

Status optimizer_create(Optimizer *opt, const OptimizerKind *kind, const OptimizerHyper *hyper, GPT2 *m) {
    memset(opt, 0, sizeof *opt);
    opt->kind = kind;
    opt->hyper = *hyper;
    Status s = optimizer_buffers(opt, kind, m);
    if (s) optimizer_free(opt);
    return s;
}

void optimizer_free(Optimizer *opt) {
    for (int i = 0; i < 4; i++)
        if (opt->state[i]) CL_CHECK(clReleaseMemObject(opt->state[i]));
    if (opt->target) CL_CHECK(clReleaseMemObject(opt->target));
    if (opt->snr) CL_CHECK(clReleaseMemObject(opt->snr));
    memset(opt, 0, sizeof *opt);
}

void optimizer_step(Optimizer *opt, GPT2 *m, Ops *o, int t, float lr) {
    op_grad_norm(o, m->stats, m->norm_partials, m->grads.parent, m->padded_elems, (float)opt->hyper.grad_clip);
    opt->kind->update(opt, m, o, t, lr);
}
