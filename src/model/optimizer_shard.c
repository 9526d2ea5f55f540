// ZeRO-1: the optimizer state of a rank's shard, the spans its update runs
// over, and the collectives that put the parameters and the state together.
#include <stdlib.h>
#include <string.h>

#include "model/freeze.h"
#include "model/optimizer_shard.h"
#include "util/comm.h"
#include "util/util.h"

// The first place at or after target where a shard may start: an aligned
// offset that is a row boundary of its slice (or in a gap between slices), so
// sub-buffers can start there and no row is split.
static size_t cut_at(const GPT2 *m, size_t target) {
    const size_t align = m->dev->base_align_bytes / sizeof(float);
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) {
        const ParamTensor *pt = &m->tensors[i];
        for (int l = 0; l < pt->num_slices; l++) {
            size_t off = pt->offset[l], end = off + pt->slice_elems;
            if (target <= off) return off;
            if (target >= end) continue;
            size_t row = (target - off + pt->cols - 1) / pt->cols;
            for (; row < pt->rows; row++)
                if ((off + row * pt->cols) % align == 0) return off + row * pt->cols;
            target = end;  // no aligned row boundary left in this slice: the next slice's start
        }
    }
    return m->padded_elems;
}

// Equal parts of the layout, each cut where a shard may start.
static void shard_ranges(const GPT2 *m, OptimizerShard *sh) {
    sh->first[0] = 0;
    for (int r = 1; r < sh->ranks; r++) {
        size_t cut = cut_at(m, (size_t)((double)m->padded_elems * r / sh->ranks));
        sh->first[r] = cut > sh->first[r - 1] ? cut : sh->first[r - 1];
    }
    for (int r = 0; r < sh->ranks; r++) sh->end[r] = r + 1 < sh->ranks ? sh->first[r + 1] : m->padded_elems;
}

size_t optimizer_state_elems(const Optimizer *opt, const GPT2 *m) {
    if (!opt->shard) return m->padded_elems;
    size_t n = opt->shard->end[opt->shard->rank] - opt->shard->first[opt->shard->rank];
    return n ? n : 1;  // OpenCL has no empty buffer
}

size_t optimizer_state_bytes(const Optimizer *opt, const GPT2 *m) {
    return (size_t)opt->kind->num_state * optimizer_state_elems(opt, m) * sizeof(float);
}

Status optimizer_shard_create(Optimizer *opt, GPT2 *m, int rank, int ranks) {
    OptimizerShard *sh = callocCheck(1, sizeof *sh);
    opt->shard = sh;
    sh->rank = rank;
    sh->ranks = ranks;
    sh->first = mallocCheck((size_t)ranks * sizeof(size_t));
    sh->end = mallocCheck((size_t)ranks * sizeof(size_t));
    shard_ranges(m, sh);
    size_t first = sh->first[rank], end = sh->end[rank];
    if (end > first) {
        sh->params = device_sub_buffer(m->dev, m->params.parent, first * sizeof(float), (end - first) * sizeof(float));
        sh->grads = device_sub_buffer(m->dev, m->grads.parent, first * sizeof(float), (end - first) * sizeof(float));
    }
    return device_status(m->dev);
}

void optimizer_shard_free(Optimizer *opt) {
    OptimizerShard *sh = opt->shard;
    if (!sh) return;
    if (sh->params) CL_CHECK(clReleaseMemObject(sh->params));
    if (sh->grads) CL_CHECK(clReleaseMemObject(sh->grads));
    free(sh->first);
    free(sh->end);
    free(sh);
    opt->shard = NULL;
}

// The part [*lo, *hi) of slice l of tensor i in this rank's range; 0 if none.
static int slice_part(const OptimizerShard *sh, const ParamTensor *pt, int l, size_t *lo, size_t *hi) {
    size_t off = pt->offset[l], first = sh->first[sh->rank], end = sh->end[sh->rank];
    *lo = off > first ? off : first;
    *hi = off + pt->slice_elems < end ? off + pt->slice_elems : end;
    return *lo < *hi;
}

int optimizer_slice_span(const Optimizer *opt, const GPT2 *m, int i, int l, Span *span) {
    const ParamTensor *pt = &m->tensors[i];
    const OptimizerShard *sh = opt->shard;
    if (pt->frozen[l]) return 0;  // no update, and its state (target norms too) stays zero
    if (!sh) {
        *span = (Span){m->params.parent, m->grads.parent, {opt->state[0], opt->state[1]}, pt->offset[l],
                       pt->slice_elems, 0};
        return 1;
    }
    size_t lo, hi, first = sh->first[sh->rank];
    if (!slice_part(sh, pt, l, &lo, &hi)) return 0;
    *span = (Span){sh->params, sh->grads, {opt->state[0], opt->state[1]}, lo - first, hi - lo,
                   (lo - pt->offset[l]) / pt->cols};
    return 1;
}

