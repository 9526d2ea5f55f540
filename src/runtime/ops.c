#include "runtime/ops.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/kernels.h"
#include "util/util.h"

// The work-group defines each kernel runs with: its family's size (*wg), and
// its rows per group where it has them (*rows, else KP_COUNT); 1-D launches use WG.
static void kernel_family(const char *name, KernelParamId *wg, KernelParamId *rows) {
    static const struct {
        const char *kernel;
        KernelParamId wg, rows;  // rows: KP_COUNT for one row per group
    } fam[] = {{"layernorm_forward", KP_LN_WG, KP_LN_ROWS},
               {"layernorm_backward_input", KP_LN_WG, KP_LN_ROWS},
               {"attention_softmax", KP_SOFTMAX_WG, KP_SOFTMAX_ROWS},
               {"attention_softmax_backward", KP_SOFTMAX_WG, KP_SOFTMAX_ROWS},
               {"crossentropy_forward_backward", KP_CE_WG, KP_COUNT},
               {"loss_sum", KP_CE_WG, KP_COUNT},
               {"rot_init_rows", KP_ROW_WG, KP_COUNT},
               {"rot_update_rows", KP_ROW_WG, KP_COUNT},
               {"row_delta_stats", KP_ROW_WG, KP_COUNT},
               {"sumsq_partial", KP_REDUCE_WG, KP_COUNT},
               {"grad_norm_finalize", KP_REDUCE_WG, KP_COUNT},
               {"pair_stats_partial", KP_REDUCE_WG, KP_COUNT},
               {"pair_stats_finalize", KP_REDUCE_WG, KP_COUNT},
               {"output_sumsq_partial", KP_REDUCE_WG, KP_COUNT},
               {"residual_layernorm_forward", KP_LN_WG, KP_LN_ROWS},
               {"column_sum", KP_COLSUM_WG, KP_COUNT},
               {"column_partials_add", KP_COLSUM_WG, KP_COUNT},
               {"layernorm_backward_params", KP_COLSUM_WG, KP_COUNT},
               {"gelu_backward_bias", KP_COLSUM_WG, KP_COUNT},
               {"attention_fused_forward", KP_ATTN_BQ, KP_COUNT},
               {"attention_fused_backward_q", KP_ATTN_BQ, KP_COUNT},
               {"attention_fused_backward_kv", KP_ATTN_BQ, KP_COUNT}};
    *wg = KP_WG, *rows = KP_COUNT;
    for (size_t i = 0; i < sizeof fam / sizeof fam[0]; i++)
        if (!strcmp(fam[i].kernel, name)) *wg = fam[i].wg, *rows = fam[i].rows;
}

// The work-group size a kernel runs with: its family's size, times its rows per group.
static int kernel_wg(const Ops *o, const char *name) {
    KernelParamId wg, rows;
    kernel_family(name, &wg, &rows);
    return o->kp.v[wg] * (rows == KP_COUNT ? 1 : o->kp.v[rows]);
}

// The kernels of the program, in one list for creating, checking and releasing them.
#define OPS_KERNELS(X)                                                                                          \
    X(column_sum) X(accumulate) X(encoder_forward) X(encoder_backward_wte) X(layernorm_forward)                  \
    X(layernorm_backward_input) X(layernorm_backward_params) X(add_bias) X(gelu_forward) X(gelu_backward)        \
    X(residual_forward) X(attention_split_heads) X(attention_merge_qkv_grad) X(attention_merge_heads)           \
    X(attention_split_grad) X(attention_softmax) X(attention_softmax_backward) X(crossentropy_forward_backward)  \
    X(loss_sum) X(sumsq_partial) X(grad_norm_finalize) X(adamw_update) X(lion_update) X(rot_init_rows)          \
    X(rot_update_rows) X(row_delta_stats) X(pair_stats_partial) X(pair_stats_finalize) X(sub_range)             \
    X(snr_update) X(output_sumsq_partial) X(column_partials_add) X(residual_layernorm_forward)                 \
    X(bias_gelu_forward) X(gelu_backward_bias) X(attention_fused_forward) X(attention_fused_backward_q)         \
    X(attention_fused_backward_kv)

