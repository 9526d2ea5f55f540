#include "cli/read_input.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/or_die.h"
#include "util/util.h"

static char *read_stdin(size_t *len) {
    size_t cap = 1 << 16, n = 0;
    char *buf = mallocCheck(cap);
    for (size_t got; (got = fread(buf + n, 1, cap - n, stdin)) > 0;) {
        n += got;
        if (n == cap) {
            char *bigger = realloc(buf, cap *= 2);
            if (!bigger) out_of_memory("reading stdin");
            buf = bigger;
        }
    }
    if (ferror(stdin)) die("cannot read stdin");
    *len = n;
    return buf;
}

char *read_input(const char *inline_text, const char *inline_option, const char *file, size_t *len) {
    if (inline_text && file) die("give %s or --file, not both", inline_option);
    if (inline_text) {
        *len = strlen(inline_text);
        return strdup_check(inline_text);
    }
    if (!file) return read_stdin(len);
    char *buf;
    or_die(read_user_file(file, "input file", &buf, len));
    return buf;
}
