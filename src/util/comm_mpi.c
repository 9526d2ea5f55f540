// The ranks of an MPI job (MPI_COMM_WORLD).
#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/comm.h"

static int rank_, size_ = 1, local_rank_, started_;

Status comm_init(int *argc, char ***argv) {
    if (!getenv("OMPI_COMM_WORLD_SIZE") && !getenv("PMI_SIZE") && !getenv("PMIX_RANK")) return STATUS_OK;
    if (MPI_Init(argc, argv) != MPI_SUCCESS) return fail(STATUS_IO, "MPI_Init failed");
    started_ = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm node;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node);
    MPI_Comm_rank(node, &local_rank_);
    MPI_Comm_free(&node);
    return STATUS_OK;
}

void comm_finalize(void) {
    if (started_) MPI_Finalize();
    started_ = 0;
}

int comm_rank(void) { return rank_; }
int comm_size(void) { return size_; }
int comm_local_rank(void) { return local_rank_; }

// MPI counts are ints: large buffers go in chunks.
static Status sum(void *buf, size_t n, size_t elem, MPI_Datatype type) {
    if (size_ == 1) return STATUS_OK;
    const size_t chunk = (size_t)INT_MAX / 2;
    for (size_t i = 0; i < n; i += chunk) {
        int count = (int)(n - i < chunk ? n - i : chunk);
        if (MPI_Allreduce(MPI_IN_PLACE, (char *)buf + i * elem, count, type, MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS)
            return fail(STATUS_IO, "MPI_Allreduce failed on rank %d", rank_);
    }
    return STATUS_OK;
}

Status comm_sum_floats(float *buf, size_t n) { return sum(buf, n, sizeof(float), MPI_FLOAT); }
Status comm_sum_doubles(double *buf, size_t n) { return sum(buf, n, sizeof(double), MPI_DOUBLE); }

Status comm_allgather_floats(float *buf, const size_t *first, const size_t *end) {
    if (size_ == 1) return STATUS_OK;
    int *counts = malloc((size_t)size_ * sizeof(int)), *displs = malloc((size_t)size_ * sizeof(int));
    Status s = counts && displs ? STATUS_OK : fail(STATUS_IO, "out of host memory for the all-gather");
    for (int r = 0; r < size_ && !s; r++) {
        if (end[r] > INT_MAX || first[r] > INT_MAX)
            s = fail(STATUS_INPUT, "the all-gather's parts exceed MPI's int counts (2^31 floats)");
        counts[r] = (int)(end[r] - first[r]);
        displs[r] = (int)first[r];
    }
    if (!s && MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, counts, displs, MPI_FLOAT, MPI_COMM_WORLD) !=
                  MPI_SUCCESS)
        s = fail(STATUS_IO, "MPI_Allgatherv failed on rank %d", rank_);
    free(counts);
    free(displs);
    return s;
}

noreturn void comm_abort(int code) {
    if (started_ && size_ > 1) {
        fflush(NULL);
        MPI_Abort(MPI_COMM_WORLD, code);
    }
    exit(code);
}

const char *comm_backend(void) {
    static char name[MPI_MAX_LIBRARY_VERSION_STRING + 8];
    int len = 0;
    char version[MPI_MAX_LIBRARY_VERSION_STRING];
    MPI_Get_library_version(version, &len);
    int cut = 0;
    while (cut < len && version[cut] != ',' && version[cut] != '\n') cut++;
    snprintf(name, sizeof name, "MPI (%.*s)", cut, version);
    return name;
}
