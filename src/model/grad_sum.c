#include <stdlib.h>

#include "model/model.h"
#include "util/comm.h"
#include "util/util.h"

Status gpt2_sum_grads(GPT2 *m) {
    if (comm_size() == 1) return STATUS_OK;
    // One buffer: the gradients (alignment gaps hold zeros on every rank), then the loss accumulator.
    const size_t n = m->padded_elems;
    float *host = mallocCheck((n + 1) * sizeof(float));
    device_read(m->dev, m->grads.parent, 0, n * sizeof(float), host);
    device_read(m->dev, m->stats, 0, sizeof(float), host + n);
    Status s = device_status(m->dev);
    if (!s) s = comm_sum_floats(host, n + 1);
    if (!s) {
        device_write(m->dev, m->grads.parent, 0, n * sizeof(float), host);
        device_write(m->dev, m->stats, 0, sizeof(float), host + n);
    }
    free(host);
    return s;
}

Status gpt2_sum_over_ranks(const GPT2 *m, cl_mem buf, size_t n) {
    if (comm_size() == 1) return STATUS_OK;
    float *host = mallocCheck(n * sizeof(float));
    device_read(m->dev, buf, 0, n * sizeof(float), host);
    Status s = device_status(m->dev);
    if (!s) s = comm_sum_floats(host, n);
    if (!s) device_write(m->dev, buf, 0, n * sizeof(float), host);
    free(host);
    return s;
}
