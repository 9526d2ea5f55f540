// The input of encode and decode: an argument's text, a file or stdin.
#pragma once
#include <stddef.h>

// A new buffer holding inline (when not NULL), else the bytes of file (when
// not NULL), else all of stdin; *len its length. Dies when both inline and
// file are given ("give OPT1 or OPT2, not both") or on a read error.
char *read_input(const char *inline_text, const char *inline_option, const char *file, size_t *len);
