#include "util/status.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char message[2048];

Status fail(Status code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    return code;
}

const char *status_message(void) { return message; }
