#include "train/balance.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/shares.h"
#include "util/comm.h"
#include "util/util.h"

Status balance_open(Balance *b, const char *balance, int ranks) {
    memset(b, 0, sizeof *b);
    b->ranks = ranks;
    b->automatic = ranks > 1 && !strcmp(balance, "auto");
    b->last = callocCheck((size_t)ranks, sizeof(double));
    b->sum = callocCheck((size_t)ranks, sizeof(double));
    return STATUS_OK;
}

void balance_free(Balance *b) {
    free(b->last);
    free(b->sum);
    memset(b, 0, sizeof *b);
}

static int resplit_due(int step) { return step == 3 || step == 10 || (step > 10 && step % 50 == 0); }

Status balance_after_step(Balance *b, int step, double my_seconds, const int *rows, int batch_size, int *new_rows,
                          int *changed) {
    *changed = 0;
    if (b->ranks == 1) return STATUS_OK;
    memset(b->last, 0, (size_t)b->ranks * sizeof(double));
    b->last[comm_rank()] = my_seconds;
    TRY(comm_sum_doubles(b->last, (size_t)b->ranks));
    if (!b->automatic || step == 1) return STATUS_OK;
    for (int r = 0; r < b->ranks; r++) b->sum[r] += b->last[r];
    b->summed++;
    if (!resplit_due(step)) return STATUS_OK;
    double *speed = mallocCheck((size_t)b->ranks * sizeof(double));
    for (int r = 0; r < b->ranks; r++) speed[r] = b->sum[r] > 0 ? rows[r] * b->summed / b->sum[r] : 1;
    batch_rows_weighted(speed, b->ranks, batch_size, new_rows);
    free(speed);
    for (int r = 0; r < b->ranks; r++) *changed |= new_rows[r] != rows[r];
    if (*changed) {
        memset(b->sum, 0, (size_t)b->ranks * sizeof(double));
        b->summed = 0;
    }
    return STATUS_OK;
}

void balance_summary(const Balance *b, const int *rows, double tokens_per_row, char *buf, size_t n) {
    if (b->ranks == 1) {
        buf[0] = '\0';
        return;
    }
    size_t used = (size_t)snprintf(buf, n, " | ranks ");
    for (int r = 0; r < b->ranks && used < n; r++) used += (size_t)snprintf(buf + used, n - used, "%s%d", r ? ":" : "", rows[r]);
    if (used < n) used += (size_t)snprintf(buf + used, n - used, " seq, ");
    for (int r = 0; r < b->ranks && used < n; r++)
        used += (size_t)snprintf(buf + used, n - used, "%s%.0f", r ? ":" : "",
                                 b->last[r] > 0 ? rows[r] * tokens_per_row / b->last[r] : 0.0);
    if (used < n) snprintf(buf + used, n - used, " tok/s");
}
