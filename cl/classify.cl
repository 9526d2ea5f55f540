// The sequence-classification head's row selection: one row of the final
// LayerNorm's output per sequence (its last non-padding position) goes to the
// head, and the head's gradient goes back to that row only.

// out (B,C) = inp[b, last[b], :] of inp (B,T,C)
__kernel void gather_rows(__global float *out, __global const float *inp, __global const int *last, int B, int T,
                          int C) {
    const int i = get_global_id(0);
    if (i >= B * C) return;
    const int b = i / C, c = i % C;
    out[i] = inp[((size_t)b * T + last[b]) * C + c];
}

// dinp (B,T,C) = drow[b, :] at t == last[b], zero elsewhere (overwritten)
__kernel void scatter_rows(__global float *dinp, __global const float *drow, __global const int *last, int B, int T,
                           int C) {
    const int i = get_global_id(0);
    if (i >= B * T * C) return;
    const int bt = i / C, c = i % C, b = bt / T, t = bt % T;
    dinp[i] = t == last[b] ? drow[(size_t)b * C + c] : 0.0f;
}
