#include "text/prepare_inputs.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/util.h"

static Status push(InputList *l, const char *path, uint64_t size) {
    // Fail now rather than after hours of tokenizing the files before it.
    FILE *f;
    TRY(open_user_file(path, "input", &f));
    fclose(f);
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        char **p = realloc(l->paths, l->cap * sizeof(char *));
        if (!p) out_of_memory("listing inputs");
        l->paths = p;
    }
    l->paths[l->n++] = strdup_check(path);
    l->total_bytes += size;
    return STATUS_OK;
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static Status add_dir(InputList *l, const char *dir, int depth);

// Adds a folder's entry (depth: its folder's nesting plus one): a folder recursively, a regular file;
// anything else is skipped with a warning.
static Status add_entry(InputList *l, const char *path, int depth) {
    struct stat st;
    if (stat(path, &st) != 0) return fail(STATUS_IO, "cannot read input '%s': %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) return add_dir(l, path, depth);
    if (S_ISREG(st.st_mode)) return push(l, path, (uint64_t)st.st_size);
    warn("skipping '%s': not a regular file", path);  // sockets, FIFOs and devices are not text
    return STATUS_OK;
}

static Status add_dir(InputList *l, const char *dir, int depth) {
    if (depth > 64) return fail(STATUS_INPUT, "folder nesting deeper than 64 levels at '%s' (a symlink loop?)", dir);
    DIR *d = opendir(dir);
    if (!d) return fail(STATUS_IO, "cannot read folder '%s': %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue; // ".", "..", and hidden files
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **p = realloc(names, cap * sizeof(char *));
            if (!p) out_of_memory("listing '%s'", dir);
            names = p;
        }
        names[n++] = strdup_check(e->d_name);
    }
    closedir(d);
    if (n) qsort(names, n, sizeof(char *), cmp_names);
    Status s = STATUS_OK;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(dir) + strlen(names[i]) + 2;
        char *path = mallocCheck(len);
        snprintf(path, len, "%s/%s", dir, names[i]);
        if (!s) s = add_entry(l, path, depth + 1);
        free(path);
        free(names[i]);
    }
    free(names);
    return s;
}

Status inputs_add(InputList *l, const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) return fail(STATUS_IO, "cannot read input '%s': %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) return add_dir(l, path, 0);
    return push(l, path, S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0);
}

void inputs_free(InputList *l) {
    for (size_t i = 0; i < l->n; i++) free(l->paths[i]);
    free(l->paths);
    memset(l, 0, sizeof(*l));
}
