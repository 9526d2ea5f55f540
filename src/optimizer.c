#include "optimizer.h"

#include <math.h>
#include <string.h>

#include "util.h"

static void adamw_update(Optimizer *opt, GPT2 *m, Ops *o, int t, float lr) {
    const OptimizerHyper *h = &opt->hyper;
    float bc1 = (float)(1.0 - pow(h->beta1, t)), bc2 = (float)(1.0 - pow(h->beta2, t));
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) {
        const ParamTensor *pt = &m->tensors[i];
        // One launch covers all layer slices of a tensor: the alignment gaps
        // between them hold zeros in params, grads and state and stay zero.
        size_t first = pt->offset[0], last = pt->offset[pt->num_slices - 1] + pt->slice_elems;
        float wd = pt->is_matrix ? (float)h->weight_decay : 0.0f;
        op_adamw(o, m->params.parent, m->grads.parent, opt->state[0], opt->state[1], m->stats, first, last - first, lr,
                 (float)h->beta1, (float)h->beta2, (float)h->eps, wd, bc1, bc2);
    }
}

static const OptimizerKind optimizers[] = {
    {"adamw", 2, adamw_update},
};

const OptimizerKind *optimizer_find(const char *name) {
    for (size_t i = 0; i < sizeof optimizers / sizeof optimizers[0]; i++)
        if (strcmp(optimizers[i].name, name) == 0) return &optimizers[i];
    die("unknown optimizer '%s'", name);
}

void optimizer_create(Optimizer *opt, const OptimizerKind *kind, const OptimizerHyper *hyper, GPT2 *m) {
    memset(opt, 0, sizeof *opt);
    opt->kind = kind;
    opt->hyper = *hyper;
    for (int i = 0; i < kind->num_state; i++) {
        opt->state[i] = device_alloc(m->dev, m->padded_elems * sizeof(float), "optimizer state");
        device_zero(m->dev, opt->state[i], 0, m->padded_elems * sizeof(float));
    }
}

void optimizer_free(Optimizer *opt) {
    for (int i = 0; i < 4; i++)
        if (opt->state[i]) CL_CHECK(clReleaseMemObject(opt->state[i]));
    memset(opt, 0, sizeof *opt);
}

void optimizer_step(Optimizer *opt, GPT2 *m, Ops *o, int t, float lr) {
    op_grad_norm(o, m->stats, m->norm_partials, m->grads.parent, m->padded_elems, (float)opt->hyper.grad_clip);
    opt->kind->update(opt, m, o, t, lr);
}
