// Expands `gpt2cl prepare` inputs into an ordered list of readable files.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "util/status.h"

typedef struct {
    char **paths;
    size_t n, cap;
    uint64_t total_bytes;
} InputList;

// A file is added as is; a folder adds every regular file below it (hidden
// names skipped), recursively, each folder's entries in byte order, so the
// order never depends on the file system. Fails on unreadable paths.
Status inputs_add(InputList *l, const char *path);
void inputs_free(InputList *l);
