#include "runtime/gemm_record.h"

void gemm_record(GemmRecorder *r, const GemmShape *s) {
    for (int i = 0; i < r->num; i++) {
        if (gemm_shape_equal(&r->log[i], s)) {
            r->log[i].calls++;
            return;
        }
    }
    if (r->num == GEMM_LOG_MAX) return;
    r->log[r->num] = *s;
    r->log[r->num++].calls = 1;
}
