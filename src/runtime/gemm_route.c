#include "runtime/gemm_route.h"

int gemm_shape_equal(const GemmShape *g, const GemmShape *s) {
    return g->trans_a == s->trans_a && g->trans_b == s->trans_b && g->m == s->m && g->n == s->n && g->k == s->k &&
           g->lda == s->lda && g->ldb == s->ldb && g->ldc == s->ldc && g->stride_a == s->stride_a &&
           g->stride_b == s->stride_b && g->stride_c == s->stride_c && g->batch == s->batch;
}

int gemm_rule_matches(const GemmRule *r, const GemmShape *s) {
    return (r->trans_a < 0 || r->trans_a == s->trans_a) && (r->trans_b < 0 || r->trans_b == s->trans_b) &&
           (r->batched < 0 || r->batched == (s->batch > 0)) && s->k >= r->min_k && s->n >= r->min_n;
}

static int same_params(const GemmParams *a, const GemmParams *b) {
    return a->vw == b->vw && a->tm == b->tm && a->tn == b->tn && a->wg0 == b->wg0 && a->wg1 == b->wg1 &&
           a->kc == b->kc;
}

// The index of our GEMM's program for p (built on first use), or -1 if the
// table is full or its kernels cannot run here.
static int program_for(GemmRouter *r, const Device *dev, const GemmParams *p) {
    int prog = 0;
    while (prog < r->num_programs && !same_params(&r->programs[prog].p, p)) prog++;
    if (prog == r->num_programs) {
        if (prog == GEMM_CL_MAX_PROGRAMS) return -1;
        Status s = gemm_kernels_build(&r->programs[prog], dev, p);
        device_keep_failure(s);  // built at a launch when a rule first matches: reported by device_status
        if (s) return -1;
        if (!gemm_kernels_fit(&r->programs[prog], dev)) {
            gemm_kernels_free(&r->programs[prog]);
            return -1;
        }
        r->num_programs++;
    }
    return prog;
}

int gemm_router_use_shape(GemmRouter *r, const Device *dev, const GemmShape *s, const GemmParams *p) {
    if (!p) {
        if (!s || r->num_shapes == GEMM_LOG_MAX) return 0;
        r->shapes[r->num_shapes] = *s;
        r->shape_program[r->num_shapes++] = -1;
        return 1;
    }
    if (!gemm_params_valid(p, dev) || (s && s->trans_a && s->trans_b)) return 0;
    if (s && r->num_shapes == GEMM_LOG_MAX) return 0;
    if (!s && (r->num_shapes || r->num_programs)) return 0;  // "every shape" comes alone
    int prog = program_for(r, dev, p);
    if (prog < 0) return 0;
    if (!s) {
        r->all = 1;
        return 1;
    }
    r->shapes[r->num_shapes] = *s;
    r->shape_program[r->num_shapes++] = prog;
    return 1;
}

int gemm_router_use_rule(GemmRouter *r, const Device *dev, const GemmRule *rule) {
    if (!gemm_params_valid(&rule->p, dev) || r->num_rules == GEMM_RULES_MAX) return 0;
    r->rules[r->num_rules] = *rule;
    r->rule_program[r->num_rules++] = -1;  // built when a shape first needs it
    return 1;
}

const GemmKernels *gemm_router_for(GemmRouter *r, const Device *dev, const GemmShape *s) {
    if (s->trans_a && s->trans_b) return NULL;  // our kernel has no TT form
    if (r->all) return &r->programs[0];
    for (int i = 0; i < r->num_shapes; i++)
        if (gemm_shape_equal(&r->shapes[i], s))
            return r->shape_program[i] < 0 ? NULL : &r->programs[r->shape_program[i]];
    for (int i = 0; i < r->num_rules; i++) {
        if (!gemm_rule_matches(&r->rules[i], s)) continue;
        // Compiling takes seconds on a CPU device: only the rules a model's shapes use are built
        // (-1: not yet; -2: its kernels cannot run here, so CLBlast).
        if (r->rule_program[i] == -1) {
            int prog = program_for(r, dev, &r->rules[i].p);
            r->rule_program[i] = prog < 0 ? -2 : prog;
        }
        return r->rule_program[i] < 0 ? NULL : &r->programs[r->rule_program[i]];
    }
    return NULL;
}

void gemm_router_free(GemmRouter *r) {
    for (int i = 0; i < r->num_programs; i++) gemm_kernels_free(&r->programs[i]);
    r->num_programs = 0;
}