// The first kernel whose compiled form cannot run with its work-group size on
// this device, or NULL. A driver may allow a kernel fewer work-items than the
// device's maximum (CL_KERNEL_WORK_GROUP_SIZE: registers), and its __local
// arrays must fit the device's local memory; *fits gets a size that the kernel
// can run (half its own where local memory is short: the arrays scale with it).
static const char *kernel_too_big(const Ops *o, size_t *fits) {
#define CHECK_WG(name)                                                                                        \
    {                                                                                                         \
        size_t max = 0, wg = (size_t)kernel_wg(o, #name);                                                     \
        cl_ulong local = 0;                                                                                   \
        CL_CHECK(clGetKernelWorkGroupInfo(o->name, o->dev->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof max, &max, \
                                          NULL));                                                             \
        CL_CHECK(clGetKernelWorkGroupInfo(o->name, o->dev->device, CL_KERNEL_LOCAL_MEM_SIZE, sizeof local,     \
                                          &local, NULL));                                                     \
        if (local > o->dev->local_mem) max = wg / 2 < max ? wg / 2 : max;                                     \
        if (wg > max) {                                                                                       \
            *fits = max;                                                                                      \
            return #name;                                                                                     \
        }                                                                                                     \
    }
    OPS_KERNELS(CHECK_WG)
#undef CHECK_WG
    return NULL;
}

// Builds the program and its kernels with o->kp (already checked legal). Returns
// NULL, or the name of a kernel that cannot run its work-group size (then frees
// everything; *fits as in kernel_too_big).
static const char *ops_build(Ops *o, size_t *fits) {
    char opts[KERNEL_PARAMS_OPTIONS_MAX + 32];
    kernel_params_options(&o->kp, opts, KERNEL_PARAMS_OPTIONS_MAX);
    snprintf(opts + strlen(opts), sizeof opts - strlen(opts), " -DATTN_HS_MAX=%d", ATTN_HS_MAX);
    double t0 = now_seconds();
    o->program = kernels_build(o->dev, opts);
    o->build_seconds = now_seconds() - t0;
#define CREATE(name) o->name = device_kernel(o->program, #name);
    OPS_KERNELS(CREATE)
#undef CREATE
    const char *bad = kernel_too_big(o, fits);
    if (bad) ops_free(o);
    return bad;
}

int ops_try_init(Ops *o, const Device *dev, const KernelParams *kp) {
    *o = (Ops){.dev = dev, .profiling = dev->profiling, .kp = kp ? *kp : kernel_params_default(dev)};
    size_t fits;
    return kernel_params_valid(&o->kp, dev, NULL) && !ops_build(o, &fits);
}

// "SOFTMAX_WG=512 x SOFTMAX_ROWS=2" or "CE_WG=256": a family's work-group defines in p.
static const char *family_sizes(const KernelParams *p, KernelParamId wg, KernelParamId rows, char *buf, size_t n) {
    int used = snprintf(buf, n, "%s=%d", kernel_param_name(wg), p->v[wg]);
    if (rows != KP_COUNT && used >= 0 && (size_t)used < n)
        snprintf(buf + used, n - (size_t)used, " x %s=%d", kernel_param_name(rows), p->v[rows]);
    return buf;
}

void ops_init(Ops *o, const Device *dev, const KernelParams *kp) {
    *o = (Ops){.dev = dev, .profiling = dev->profiling, .kp = kp ? *kp : kernel_params_default(dev)};
    const char *bad = NULL;
    if (!kernel_params_valid(&o->kp, dev, &bad))
        die("kernel parameter %s=%d is not legal on %s (work-groups of at most %zu items, %llu bytes of local memory)",
            bad, o->kp.v[kernel_param_find(bad)], dev->name, dev->max_wg, (unsigned long long)dev->local_mem);
    // A tuning database or a device class's defaults may come from another driver, whose compiled
    // kernels allowed more: halve the family's work-group until this driver's kernel runs it.
    size_t fits;
    while ((bad = ops_build(o, &fits))) {
        KernelParamId wg, rows;
        kernel_family(bad, &wg, &rows);
        KernelParams was = o->kp;
        if (!kernel_params_fit(&o->kp, wg, rows, fits))
            die("kernel %s cannot run even one work-item on %s", bad, dev->name);
        char from[64], to[64];
        warn("kernel %s runs work-groups of at most %zu items on %s, not %s; using %s", bad, fits, dev->name,
             family_sizes(&was, wg, rows, from, sizeof from), family_sizes(&o->kp, wg, rows, to, sizeof to));
    }
}

void ops_free(Ops *o) {
#define RELEASE(name) CL_CHECK(clReleaseKernel(o->name));
    OPS_KERNELS(RELEASE)
#undef RELEASE
    CL_CHECK(clReleaseProgram(o->program));
    if (o->col_partials) CL_CHECK(clReleaseMemObject(o->col_partials));
    for (int i = 0; i < o->num_gemm_cl; i++) gemm_kernels_free(&o->gemm_cl[i]);
}

static int same_params(const GemmParams *a, const GemmParams *b) {
    return a->vw == b->vw && a->tm == b->tm && a->tn == b->tn && a->wg0 == b->wg0 && a->wg1 == b->wg1 &&
           a->kc == b->kc;
}

// The index of our GEMM's program for p in o->gemm_cl (built on first use), or -1 if the table is full.
static int gemm_cl_program(Ops *o, const GemmParams *p) {
    int prog = 0;
    while (prog < o->num_gemm_cl && !same_params(&o->gemm_cl[prog].p, p)) prog++;
    if (prog == o->num_gemm_cl) {
        if (prog == GEMM_CL_MAX_PROGRAMS) return -1;
        gemm_kernels_build(&o->gemm_cl[prog], o->dev, p);
        if (!gemm_kernels_fit(&o->gemm_cl[prog], o->dev)) {
            gemm_kernels_free(&o->gemm_cl[prog]);
            return -1;
        }
        o->num_gemm_cl++;
    }
    return prog;
}

int ops_use_gemm_cl(Ops *o, const GemmShape *s, const GemmParams *p) {
    if (!p) {
        if (!s || o->num_gemm_cl_shapes == GEMM_LOG_MAX) return 0;
        o->gemm_cl_shapes[o->num_gemm_cl_shapes] = *s;
        o->gemm_cl_program[o->num_gemm_cl_shapes++] = -1;
        return 1;
    }
    if (!gemm_params_valid(p, o->dev) || (s && s->trans_a && s->trans_b)) return 0;
    if (s && o->num_gemm_cl_shapes == GEMM_LOG_MAX) return 0;
    if (!s && (o->num_gemm_cl_shapes || o->num_gemm_cl)) return 0;  // "every shape" comes alone
    int prog = gemm_cl_program(o, p);
    if (prog < 0) return 0;
    if (!s) {
        o->gemm_cl_all = 1;
        return 1;
    }
    o->gemm_cl_shapes[o->num_gemm_cl_shapes] = *s;
    o->gemm_cl_program[o->num_gemm_cl_shapes++] = prog;
    return 1;
}

// ---- profiling ----
static double prof_begin(Ops *o) {
    if (!o->profiling) return 0.0;
    CL_CHECK(clFinish(o->dev->queue));
    return now_seconds();
}

static void prof_end(Ops *o, const char *name, double t0) {
    if (!o->profiling) return;
    CL_CHECK(clFinish(o->dev->queue));
    double ms = (now_seconds() - t0) * 1e3;
    int i = 0;
    while (i < o->num_prof && strcmp(o->prof[i].name, name) != 0) i++;
    if (i == o->num_prof) {
        if (o->num_prof == PROF_MAX_ENTRIES) return;
        o->prof[o->num_prof++] = (ProfEntry){.name = name};
    }
    o->prof[i].ms += ms;
    o->prof[i].calls++;
}

static int is_gemm(const ProfEntry *e) { return strncmp(e->name, "gemm", 4) == 0; }

void ops_profile_totals(const Ops *o, double *gemm_ms, double *kernel_ms) {
    *gemm_ms = *kernel_ms = 0.0;
    for (int i = 0; i < o->num_prof; i++) *(is_gemm(&o->prof[i]) ? gemm_ms : kernel_ms) += o->prof[i].ms;
}

void ops_profile_reset(Ops *o) { o->num_prof = 0; }

static int by_ms_desc(const void *a, const void *b) {
    const ProfEntry *x = a, *y = b;
    return (x->ms < y->ms) - (x->ms > y->ms);
}

void ops_profile_print(const Ops *o, int steps, FILE *f) {
    double gemm, kern;
    ops_profile_totals(o, &gemm, &kern);
    double total = gemm + kern;
    if (total <= 0 || steps <= 0) return;
    fprintf(f, "profile per step: GEMM (CLBlast, gemm_cl) %.1f ms (%.1f%%), gpt2cl kernels %.1f ms (%.1f%%)\n",
            gemm / steps, 100 * gemm / total, kern / steps, 100 * kern / total);
    ProfEntry sorted[PROF_MAX_ENTRIES];
    memcpy(sorted, o->prof, (size_t)o->num_prof * sizeof *sorted);
    qsort(sorted, (size_t)o->num_prof, sizeof *sorted, by_ms_desc);
    for (int i = 0; i < o->num_prof; i++)
        fprintf(f, "  %-32s %9.2f ms/step %5.1f%%  %6.1f calls/step\n", sorted[i].name, sorted[i].ms / steps,
                100 * sorted[i].ms / total, (double)sorted[i].calls / steps);
}

// ---- launching ----
// set_args(k, n, sizeof(a), &a, sizeof(b), &b, ...): sets n kernel arguments in order.
#define ARG(x) sizeof(x), (const void *)&(x)
static void set_args(cl_kernel k, int n, ...) {
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        size_t size = va_arg(ap, size_t);
        const void *value = va_arg(ap, const void *);
        CL_CHECK(clSetKernelArg(k, (cl_uint)i, size, value));
    }
    va_end(ap);
}

