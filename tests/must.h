// A library call a test needs to succeed: a failure ends the test with the call's message.
#pragma once
#include <stdio.h>
#include <stdlib.h>

#include "checked_io.h"
#include "util/status.h"

#define MUST(call)                                                                               \
    do {                                                                                         \
        if (call) {                                                                              \
            fprintf(stderr, "FAIL %s:%d: %s: %s\n", __FILE__, __LINE__, #call, status_message()); \
            exit(1);                                                                             \
        }                                                                                        \
    } while (0)
