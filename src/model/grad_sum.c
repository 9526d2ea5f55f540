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

Status gpt2_sum_loss(GPT2 *m) {
    if (comm_size() == 1) return STATUS_OK;
    float loss;
    device_read(m->dev, m->stats, 0, sizeof loss, &loss);
    TRY(device_status(m->dev));
    TRY(comm_sum_floats(&loss, 1));
    device_write(m->dev, m->stats, 0, sizeof loss, &loss);
    return STATUS_OK;
}
