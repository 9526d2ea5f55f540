#include "train/shares.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/parse_num.h"
#include "util/util.h"

// The size weights of balance into w (all 1 for "equal" and, until measured, "auto").
static Status parse_weights(const char *balance, int size, double *w) {
    if (!strcmp(balance, "equal") || !strcmp(balance, "auto") || !balance[0]) {
        for (int r = 0; r < size; r++) w[r] = 1;
        return STATUS_OK;
    }
    int n = 1;
    for (const char *p = balance; *p; p++) n += *p == ',';
    if (n != size)
        return fail(STATUS_INPUT, "balance = %s gives %d weight(s) for %d rank(s): give one per rank, equal or auto",
                    balance, n, size);
    char *copy = strdup_check(balance), *save = NULL, *tok = strtok_r(copy, ",", &save);
    Status s = STATUS_OK;
    for (int r = 0; r < size && !s; r++, tok = strtok_r(NULL, ",", &save)) {
        char err[128];
        if (!tok || !parse_double(tok, 1e-9, 1e9, &w[r], err, sizeof err))
            s = fail(STATUS_INPUT, "balance = %s: %s (give equal, auto or positive weights w1,w2,...)", balance,
                     tok ? err : "an empty weight");
    }
    free(copy);
    return s;
}

// Floors of the proportional shares, the remainder to the largest fractions,
// then a row for any rank left without one, from the rank with the most.
void batch_rows_weighted(const double *w, int size, int B, int *rows) {
    double total = 0;
    for (int r = 0; r < size; r++) total += w[r];
    double *frac = mallocCheck((size_t)size * sizeof(double));
    int left = B;
    for (int r = 0; r < size; r++) {
        double ideal = B * w[r] / total;
        rows[r] = (int)floor(ideal);
        frac[r] = ideal - rows[r];
        left -= rows[r];
    }
    while (left-- > 0) {
        int best = 0;
        for (int r = 1; r < size; r++)
            if (frac[r] > frac[best]) best = r;
        rows[best]++;
        frac[best] = -1;
    }
    for (int r = 0; r < size; r++) {
        if (rows[r] > 0) continue;
        int most = 0;
        for (int k = 1; k < size; k++)
            if (rows[k] > rows[most]) most = k;
        rows[most]--;
        rows[r]++;
    }
    free(frac);
}

Status batch_rows(const char *balance, int B, int size, int *rows) {
    if (B < size)
        return fail(STATUS_INPUT, "batch_size (%d) is smaller than the number of ranks (%d): each rank needs a sequence",
                    B, size);
    double *w = mallocCheck((size_t)size * sizeof(double));
    Status s = parse_weights(balance, size, w);
    if (!s) batch_rows_weighted(w, size, B, rows);
    free(w);
    return s;
}

BatchShare batch_share_of(const int *rows, int rank) {
    BatchShare share = {0, rows[rank]};
    for (int r = 0; r < rank; r++) share.first += rows[r];
    return share;
}

int batch_shares_equal(const char *balance, int batch_size, int size) {
    if (!strcmp(balance, "auto")) return size == 1;
    int *rows = mallocCheck((size_t)size * sizeof(int));
    int equal = !batch_rows(balance, batch_size, size, rows);
    for (int r = 1; r < size && equal; r++) equal = rows[r] == rows[0];
    free(rows);
    return equal;
}
