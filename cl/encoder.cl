// Token + position embedding.

// out (B,T,C) = wte[inp[b,t]] + wpe[t]
__kernel void encoder_forward(__global float *out, __global const int *inp, __global const float *wte,
                              __global const float *wpe, int BT, int T, int C) {
    const int i = get_global_id(0);
    if (i >= BT * C) return;
    const int bt = i / C, c = i % C, t = bt % T;
    out[i] = wte[(size_t)inp[bt] * C + c] + wpe[(size_t)t * C + c];
}

// dwte[tok] += sum of dout over the positions holding tok. The host groups the
// positions of each distinct token into buckets when it uploads the batch, so
// every (token, channel) is summed by one work-item in a fixed order: no atomics
// and bit-reproducible results.
// bucket_tokens (U), bucket_start (U+1), bucket_pos (BT); global size (C, U).
__kernel void encoder_backward_wte(__global float *dwte, __global const float *dout,
                                   __global const int *bucket_tokens, __global const int *bucket_start,
                                   __global const int *bucket_pos, int C) {
    const int c = get_global_id(0), u = get_global_id(1);
    if (c >= C) return;
    float acc = 0.0f;
    for (int j = bucket_start[u]; j < bucket_start[u + 1]; j++) acc += dout[(size_t)bucket_pos[j] * C + c];
    dwte[(size_t)bucket_tokens[u] * C + c] += acc;
}
