#include "train/shares.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/parse_num.h"
#include "util/util.h"

// The size weights of balance into w (all 1 for "equal").
static Status parse_weights(const char *balance, int size, double *w) {
    if (!strcmp(balance, "equal") || !balance[0]) {
        for (int r = 0; r < size; r++) w[r] = 1;
        return STATUS_OK;
    }
    char *copy = strdup_check(balance), *save = NULL;
    int n = 0;
    Status s = STATUS_OK;
    for (char *tok = strtok_r(copy, ",", &save); tok && !s; tok = strtok_r(NULL, ",", &save), n++) {
        char err[128];
        if (n >= size) s = fail(STATUS_INPUT, "balance = %s gives more weights than the %d rank(s)", balance, size);
        else if (!parse_double(tok, 1e-9, 1e9, &w[n], err, sizeof err))
            s = fail(STATUS_INPUT, "balance = %s: %s (weights are positive numbers)", balance, err);
    }
    free(copy);
    if (!s && n != size)
        s = fail(STATUS_INPUT, "balance = %s gives %d weight(s) for %d rank(s): give one per rank, or equal", balance,
                 n, size);
    return s;
}

// rows[r] proportional to w, each >= 1, summing to B: floors, then the largest remainders.
static void split_rows(const double *w, int size, int B, int *rows) {
    double total = 0;
    for (int r = 0; r < size; r++) total += w[r];
    int left = B - size;  // one row each first
    double *frac = mallocCheck((size_t)size * sizeof(double));
    for (int r = 0; r < size; r++) {
        double ideal = left * w[r] / total;
        rows[r] = 1 + (int)floor(ideal);
        frac[r] = ideal - floor(ideal);
    }
    for (int r = 0; r < size; r++) left -= rows[r] - 1;
    while (left-- > 0) {
        int best = 0;
        for (int r = 1; r < size; r++)
            if (frac[r] > frac[best]) best = r;
        rows[best]++;
        frac[best] = -1;
    }
    free(frac);
}

static Status all_rows(const char *balance, int B, int size, int *rows) {
    if (B < size)
        return fail(STATUS_INPUT, "batch_size (%d) is smaller than the number of ranks (%d): each rank needs a sequence",
                    B, size);
    double *w = mallocCheck((size_t)size * sizeof(double));
    Status s = parse_weights(balance, size, w);
    if (!s) split_rows(w, size, B, rows);
    free(w);
    return s;
}

Status batch_share(const char *balance, int batch_size, int rank, int size, BatchShare *out) {
    int *rows = mallocCheck((size_t)size * sizeof(int));
    Status s = all_rows(balance, batch_size, size, rows);
    if (!s) {
        out->first = 0;
        for (int r = 0; r < rank; r++) out->first += rows[r];
        out->rows = rows[rank];
    }
    free(rows);
    return s;
}

int batch_shares_equal(const char *balance, int batch_size, int size) {
    int *rows = mallocCheck((size_t)size * sizeof(int));
    int equal = !all_rows(balance, batch_size, size, rows);
    for (int r = 1; r < size && equal; r++) equal = rows[r] == rows[0];
    free(rows);
    return equal;
}