int optimizer_tensor_spans(const Optimizer *opt, const GPT2 *m, int i, Span *spans) {
    if (!opt->shard) {  // one launch per run of trained slices (one run when nothing is frozen)
        size_t first, n;
        int count = 0;
        for (int l = 0; tensor_next_run(&m->tensors[i], &l, &first, &n);)
            spans[count++] = (Span){m->params.parent, m->grads.parent, {opt->state[0], opt->state[1]}, first, n, 0};
        return count;
    }
    int n = 0;
    for (int l = 0; l < m->tensors[i].num_slices; l++) n += optimizer_slice_span(opt, m, i, l, &spans[n]);
    return n;
}

Status optimizer_gather_params(const Optimizer *opt, GPT2 *m) {
    const OptimizerShard *sh = opt->shard;
    if (!sh) return STATUS_OK;
    float *host = mallocCheck(m->padded_elems * sizeof(float));
    size_t first = sh->first[sh->rank], end = sh->end[sh->rank];
    if (end > first)
        device_read(m->dev, m->params.parent, first * sizeof(float), (end - first) * sizeof(float), host + first);
    Status s = device_status(m->dev);
    if (!s) s = comm_allgather_floats(host, sh->first, sh->end);
    if (!s) device_write(m->dev, m->params.parent, 0, m->padded_elems * sizeof(float), host);
    free(host);
    return s;
}

// Zeroes, in host (num_rows floats), the target norms of the rows outside this
// rank's range: another rank's, or stale ones from a resume.
static void keep_own_targets(const Optimizer *opt, const GPT2 *m, float *host) {
    const OptimizerShard *sh = opt->shard;
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) {
        const ParamTensor *pt = &m->tensors[i];
        if (!pt->is_matrix) continue;
        size_t base = matrix_row_base(m, i, NULL);
        for (int l = 0; l < pt->num_slices; l++)
            for (size_t row = 0; row < pt->rows; row++) {
                size_t off = pt->offset[l] + row * pt->cols;
                if (off < sh->first[sh->rank] || off >= sh->end[sh->rank]) host[base + (size_t)l * pt->rows + row] = 0;
            }
    }
}

// Copies the state k of this rank's parts between the device and host (llm.c order).
static void copy_parts(const Optimizer *opt, GPT2 *m, int k, float *host, int to_device) {
    const OptimizerShard *sh = opt->shard;
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) {
        const ParamTensor *pt = &m->tensors[i];
        for (int l = 0; l < pt->num_slices; l++) {
            size_t lo, hi;
            if (!slice_part(sh, pt, l, &lo, &hi)) continue;
            float *h = host + pt->llmc_offset + (size_t)l * pt->slice_elems + (lo - pt->offset[l]);
            size_t at = (lo - sh->first[sh->rank]) * sizeof(float), bytes = (hi - lo) * sizeof(float);
            if (to_device) device_write(m->dev, opt->state[k], at, bytes, h);
            else device_read(m->dev, opt->state[k], at, bytes, h);
        }
    }
}

Status optimizer_download_state(const Optimizer *opt, GPT2 *m, int k, float *host) {
    if (k < 0) {
        if (opt->num_rows) device_read(m->dev, opt->target, 0, opt->num_rows * sizeof(float), host);
        TRY(device_status(m->dev));
        if (!opt->shard || !opt->num_rows) return STATUS_OK;
        keep_own_targets(opt, m, host);
        return comm_sum_floats(host, opt->num_rows);  // every row is one rank's: the sum assembles them exactly
    }
    if (!opt->shard) {
        gpt2_download(m, opt->state[k], host);
        return device_status(m->dev);
    }
    memset(host, 0, m->num_parameters * sizeof(float));
    copy_parts(opt, m, k, host, 0);
    TRY(device_status(m->dev));
    return comm_sum_floats(host, m->num_parameters);
}

void optimizer_upload_state(Optimizer *opt, GPT2 *m, int k, const float *host) {
    if (k < 0) {
        if (opt->num_rows) device_write(m->dev, opt->target, 0, opt->num_rows * sizeof(float), host);
    } else if (!opt->shard) {
        gpt2_upload(m, opt->state[k], host);
    } else {
        copy_parts(opt, m, k, (float *)host, 1);
    }
}
