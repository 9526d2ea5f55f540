// The one parser of numbers given as text: config keys, `sample` keys and
// every command's numeric flags. A value is the whole string: no NaN or
// infinity, no overflow or underflow (1e-400 is not silently 0), no fraction
// for an integer (2.5 is not silently 2), no leading spaces or trailing
// characters.
#pragma once
#include <stddef.h>

// A finite decimal number in [min, max]. Returns 1, or 0 with the reason in err
// ("'x' is not a finite number", "'1e-400' is too small to represent (underflow)",
// "2 is out of range [0, 1]").
int parse_double(const char *s, double min, double max, double *out, char *err, size_t n);
// A decimal integer (optional sign, digits only) in [min, max]. Returns 1, or 0
// with the reason in err ("'2.5' is not an integer", "5 is out of range [0, 1]").
int parse_integer(const char *s, long long min, long long max, long long *out, char *err, size_t n);
// true|false|1|0. Returns 1, or 0 with the reason in err.
int parse_bool(const char *s, int *out, char *err, size_t n);