static size_t round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }

static void launch(Ops *o, cl_kernel k, const char *name, cl_uint dims, const size_t *global, const size_t *local) {
    if (o->dry_run) return;
    double t0 = prof_begin(o);
    CL_CHECK(clEnqueueNDRangeKernel(o->dev->queue, k, dims, NULL, global, local, 0, NULL, NULL));
    prof_end(o, name, t0);
}

// One work-item per element, n elements, in work-groups of WG.
#define launch_1d(o, k, n) launch_1d_named((o), (o)->k, #k, (n))
static void launch_1d_named(Ops *o, cl_kernel k, const char *name, size_t n) {
    if (n == 0) return;
    size_t local = (size_t)o->kp.v[KP_WG], global = round_up(n, local);
    launch(o, k, name, 1, &global, &local);
}

// Elementwise kernels (FOR_VECTOR in cl/common.cl): one work-item per VW elements.
#define launch_vec(o, k, n) \
    launch_1d_named((o), (o)->k, #k, round_up((n), (size_t)(o)->kp.v[KP_VW]) / (size_t)(o)->kp.v[KP_VW])

// One work-group per row, of the kernel family's work-group size.
#define launch_rows(o, k, rows) launch_rows_named((o), (o)->k, #k, (rows))
static void launch_rows_named(Ops *o, cl_kernel k, const char *name, size_t rows) {
    if (rows == 0) return;
    size_t local = (size_t)kernel_wg(o, name), global = rows * local;
    launch(o, k, name, 1, &global, &local);
}

// ROWS rows per work-group of WG x ROWS items (cl/layernorm.cl, cl/attention.cl).
static void launch_row_groups(Ops *o, cl_kernel k, const char *name, size_t rows, KernelParamId wg,
                              KernelParamId per_group) {
    if (rows == 0) return;
    size_t r = (size_t)o->kp.v[per_group], local[2] = {(size_t)o->kp.v[wg], r}, global[2] = {local[0], round_up(rows, r)};
    launch(o, k, name, 2, global, local);
}

// ---- column reductions (cl/columns.cl) ----
// The row chunks of a column reduction over N >= 1 rows: COLSUM_CHUNKS, fewer
// where N is smaller (every chunk has rows); *rows per chunk.
static int column_chunks(const Ops *o, int N, int *rows) {
    const int chunks = o->kp.v[KP_COLSUM_CHUNKS];
    *rows = (N + chunks - 1) / chunks;
    return (N + *rows - 1) / *rows;
}

// The partial-sum scratch for n floats. A smaller one is released (OpenCL
// keeps it until the kernels queued on it have run) and a larger one made.
static cl_mem col_partials(Ops *o, size_t n) {
    if (n > o->col_partials_floats) {
        if (o->col_partials) CL_CHECK(clReleaseMemObject(o->col_partials));
        o->col_partials = device_alloc(o->dev, n * sizeof(float), "column partial sums");
        o->col_partials_floats = n;
    }
    return o->col_partials;
}

// A column kernel over C columns and `chunks` row chunks.
static void launch_columns(Ops *o, cl_kernel k, const char *name, int C, int chunks) {
    const size_t wg = (size_t)o->kp.v[KP_COLSUM_WG], vw = (size_t)o->kp.v[KP_COLSUM_VW];
    size_t local[2] = {wg, 1}, global[2] = {round_up(((size_t)C + vw - 1) / vw, wg), (size_t)chunks};
    launch(o, k, name, 2, global, local);
}

// The second pass of a chunked reduction: dst0 (and dst1, for two = 1) += the partials' chunk sums.
static void column_partials_add(Ops *o, cl_mem dst0, cl_mem dst1, cl_mem partials, int chunks, int C, int two) {
    set_args(o->column_partials_add, 5, ARG(dst0), ARG(dst1), ARG(partials), ARG(chunks), ARG(C));
    const size_t wg = (size_t)o->kp.v[KP_COLSUM_WG], vw = (size_t)o->kp.v[KP_COLSUM_VW];
    size_t local[2] = {wg, 1}, global[2] = {round_up(((size_t)C + vw - 1) / vw, wg), two ? 2 : 1};
    launch(o, o->column_partials_add, "column_partials_add", 2, global, local);
}

// How a column reduction over N rows runs: in `chunks` chunks of `rows` rows,
// straight into its outputs (add, one chunk) or into `partials` (`outputs`
// arrays of chunks x C floats, one after the other) added up by column_finish.
typedef struct {
    int chunks, rows, add;
    cl_mem partials;
} ColumnPlan;

static ColumnPlan column_plan(Ops *o, int N, int C, int outputs, int one_pass) {
    ColumnPlan pl = {.chunks = 1, .rows = N, .add = 1};
    if (!one_pass) pl.chunks = column_chunks(o, N, &pl.rows);
    if (pl.chunks == 1) {
        pl.rows = N;
        return pl;
    }
    pl.add = 0;
    pl.partials = col_partials(o, (size_t)outputs * (size_t)pl.chunks * (size_t)C);
    return pl;
}

// dst0 (and dst1 when it differs) += the chunks' partial sums, if the reduction made any.
static void column_finish(Ops *o, const ColumnPlan *pl, cl_mem dst0, cl_mem dst1, int C) {
    if (!pl->add) column_partials_add(o, dst0, dst1, pl->partials, pl->chunks, C, dst1 != dst0);
}

// dst (C) += column sums of src (N, C); one_pass keeps one chunk (where C alone fills the device).
static void column_sum(Ops *o, cl_mem dst, cl_mem src, int N, int C, int one_pass) {
    if (o->dry_run || N <= 0 || C <= 0) return;
    ColumnPlan pl = column_plan(o, N, C, 1, one_pass);
    cl_mem out = pl.add ? dst : pl.partials;
    set_args(o->column_sum, 6, ARG(out), ARG(src), ARG(N), ARG(C), ARG(pl.rows), ARG(pl.add));
    launch_columns(o, o->column_sum, "column_sum", C, pl.chunks);
    column_finish(o, &pl, dst, dst, C);
}

static void record_gemm(Ops *o, GemmShape s) {
    for (int i = 0; i < o->num_gemm_log; i++) {
        if (gemm_shape_equal(&o->gemm_log[i], &s)) {
            o->gemm_log[i].calls++;
            return;
        }
    }
    if (o->num_gemm_log == GEMM_LOG_MAX) return;
    s.calls = 1;
    o->gemm_log[o->num_gemm_log++] = s;
}

int gemm_shape_equal(const GemmShape *g, const GemmShape *s) {
    return g->trans_a == s->trans_a && g->trans_b == s->trans_b && g->m == s->m && g->n == s->n && g->k == s->k &&
           g->lda == s->lda && g->ldb == s->ldb && g->ldc == s->ldc && g->stride_a == s->stride_a &&
           g->stride_b == s->stride_b && g->stride_c == s->stride_c && g->batch == s->batch;
}

int ops_use_gemm_rule(Ops *o, const GemmRule *r) {
    if (!gemm_params_valid(&r->p, o->dev) || o->num_gemm_rules == GEMM_RULES_MAX) return 0;
    o->gemm_rules[o->num_gemm_rules] = *r;
    o->gemm_rule_program[o->num_gemm_rules++] = -1;  // built when a shape first needs it
    return 1;
}

int gemm_rule_matches(const GemmRule *r, const GemmShape *s) {
    return (r->trans_a < 0 || r->trans_a == s->trans_a) && (r->trans_b < 0 || r->trans_b == s->trans_b) &&
           (r->batched < 0 || r->batched == (s->batch > 0)) && s->k >= r->min_k && s->n >= r->min_n;
}

const GemmKernels *ops_gemm_cl_for(Ops *o, const GemmShape *s) {
    if (s->trans_a && s->trans_b) return NULL;  // our kernel has no TT form
    if (o->gemm_cl_all) return &o->gemm_cl[0];
    for (int i = 0; i < o->num_gemm_cl_shapes; i++)
        if (gemm_shape_equal(&o->gemm_cl_shapes[i], s))
            return o->gemm_cl_program[i] < 0 ? NULL : &o->gemm_cl[o->gemm_cl_program[i]];
    for (int i = 0; i < o->num_gemm_rules; i++) {
        if (!gemm_rule_matches(&o->gemm_rules[i], s)) continue;
        // Compiling takes seconds on a CPU device: only the rules a model's shapes use are built
        // (-1: not yet; -2: its kernels cannot run here, so CLBlast).
        if (o->gemm_rule_program[i] == -1) {
            int prog = gemm_cl_program(o, &o->gemm_rules[i].p);
            o->gemm_rule_program[i] = prog < 0 ? -2 : prog;
        }
        return o->gemm_rule_program[i] < 0 ? NULL : &o->gemm_cl[o->gemm_rule_program[i]];
    }
    return NULL;
}

// Runs s through our kernel if it was chosen for s; 1 if it did.
static int gemm_cl_run(Ops *o, const GemmShape *s, float alpha, cl_mem a, cl_mem b, float beta, cl_mem c) {
    const GemmKernels *g = ops_gemm_cl_for(o, s);
    if (!g) return 0;
    double t0 = prof_begin(o);
    CL_CHECK(gemm_cl_enqueue(g, o->dev->queue, s->trans_a, s->trans_b, s->m, s->n, s->k, alpha, a, s->lda,
                             s->stride_a, b, s->ldb, s->stride_b, beta, c, s->ldc, s->stride_c, s->batch));
    prof_end(o, "gemm_cl", t0);
    return 1;
}

// Row-major C (m,n) = alpha * op(A) op(B) + beta * C, A is (m,k) or (k,m) when transposed.
static void gemm(Ops *o, int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha, cl_mem a, size_t lda,
                 cl_mem b, size_t ldb, float beta, cl_mem c, size_t ldc) {
    GemmShape s = {.trans_a = trans_a, .trans_b = trans_b, .m = m, .n = n, .k = k, .lda = lda, .ldb = ldb, .ldc = ldc};
    if (o->record_gemms) record_gemm(o, s);
    if (o->dry_run || gemm_cl_run(o, &s, alpha, a, b, beta, c)) return;
    cl_command_queue q = o->dev->queue;
    double t0 = prof_begin(o);
    CLBLAST_CHECK(CLBlastSgemm(CLBlastLayoutRowMajor, trans_a ? CLBlastTransposeYes : CLBlastTransposeNo,
                               trans_b ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k, alpha, a, 0, lda, b, 0, ldb,
                               beta, c, 0, ldc, &q, NULL));
    prof_end(o, "gemm", t0);
}

static void gemm_batched(Ops *o, int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha, cl_mem a,
                         size_t lda, size_t stride_a, cl_mem b, size_t ldb, size_t stride_b, float beta, cl_mem c,
                         size_t ldc, size_t stride_c, size_t batch) {
    GemmShape s = {.trans_a = trans_a, .trans_b = trans_b, .m = m, .n = n, .k = k, .lda = lda, .ldb = ldb, .ldc = ldc,
                   .stride_a = stride_a, .stride_b = stride_b, .stride_c = stride_c, .batch = batch};
    if (o->record_gemms) record_gemm(o, s);
    if (o->dry_run || gemm_cl_run(o, &s, alpha, a, b, beta, c)) return;
    cl_command_queue q = o->dev->queue;
    double t0 = prof_begin(o);
    CLBLAST_CHECK(CLBlastSgemmStridedBatched(CLBlastLayoutRowMajor, trans_a ? CLBlastTransposeYes : CLBlastTransposeNo,
                                             trans_b ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k, alpha, a, 0,
                                             lda, stride_a, b, 0, ldb, stride_b, beta, c, 0, ldc, stride_c, batch, &q,
                                             NULL));
    prof_end(o, "gemm_batched", t0);
}

// ---- embeddings ----
void op_encoder_forward(Ops *o, cl_mem out, cl_mem inp, cl_mem wte, cl_mem wpe, int B, int T, int C) {
    int BT = B * T;
    set_args(o->encoder_forward, 7, ARG(out), ARG(inp), ARG(wte), ARG(wpe), ARG(BT), ARG(T), ARG(C));
    launch_1d(o, encoder_forward, (size_t)BT * C);
}

void op_encoder_backward(Ops *o, cl_mem dwte, cl_mem dwpe, cl_mem dout, cl_mem bucket_tokens, cl_mem bucket_start,
                         cl_mem bucket_pos, int num_buckets, int B, int T, int C) {
    set_args(o->encoder_backward_wte, 6, ARG(dwte), ARG(dout), ARG(bucket_tokens), ARG(bucket_start), ARG(bucket_pos),
             ARG(C));
    size_t wg = (size_t)o->kp.v[KP_WG], local[2] = {wg, 1}, global[2] = {round_up((size_t)C, wg), (size_t)num_buckets};
    launch(o, o->encoder_backward_wte, "encoder_backward_wte", 2, global, local);
    // dwpe (T,C) += sum over b of dout viewed as (B, T*C)
    column_sum(o, dwpe, dout, B, T * C, 1);  // T*C columns fill any device
}

// ---- LayerNorm ----
void op_layernorm_forward(Ops *o, cl_mem out, cl_mem mean, cl_mem rstd, cl_mem inp, cl_mem w, cl_mem b, int N, int C) {
    set_args(o->layernorm_forward, 8, ARG(out), ARG(mean), ARG(rstd), ARG(inp), ARG(w), ARG(b), ARG(N), ARG(C));
    launch_row_groups(o, o->layernorm_forward, "layernorm_forward", (size_t)N, KP_LN_WG, KP_LN_ROWS);
}

void op_layernorm_backward_input(Ops *o, cl_mem dinp, cl_mem dout, cl_mem inp, cl_mem w, cl_mem mean, cl_mem rstd,
                                 int N, int C) {
    set_args(o->layernorm_backward_input, 8, ARG(dinp), ARG(dout), ARG(inp), ARG(w), ARG(mean), ARG(rstd), ARG(N),
             ARG(C));
    launch_row_groups(o, o->layernorm_backward_input, "layernorm_backward_input", (size_t)N, KP_LN_WG, KP_LN_ROWS);
}

void op_layernorm_backward(Ops *o, cl_mem dinp, cl_mem dw, cl_mem db, cl_mem dout, cl_mem inp, cl_mem w, cl_mem mean,
                           cl_mem rstd, int N, int C) {
    op_layernorm_backward_input(o, dinp, dout, inp, w, mean, rstd, N, C);
    op_layernorm_backward_params(o, dw, db, dout, inp, mean, rstd, N, C);
}

void op_layernorm_backward_params(Ops *o, cl_mem dw, cl_mem db, cl_mem dout, cl_mem inp, cl_mem mean, cl_mem rstd,
                                  int N, int C) {
    if (o->dry_run || N <= 0) return;
    ColumnPlan pl = column_plan(o, N, C, 2, 0);
    cl_mem w_out = pl.add ? dw : pl.partials, b_out = pl.add ? db : pl.partials;
    const int b_off = pl.add ? 0 : pl.chunks * C;
    set_args(o->layernorm_backward_params, 11, ARG(w_out), ARG(b_out), ARG(b_off), ARG(dout), ARG(inp), ARG(mean),
             ARG(rstd), ARG(N), ARG(C), ARG(pl.rows), ARG(pl.add));
    launch_columns(o, o->layernorm_backward_params, "layernorm_backward_params", C, pl.chunks);
    column_finish(o, &pl, dw, db, C);
}

void op_residual_layernorm_forward(Ops *o, cl_mem res, cl_mem out, cl_mem mean, cl_mem rstd, cl_mem a, cl_mem b,
                                   cl_mem bias, cl_mem w, cl_mem lnb, int N, int C) {
    set_args(o->residual_layernorm_forward, 11, ARG(res), ARG(out), ARG(mean), ARG(rstd), ARG(a), ARG(b), ARG(bias),
             ARG(w), ARG(lnb), ARG(N), ARG(C));
    launch_row_groups(o, o->residual_layernorm_forward, "residual_layernorm_forward", (size_t)N, KP_LN_WG,
                      KP_LN_ROWS);
}

// ---- linear layers ----
void op_matmul_forward(Ops *o, cl_mem out, cl_mem inp, cl_mem w, cl_mem bias, int N, int C, int OC) {
    gemm(o, 0, 1, (size_t)N, (size_t)OC, (size_t)C, 1.0f, inp, (size_t)C, w, (size_t)C, 0.0f, out, (size_t)OC);
    if (bias) op_add_bias(o, out, bias, N, OC);
}

void op_add_bias(Ops *o, cl_mem out, cl_mem bias, int N, int OC) {
    set_args(o->add_bias, 4, ARG(out), ARG(bias), ARG(N), ARG(OC));
    launch_1d(o, add_bias, (size_t)N * OC);
}

void op_column_sum(Ops *o, cl_mem dst, cl_mem src, int N, int C) { column_sum(o, dst, src, N, C, 0); }

void op_matmul_backward(Ops *o, cl_mem dinp, cl_mem dw, cl_mem dbias, cl_mem dout, cl_mem inp, cl_mem w, int N, int C,
                        int OC) {
    if (dinp) gemm(o, 0, 0, (size_t)N, (size_t)C, (size_t)OC, 1.0f, dout, (size_t)OC, w, (size_t)C, 0.0f, dinp, (size_t)C);
    gemm(o, 1, 0, (size_t)OC, (size_t)C, (size_t)N, 1.0f, dout, (size_t)OC, inp, (size_t)C, 1.0f, dw, (size_t)C);
    if (dbias) column_sum(o, dbias, dout, N, OC, 0);
}

// ---- attention ----
void op_attention_softmax(Ops *o, cl_mem att, int N, int T) {
    set_args(o->attention_softmax, 3, ARG(att), ARG(N), ARG(T));
    launch_row_groups(o, o->attention_softmax, "attention_softmax", (size_t)N, KP_SOFTMAX_WG, KP_SOFTMAX_ROWS);
}

void op_attention_softmax_backward(Ops *o, cl_mem datt, cl_mem att, int N, int T) {
    set_args(o->attention_softmax_backward, 4, ARG(datt), ARG(att), ARG(N), ARG(T));
    launch_row_groups(o, o->attention_softmax_backward, "attention_softmax_backward", (size_t)N, KP_SOFTMAX_WG,
                      KP_SOFTMAX_ROWS);
}

void op_attention_forward(Ops *o, cl_mem out, cl_mem att, cl_mem qkv, cl_mem bias, cl_mem q, cl_mem k, cl_mem v,
                          cl_mem y, int B, int T, int C, int NH) {
    int hs = C / NH, use_bias = bias != NULL;
    size_t th = (size_t)T * hs, tt = (size_t)T * T, batch = (size_t)B * NH;
    cl_mem b = bias ? bias : qkv;  // not read without use_bias
    set_args(o->attention_split_heads, 10, ARG(q), ARG(k), ARG(v), ARG(qkv), ARG(b), ARG(use_bias), ARG(B), ARG(T),
             ARG(NH), ARG(hs));
    launch_vec(o, attention_split_heads, (size_t)B * T * C);
    // att (T,T) = q k^T / sqrt(hs), per (b,h)
    gemm_batched(o, 0, 1, T, T, hs, 1.0f / sqrtf((float)hs), q, hs, th, k, hs, th, 0.0f, att, T, tt, batch);
    op_attention_softmax(o, att, (int)(batch * T), T);
    // y (T,hs) = att v
    gemm_batched(o, 0, 0, T, hs, T, 1.0f, att, T, tt, v, hs, th, 0.0f, y, hs, th, batch);
    set_args(o->attention_merge_heads, 6, ARG(out), ARG(y), ARG(B), ARG(T), ARG(NH), ARG(hs));
    launch_vec(o, attention_merge_heads, (size_t)B * T * C);
}

void op_attention_backward(Ops *o, cl_mem dqkv, cl_mem dout, cl_mem qkv, cl_mem att, cl_mem q, cl_mem k, cl_mem v,
                           cl_mem datt, cl_mem dq, cl_mem dk, cl_mem dv, cl_mem dy, int B, int T, int C, int NH) {
    int hs = C / NH;
    size_t th = (size_t)T * hs, tt = (size_t)T * T, batch = (size_t)B * NH;
    float scale = 1.0f / sqrtf((float)hs);
    // q, k, v are recomputed rather than kept per layer: one cheap copy instead of 3 (B,T,C) buffers per layer.
    int no_bias = 0;
    set_args(o->attention_split_heads, 10, ARG(q), ARG(k), ARG(v), ARG(qkv), ARG(qkv), ARG(no_bias), ARG(B), ARG(T),
             ARG(NH), ARG(hs));
    launch_vec(o, attention_split_heads, (size_t)B * T * C);
    set_args(o->attention_split_grad, 6, ARG(dy), ARG(dout), ARG(B), ARG(T), ARG(NH), ARG(hs));
    launch_vec(o, attention_split_grad, (size_t)B * T * C);
    // datt = dy v^T ; dv = att^T dy
    gemm_batched(o, 0, 1, T, T, hs, 1.0f, dy, hs, th, v, hs, th, 0.0f, datt, T, tt, batch);
    gemm_batched(o, 1, 0, T, hs, T, 1.0f, att, T, tt, dy, hs, th, 0.0f, dv, hs, th, batch);
    op_attention_softmax_backward(o, datt, att, (int)(batch * T), T);
    // dq = dpre k * scale ; dk = dpre^T q * scale
    gemm_batched(o, 0, 0, T, hs, T, scale, datt, T, tt, k, hs, th, 0.0f, dq, hs, th, batch);
    gemm_batched(o, 1, 0, T, hs, T, scale, datt, T, tt, q, hs, th, 0.0f, dk, hs, th, batch);
    set_args(o->attention_merge_qkv_grad, 8, ARG(dqkv), ARG(dq), ARG(dk), ARG(dv), ARG(B), ARG(T), ARG(NH), ARG(hs));
    launch_vec(o, attention_merge_qkv_grad, (size_t)B * T * C);
}

// ---- fused attention ----
int ops_attention_fused(const Ops *o, int hs) { return o->kp.v[KP_ATTN_FUSED] && hs <= ATTN_HS_MAX; }

// The fused kernels' grid: work-items over T rows (in groups of ATTN_BQ) x B*NH heads.
static void launch_attention(Ops *o, cl_kernel k, const char *name, int B, int T, int NH) {
    size_t bq = (size_t)o->kp.v[KP_ATTN_BQ], local[2] = {bq, 1}, global[2] = {round_up((size_t)T, bq), (size_t)B * NH};
    launch(o, k, name, 2, global, local);
}

void op_attention_fused_forward(Ops *o, cl_mem out, cl_mem lse, cl_mem qkv, int B, int T, int C, int NH) {
    int hs = C / NH;
    float scale = 1.0f / sqrtf((float)hs);
    set_args(o->attention_fused_forward, 7, ARG(out), ARG(lse), ARG(qkv), ARG(T), ARG(NH), ARG(hs), ARG(scale));
    launch_attention(o, o->attention_fused_forward, "attention_fused_forward", B, T, NH);
}

void op_attention_fused_backward(Ops *o, cl_mem dqkv, cl_mem dsum, cl_mem dout, cl_mem out, cl_mem qkv, cl_mem lse,
                                 int B, int T, int C, int NH) {
    int hs = C / NH;
    float scale = 1.0f / sqrtf((float)hs);
    set_args(o->attention_fused_backward_q, 10, ARG(dqkv), ARG(dsum), ARG(dout), ARG(out), ARG(qkv), ARG(lse), ARG(T),
             ARG(NH), ARG(hs), ARG(scale));
    launch_attention(o, o->attention_fused_backward_q, "attention_fused_backward_q", B, T, NH);
    set_args(o->attention_fused_backward_kv, 9, ARG(dqkv), ARG(dout), ARG(qkv), ARG(lse), ARG(dsum), ARG(T), ARG(NH),
             ARG(hs), ARG(scale));
    launch_attention(o, o->attention_fused_backward_kv, "attention_fused_backward_kv", B, T, NH);
}

// ---- elementwise ----
void op_gelu_forward(Ops *o, cl_mem out, cl_mem inp, int n) {
    set_args(o->gelu_forward, 3, ARG(out), ARG(inp), ARG(n));
    launch_vec(o, gelu_forward, (size_t)n);
}

void op_gelu_backward(Ops *o, cl_mem dinp, cl_mem inp, cl_mem dout, int n) {
    set_args(o->gelu_backward, 4, ARG(dinp), ARG(inp), ARG(dout), ARG(n));
    launch_vec(o, gelu_backward, (size_t)n);
}

void op_bias_gelu_forward(Ops *o, cl_mem out, cl_mem pre, cl_mem bias, int N, int OC) {
    int n = N * OC;
    set_args(o->bias_gelu_forward, 5, ARG(out), ARG(pre), ARG(bias), ARG(n), ARG(OC));
    launch_vec(o, bias_gelu_forward, (size_t)n);
}

void op_gelu_backward_bias(Ops *o, cl_mem dinp, cl_mem dbias, cl_mem inp, cl_mem dout, int N, int OC) {
    if (o->dry_run || N <= 0 || OC <= 0) return;
    ColumnPlan pl = column_plan(o, N, OC, 1, 0);
    cl_mem out = pl.add ? dbias : pl.partials;
    set_args(o->gelu_backward_bias, 8, ARG(dinp), ARG(out), ARG(inp), ARG(dout), ARG(N), ARG(OC), ARG(pl.rows),
             ARG(pl.add));
    launch_columns(o, o->gelu_backward_bias, "gelu_backward_bias", OC, pl.chunks);
    column_finish(o, &pl, dbias, dbias, OC);
}

void op_residual_forward(Ops *o, cl_mem out, cl_mem a, cl_mem b, int n) {
    set_args(o->residual_forward, 4, ARG(out), ARG(a), ARG(b), ARG(n));
    launch_vec(o, residual_forward, (size_t)n);
}

void op_accumulate(Ops *o, cl_mem dst, cl_mem src, int n) {
    set_args(o->accumulate, 3, ARG(dst), ARG(src), ARG(n));
    launch_vec(o, accumulate, (size_t)n);
}

// ---- loss ----
void op_crossentropy(Ops *o, cl_mem logits, cl_mem losses, cl_mem targets, int N, int V, int Vp, float dloss) {
    set_args(o->crossentropy_forward_backward, 6, ARG(logits), ARG(losses), ARG(targets), ARG(V), ARG(Vp), ARG(dloss));
    launch_rows(o, crossentropy_forward_backward, (size_t)N);
}

void op_loss_sum(Ops *o, cl_mem acc, cl_mem losses, int n, float scale) {
    set_args(o->loss_sum, 4, ARG(acc), ARG(losses), ARG(n), ARG(scale));
    launch_rows(o, loss_sum, 1);
}

// ---- optimizer support ----
void op_grad_norm(Ops *o, cl_mem stats, cl_mem partials, cl_mem grads, size_t n, float max_norm) {
    cl_ulong nn = n;
    set_args(o->sumsq_partial, 3, ARG(partials), ARG(grads), ARG(nn));
    launch_rows(o, sumsq_partial, (size_t)o->kp.v[KP_NORM_GROUPS]);
    set_args(o->grad_norm_finalize, 3, ARG(stats), ARG(partials), ARG(max_norm));
    launch_rows(o, grad_norm_finalize, 1);
}

void op_adamw(Ops *o, cl_mem params, cl_mem grads, cl_mem m, cl_mem v, cl_mem stats, size_t offset, size_t n, float lr,
              float beta1, float beta2, float eps, float weight_decay, float bias_correction1, float bias_correction2) {
    cl_ulong off = offset, nn = n;
    set_args(o->adamw_update, 14, ARG(params), ARG(grads), ARG(m), ARG(v), ARG(stats), ARG(off), ARG(nn), ARG(lr),
             ARG(beta1), ARG(beta2), ARG(eps), ARG(weight_decay), ARG(bias_correction1), ARG(bias_correction2));
    launch_vec(o, adamw_update, n);
}

// ---- optimizer variants ----
void op_lion(Ops *o, cl_mem params, cl_mem grads, cl_mem m, cl_mem stats, size_t offset, size_t n, float lr,
             float beta1, float beta2, float weight_decay, float kappa, int nesterov) {
    cl_ulong off = offset, nn = n;
    set_args(o->lion_update, 12, ARG(params), ARG(grads), ARG(m), ARG(stats), ARG(off), ARG(nn), ARG(lr), ARG(beta1),
             ARG(beta2), ARG(weight_decay), ARG(kappa), ARG(nesterov));
    launch_vec(o, lion_update, n);
}

void op_rot_init_rows(Ops *o, cl_mem params, cl_mem target, size_t offset, size_t rows, int cols, size_t row_base,
                      int zero_mean) {
    cl_ulong off = offset, rb = row_base;
    set_args(o->rot_init_rows, 6, ARG(params), ARG(target), ARG(off), ARG(cols), ARG(rb), ARG(zero_mean));
    launch_rows(o, rot_init_rows, rows);
}

void op_rot_update_rows(Ops *o, cl_mem params, cl_mem grads, cl_mem m, cl_mem v, cl_mem stats, cl_mem target,
                        cl_mem snr, size_t offset, size_t rows, int cols, size_t row_base, const RotArgs *a) {
    cl_ulong off = offset, rb = row_base;
    set_args(o->rot_update_rows, 20, ARG(params), ARG(grads), ARG(m), ARG(v), ARG(stats), ARG(target), ARG(snr),
             ARG(a->rho_index), ARG(off), ARG(cols), ARG(rb), ARG(a->mode), ARG(a->theta), ARG(a->beta1),
             ARG(a->beta2), ARG(a->eps), ARG(a->bc1), ARG(a->bc2), ARG(a->nesterov), ARG(a->zero_mean));
    launch_rows(o, rot_update_rows, rows);
}

// ---- measurements ----
void op_row_delta_stats(Ops *o, cl_mem out, cl_mem w_old, cl_mem w_new, size_t offset, size_t rows, int cols,
                        size_t out_base) {
    cl_ulong off = offset, ob = out_base;
    set_args(o->row_delta_stats, 6, ARG(out), ARG(w_old), ARG(w_new), ARG(off), ARG(cols), ARG(ob));
    launch_rows(o, row_delta_stats, rows);
}

void op_pair_stats(Ops *o, cl_mem out, cl_mem partials, cl_mem x, cl_mem y, size_t offset, size_t n, int slot,
                   int accumulate) {
    cl_ulong off = offset, nn = n;
    set_args(o->pair_stats_partial, 5, ARG(partials), ARG(x), ARG(y), ARG(off), ARG(nn));
    launch_rows(o, pair_stats_partial, (size_t)o->kp.v[KP_NORM_GROUPS]);
    set_args(o->pair_stats_finalize, 4, ARG(out), ARG(partials), ARG(slot), ARG(accumulate));
    launch_rows(o, pair_stats_finalize, 1);
}

void op_output_sumsq(Ops *o, cl_mem out, cl_mem partials, cl_mem a, cl_mem b, cl_mem bias, size_t bias_offset,
                     int N, int OC, int slot) {
    cl_ulong boff = bias_offset, nn = (cl_ulong)N * (cl_ulong)OC;
    int use_b = b != NULL, acc = 0;
    cl_mem bb = b ? b : a;
    set_args(o->output_sumsq_partial, 8, ARG(partials), ARG(a), ARG(bb), ARG(use_b), ARG(bias), ARG(boff), ARG(OC),
             ARG(nn));
    launch_rows(o, output_sumsq_partial, (size_t)o->kp.v[KP_NORM_GROUPS]);
    set_args(o->pair_stats_finalize, 4, ARG(out), ARG(partials), ARG(slot), ARG(acc));
    launch_rows(o, pair_stats_finalize, 1);
}

void op_sub_range(Ops *o, cl_mem dst, cl_mem a, cl_mem b, size_t offset, size_t n) {
    cl_ulong off = offset, nn = n;
    set_args(o->sub_range, 5, ARG(dst), ARG(a), ARG(b), ARG(off), ARG(nn));
    launch_1d(o, sub_range, n);
}

void op_snr_update(Ops *o, cl_mem snr, cl_mem total, cl_mem micro, int count, float b, float B, float accum,
                   float ema) {
    set_args(o->snr_update, 8, ARG(snr), ARG(total), ARG(micro), ARG(count), ARG(b), ARG(B), ARG(accum), ARG(ema));
    size_t one = 1;
    launch(o, o->snr_update, "snr_update", 1, &one, &one);
}
