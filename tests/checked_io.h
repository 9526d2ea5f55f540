// Checked file calls for the files a test owns (fixtures, its own outputs):
// a failure ends the test with a message naming the file and line.
#pragma once
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

static inline FILE *fopen_check(const char *path, const char *mode, const char *file, int line) {
    FILE *f = fopen(path, mode);
    if (!f) die("cannot open '%s' (mode %s): %s (%s:%d)", path, mode, strerror(errno), file, line);
    return f;
}

static inline void fread_check(void *ptr, size_t size, size_t n, FILE *f, const char *what, const char *file,
                               int line) {
    size_t got = fread(ptr, size, n, f);
    if (got == n) return;
    if (feof(f))
        die("%s is truncated: expected %zu items of %zu bytes, read %zu (%s:%d)", what, n, size, got, file, line);
    die("read error in %s: %s (%s:%d)", what, strerror(errno), file, line);
}

static inline void fwrite_check(const void *ptr, size_t size, size_t n, FILE *f, const char *what, const char *file,
                                int line) {
    if (fwrite(ptr, size, n, f) != n) die("write error in %s: %s (%s:%d)", what, strerror(errno), file, line);
}

static inline void fclose_check(FILE *f, const char *what, const char *file, int line) {
    if (fclose(f) != 0) die("error closing %s: %s (%s:%d)", what, strerror(errno), file, line);
}

#define fopenCheck(path, mode) fopen_check((path), (mode), __FILE__, __LINE__)
#define freadCheck(ptr, size, n, f, what) fread_check((ptr), (size), (n), (f), (what), __FILE__, __LINE__)
#define fwriteCheck(ptr, size, n, f, what) fwrite_check((ptr), (size), (n), (f), (what), __FILE__, __LINE__)
#define fcloseCheck(f, what) fclose_check((f), (what), __FILE__, __LINE__)

// A whole file the test owns, NUL-terminated (*len: the byte count when len is not NULL).
static inline char *read_file(const char *path, size_t *len) {
    char *text;
    if (read_user_file(path, "file", &text, len)) die("%s", status_message());
    return text;
}
