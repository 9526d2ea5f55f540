#include "util/parse_num.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Only the characters of a decimal number: this rules out "nan", "inf",
// hexadecimal floats and the leading white space strtod would skip.
static int decimal_chars(const char *s, const char *allowed) {
    return *s && strspn(s, allowed) == strlen(s);
}

int parse_double(const char *s, double min, double max, double *out, char *err, size_t n) {
    char *end = NULL;
    double v = 0;
    if (decimal_chars(s, "0123456789+-.eE")) {
        errno = 0;
        v = strtod(s, &end);
    }
    if (!end || end == s || *end) {
        snprintf(err, n, "'%s' is not a finite number", s);
        return 0;
    }
    if (errno == ERANGE || !isfinite(v)) {  // strtod returns +-HUGE_VAL on overflow, 0 or a denormal on underflow
        int big = !isfinite(v) || fabs(v) > 1;
        snprintf(err, n, "'%s' is too %s to represent (%s)", s, big ? "large" : "small", big ? "overflow" : "underflow");
        return 0;
    }
    if (v < min || v > max) {
        snprintf(err, n, "%g is out of range [%g, %g]", v, min, max);
        return 0;
    }
    *out = v;
    return 1;
}

int parse_integer(const char *s, long long min, long long max, long long *out, char *err, size_t n) {
    const char *digits = s + (*s == '-' || *s == '+');
    if (!decimal_chars(digits, "0123456789")) {
        snprintf(err, n, "'%s' is not an integer", s);
        return 0;
    }
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno == ERANGE || *end) {
        snprintf(err, n, "'%s' is too large", s);
        return 0;
    }
    if (v < min || v > max) {
        snprintf(err, n, "%lld is out of range [%lld, %lld]", v, min, max);
        return 0;
    }
    *out = v;
    return 1;
}

int parse_bool(const char *s, int *out, char *err, size_t n) {
    if (!strcmp(s, "true") || !strcmp(s, "1")) *out = 1;
    else if (!strcmp(s, "false") || !strcmp(s, "0")) *out = 0;
    else {
        snprintf(err, n, "'%s' is not true or false", s);
        return 0;
    }
    return 1;
}
