// Causal self-attention without the (B, NH, T, T) matrices (ATTN_FUSED), in
// the manner of FlashAttention: for each query row, one pass over tiles of
// keys computes the scores, the causal softmax (with a running maximum and
// sum) and the weighted sum of the values. The forward keeps each row's
// log-sum-exp of the scaled scores, from which the backward recomputes the
// probabilities. q, k, v are read straight from qkv (B,T,3C) and the results
// written in (B,T,C) and (B,T,3C) layout: no head split or merge copies.
//
// Work-groups of ATTN_BQ work-items, one row each (query rows; key rows in
// the key/value gradient), over a 2-D grid (T rounded up to ATTN_BQ, B*NH).
// Tiles of ATTN_BK rows of the other side go to local memory, loaded by the
// whole group, once as rows and once transposed: a row's scores against a
// tile are one ATTN_BK-wide vector (so exp() runs on vectors), and its
// head-sized accumulators are vectors of ATTN_VW floats. Head sizes up to
// ATTN_HS_MAX (set by the host, src/runtime/ops.h), zero-padded past hs.
#define HSV (ATTN_HS_MAX / ATTN_VW)    // head vectors per row
#define floatBK FLOATN(ATTN_BK)         // one score per row of a tile
#define LOADBK(p) VLOADN(ATTN_BK)(0, (p))
#define floatHV FLOATN(ATTN_VW)         // ATTN_VW floats of a head row
#define LOADHV(p) VLOADN(ATTN_VW)(0, (p))
LANES_REDUCE(lanes_sum_bk, floatBK, ATTN_BK, WG_ADD, 0.0f)
LANES_REDUCE(lanes_max_bk, floatBK, ATTN_BK, fmax, -INFINITY)
__constant float attn_iota[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

// Rows j0 .. j0+n-1 of one head (row 0 at src, rows `stride` floats apart)
// into a tile of ATTN_BK rows: rows[j*ATTN_HS_MAX + d] and, unless NULL,
// cols[d*ATTN_BK + j] (transposed). Rows past n and columns past hs are 0.
// The group's items share the tile's vectors of ATTN_VW floats.
inline void attn_load_tile(__local float *rows, __local float *cols, __global const float *src, size_t stride, int j0,
                           int n, int hs) {
    for (int e = get_local_id(0); e < ATTN_BK * HSV; e += ATTN_BQ) {
        const int j = e / HSV, d0 = e % HSV * ATTN_VW;
        __global const float *x = src + (size_t)(j0 + j) * stride + d0;
        floatHV y = 0.0f;
        if (j < n && d0 + ATTN_VW <= hs) {
            y = LOADHV(x);
        } else if (j < n) {
            float part[ATTN_VW];
            for (int d = 0; d < ATTN_VW; d++) part[d] = d0 + d < hs ? x[d] : 0.0f;
            y = LOADHV(part);
        }
        if (rows) VSTOREN(ATTN_VW)(y, 0, rows + j * ATTN_HS_MAX + d0);
        if (cols) {
            float part[ATTN_VW];
            VSTOREN(ATTN_VW)(y, 0, part);
            for (int d = 0; d < ATTN_VW; d++) cols[(d0 + d) * ATTN_BK + j] = part[d];
        }
    }
}

// x[d] = row r of src (rows `stride` apart) for d < hs, else 0 (all 0 when !valid).
inline void attn_load_row(float *x, __global const float *src, size_t stride, int r, int hs, int valid) {
    for (int d = 0; d < ATTN_HS_MAX; d++) x[d] = valid && d < hs ? src[(size_t)r * stride + d] : 0.0f;
}

// Row r of dst (rows `stride` apart), its first hs columns, = scale * x.
inline void attn_store_row(__global float *dst, size_t stride, int r, int hs, const floatHV *x, float scale) {
    for (int v = 0; v < HSV; v++) {
        float part[ATTN_VW];
        VSTOREN(ATTN_VW)(scale * x[v], 0, part);
        for (int e = 0; e < ATTN_VW; e++)
            if (v * ATTN_VW + e < hs) dst[(size_t)r * stride + v * ATTN_VW + e] = part[e];
    }
}

// The scores of row x against the rows of a tile, from its transposed copy cols.
inline floatBK attn_scores(const float *x, __local const float *cols) {
    floatBK s = 0.0f;
    for (int d = 0; d < ATTN_HS_MAX; d++) s += x[d] * LOADBK(cols + d * ATTN_BK);
    return s;
}

// acc += sum over the tile's rows j of w[j] * rows[j]  (w holds ATTN_BK weights).
inline void attn_accumulate(floatHV *acc, floatBK w, __local const float *rows) {
    float wj[ATTN_BK];
    VSTOREN(ATTN_BK)(w, 0, wj);
    for (int j = 0; j < ATTN_BK; j++)
        for (int v = 0; v < HSV; v++) acc[v] += wj[j] * LOADHV(rows + j * ATTN_HS_MAX + v * ATTN_VW);
}

// The scores s with the entries of rows first + j (j < ATTN_BK) outside [lo, hi] set to -inf.
inline floatBK attn_mask(floatBK s, int first, int lo, int hi) {
    const floatBK idx = LOADBK(attn_iota) + (float)first;
    return select(s, (floatBK)(-INFINITY), isless(idx, (floatBK)((float)lo)) | isgreater(idx, (floatBK)((float)hi)));
}

// out (B,T,C) and lse (B,NH,T) from qkv (B,T,3C); work-item = query row t of head bh = b*NH + h.
__kernel void attention_fused_forward(__global float *out, __global float *lse, __global const float *qkv, int T,
                                      int NH, int hs, float scale) {
    __local float kT[ATTN_HS_MAX * ATTN_BK], vt[ATTN_BK * ATTN_HS_MAX];
    const int t = get_global_id(0), bh = get_global_id(1), b = bh / NH, h = bh % NH, C = NH * hs;
    const size_t stride = 3 * (size_t)C;
    __global const float *q_src = qkv + (size_t)b * T * stride + (size_t)h * hs;  // k at + C, v at + 2C
    float q[ATTN_HS_MAX];
    floatHV o[HSV];
    attn_load_row(q, q_src, stride, t, hs, t < T);
    for (int v = 0; v < HSV; v++) o[v] = 0.0f;
    float m = -INFINITY, l = 0.0f;  // running maximum and sum of exp(score - m)
    const int keys = min(T, (int)(get_group_id(0) + 1) * ATTN_BQ);  // keys [0, keys) reach some row of the group
    for (int j0 = 0; j0 < keys; j0 += ATTN_BK) {
        barrier(CLK_LOCAL_MEM_FENCE);
        attn_load_tile(NULL, kT, q_src + C, stride, j0, min(ATTN_BK, keys - j0), hs);
        attn_load_tile(vt, NULL, q_src + 2 * C, stride, j0, min(ATTN_BK, keys - j0), hs);
        barrier(CLK_LOCAL_MEM_FENCE);
        if (t >= T || j0 > t) continue;  // every key of the tile is in this row's future
        const floatBK s = attn_mask(scale * attn_scores(q, kT), j0, 0, t);
        const float mt = fmax(m, lanes_max_bk(s));
        const float corr = exp(m - mt);  // 0 on the first tile (m = -inf)
        const floatBK p = exp(s - mt);   // 0 for the future
        l = l * corr + lanes_sum_bk(p);
        for (int v = 0; v < HSV; v++) o[v] *= corr;
        attn_accumulate(o, p, vt);
        m = mt;
    }
    if (t >= T) return;
    attn_store_row(out + (size_t)b * T * C + (size_t)h * hs, (size_t)C, t, hs, o, 1.0f / l);
    lse[(size_t)bh * T + t] = m + log(l);
}

// Backward, query side: per query row t, dsum_t = dout_t . out_t, and
// dq_t = scale * sum over j <= t of p_tj (dout_t . v_j - dsum_t) k_j with
// p_tj = exp(scale q_t . k_j - lse_t), into the q columns of dqkv (B,T,3C).
__kernel void attention_fused_backward_q(__global float *dqkv, __global float *dsum, __global const float *dout,
                                         __global const float *out, __global const float *qkv,
                                         __global const float *lse, int T, int NH, int hs, float scale) {
    __local float kt[ATTN_BK * ATTN_HS_MAX], kT[ATTN_HS_MAX * ATTN_BK], vT[ATTN_HS_MAX * ATTN_BK];
    const int t = get_global_id(0), bh = get_global_id(1), b = bh / NH, h = bh % NH, C = NH * hs;
    const size_t stride = 3 * (size_t)C, head = (size_t)h * hs;
    __global const float *q_src = qkv + (size_t)b * T * stride + head;
    float q[ATTN_HS_MAX], dO[ATTN_HS_MAX], o[ATTN_HS_MAX];
    attn_load_row(q, q_src, stride, t, hs, t < T);
    attn_load_row(dO, dout + (size_t)b * T * C + head, (size_t)C, t, hs, t < T);
    attn_load_row(o, out + (size_t)b * T * C + head, (size_t)C, t, hs, t < T);
    float D = 0.0f;
    for (int d = 0; d < ATTN_HS_MAX; d++) D += dO[d] * o[d];
    const float L = t < T ? lse[(size_t)bh * T + t] : 0.0f;
    floatHV dq[HSV];
    for (int v = 0; v < HSV; v++) dq[v] = 0.0f;
    const int keys = min(T, (int)(get_group_id(0) + 1) * ATTN_BQ);
    for (int j0 = 0; j0 < keys; j0 += ATTN_BK) {
        barrier(CLK_LOCAL_MEM_FENCE);
        attn_load_tile(kt, kT, q_src + C, stride, j0, min(ATTN_BK, keys - j0), hs);
        attn_load_tile(NULL, vT, q_src + 2 * C, stride, j0, min(ATTN_BK, keys - j0), hs);
        barrier(CLK_LOCAL_MEM_FENCE);
        if (t >= T || j0 > t) continue;
        const floatBK p = exp(attn_mask(scale * attn_scores(q, kT), j0, 0, t) - L);
        attn_accumulate(dq, p * (attn_scores(dO, vT) - D), kt);
    }
    if (t >= T) return;
    attn_store_row(dqkv + (size_t)b * T * stride + head, stride, t, hs, dq, scale);
    dsum[(size_t)bh * T + t] = D;
}

// Backward, key side (after attention_fused_backward_q, for dsum): per key row
// j, over the query rows i >= j, dv_j = sum p_ij dout_i and
// dk_j = scale * sum p_ij (dout_i . v_j - dsum_i) q_i, into the k and v columns of dqkv.
__kernel void attention_fused_backward_kv(__global float *dqkv, __global const float *dout, __global const float *qkv,
                                          __global const float *lse, __global const float *dsum, int T, int NH,
                                          int hs, float scale) {
    __local float qt[ATTN_BK * ATTN_HS_MAX], qT[ATTN_HS_MAX * ATTN_BK], dot_[ATTN_BK * ATTN_HS_MAX],
        doT[ATTN_HS_MAX * ATTN_BK], lse_tile[ATTN_BK], dsum_tile[ATTN_BK];
    const int j = get_global_id(0), bh = get_global_id(1), b = bh / NH, h = bh % NH, C = NH * hs;
    const size_t stride = 3 * (size_t)C, head = (size_t)h * hs;
    __global const float *q_src = qkv + (size_t)b * T * stride + head;
    __global const float *do_src = dout + (size_t)b * T * C + head;
    float k[ATTN_HS_MAX], v[ATTN_HS_MAX];
    floatHV dk[HSV], dv[HSV];
    attn_load_row(k, q_src + C, stride, j, hs, j < T);
    attn_load_row(v, q_src + 2 * C, stride, j, hs, j < T);
    for (int x = 0; x < HSV; x++) dk[x] = dv[x] = 0.0f;
    for (int i0 = get_group_id(0) * ATTN_BQ; i0 < T; i0 += ATTN_BK) {  // queries from the group's first key on
        const int n = min(ATTN_BK, T - i0);
        barrier(CLK_LOCAL_MEM_FENCE);
        attn_load_tile(qt, qT, q_src, stride, i0, n, hs);
        attn_load_tile(dot_, doT, do_src, (size_t)C, i0, n, hs);
        for (int e = get_local_id(0); e < ATTN_BK; e += ATTN_BQ) {  // 0 past T: finite, and masked below
            lse_tile[e] = e < n ? lse[(size_t)bh * T + i0 + e] : 0.0f;
            dsum_tile[e] = e < n ? dsum[(size_t)bh * T + i0 + e] : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        if (j >= T || i0 + n <= j) continue;  // every query of the tile is before this key
        const floatBK s = attn_mask(scale * attn_scores(k, qT), i0, j, T - 1);
        const floatBK p = exp(s - LOADBK(lse_tile));
        attn_accumulate(dv, p, dot_);
        attn_accumulate(dk, p * (attn_scores(v, doT) - LOADBK(dsum_tile)), qt);
    }
    if (j >= T) return;
    __global float *dst = dqkv + (size_t)b * T * stride + head;
    attn_store_row(dst + C, stride, j, hs, dk, scale);
    attn_store_row(dst + 2 * C, stride, j, hs, dv, 1.0f);
}
