// Errors as values. A library function that can fail on user input, I/O or the
// device returns a Status: STATUS_OK (0), or the kind of failure with a
// one-line message recorded by fail() and read by status_message(). Only the
// command layer (src/cli/) prints it ("gpt2cl: error: <message>") and exits.
//
//     Status s = config_load(&cfg, path);
//     if (s) die("%s", status_message());
//
// Inside the library a failure is passed up unchanged with TRY(call).
#pragma once

typedef enum {
    STATUS_OK = 0,
    STATUS_INPUT,   // a file, key, flag or value the user gave is wrong
    STATUS_IO,      // reading or writing a file failed
    STATUS_DEVICE,  // the OpenCL device refused (a build, an allocation, a launch)
} Status;

// Records the message (printf format; the last one wins, per thread) and returns code.
Status fail(Status code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// The message of the last fail() on this thread ("" if none).
const char *status_message(void);

#define TRY(call)                            \
    do {                                     \
        Status try_status_ = (call);         \
        if (try_status_) return try_status_; \
    } while (0)
