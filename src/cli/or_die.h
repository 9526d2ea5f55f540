// The command layer's end of errors as values: a failed library call prints
// "gpt2cl: error: <message>" on one line and exits with status 1.
#pragma once
#include "util/status.h"
#include "util/util.h"

static inline void or_die(Status s) {
    if (s) die("%s", status_message());
}
