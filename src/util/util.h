// Layer util (src/util/): what every layer uses and that knows nothing of GPT-2 or OpenCL: checked
// wrappers and user-file handling (util.h), the one number parser (parse_num.h), the random
// generator (rng.h) and errors as values (status.h). It includes nothing else of gpt2cl.
//
// Small checked wrappers in the style of llm.c. Host out-of-memory
// (out_of_memory) exits with a one-line message naming the file and line.
// Operations on files return a Status (util/status.h) with the message.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdnoreturn.h>

#include "util/status.h"

// Prints "gpt2cl: error: <message>" on one line and exits with status 1.
// Meant for src/cli/: library code returns a Status (util/status.h).
noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
// The host has no memory left: "gpt2cl: error: out of host memory <what>", exit
// status 1. The one fatal exit of the library besides internal_error.
noreturn void out_of_memory(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
// A broken invariant of the program itself (a bug, never an input):
// "gpt2cl: internal error: <message>", then abort().
noreturn void internal_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void *malloc_check(size_t size, const char *file, int line);
void *calloc_check(size_t n, size_t size, const char *file, int line);
// Reads exactly n items of a user's file, failing with "WHAT is truncated: ..." or "read error in WHAT: ...".
Status fread_exact(void *ptr, size_t size, size_t n, FILE *f, const char *what);
#define mallocCheck(size) malloc_check((size), __FILE__, __LINE__)
#define callocCheck(n, size) calloc_check((n), (size), __FILE__, __LINE__)

char *strdup_check(const char *s);
// Opens a user's file for reading without blocking (a FIFO would hang open()
// or read()) and only if it is a regular file. Returns NULL with the reason in
// why ("No such file or directory", "it is a folder", "it is not a regular file").
FILE *open_regular_file(const char *path, char *why, size_t n);
// As open_regular_file, failing with "cannot open WHAT 'PATH': REASON".
Status open_user_file(const char *path, const char *what, FILE **f);
// Opens an llm.c-format file (a 1024-byte header of 256 int32s: checkpoints,
// token shards) and reads its header into h; f is left right after it.
Status open_with_header(const char *path, const char *what, int32_t h[256], FILE **f);
long long file_size(FILE *f);  // -1 if unknown
// Reads a whole regular file into a NUL-terminated buffer (*len: the byte
// count), or returns NULL with the reason in why.
char *try_read_file(const char *path, size_t *len, char *why, size_t n);
// As try_read_file, failing with "cannot read WHAT 'PATH': REASON".
Status read_user_file(const char *path, const char *what, char **text, size_t *len);
// Writes data to path atomically: a temporary file in the same folder
// (temporary_name), fsync, rename.
Status write_file_atomic(const char *path, const void *data, size_t len);
// Creates a temporary file for writing, replacing only a leftover under the
// same name (O_EXCL: never writes through a FIFO, device or link planted
// there). NULL with the reason in why on failure.
FILE *create_temporary_file(const char *path, char *why, size_t n);
// "PATH.tmp.PID", the name write_file_atomic writes before renaming.
void temporary_name(const char *path, char *out, size_t n);
// Removes the temporaries ("NAME.tmp.PID", files or folders of files) in dir
// whose process no longer exists and whose NAME ours(NAME, ctx) accepts, so leftovers
// of killed runs do not pile up; returns how many. Never touches a live
// process's temporaries or another program's files.
int remove_stale_temporaries(const char *dir, int (*ours)(const char *name, const void *ctx), const void *ctx);
// Removes a file, or a folder of files (not of folders); best effort.
void remove_tree(const char *path);
// Creates a folder and its parents (mkdir -p).
Status make_dirs(const char *path);
int file_exists(const char *path);

// gpt2cl's data folder: $GPT2CL_DATA, else $XDG_DATA_HOME/gpt2cl, else
// $HOME/.local/share/gpt2cl. Where scripts/fetch_vocab.sh puts gpt2.tiktoken,
// scripts/make_corpus.sh puts corpus/ and `gpt2cl prepare` puts tokens/.
// *dir: a static string; fails when none of the three is set.
Status gpt2cl_data_dir(const char **dir);
// A leading "~" becomes $HOME and a leading "$DATA" the data folder, into a
// new string *out. Fails when HOME or the data folder is unknown.
Status expand_path(const char *path, char **out);

// 1 when hay contains needle, ignoring ASCII case (an empty needle is in every string).
int str_contains_ci(const char *hay, const char *needle);

double now_seconds(void); // monotonic clock
// Formats a byte count as "1.50 GiB" into buf.
const char *format_bytes(double bytes, char *buf, size_t n);
const char *format_duration(double seconds, char *buf, size_t n);  // "42s", "3m05s", "2h10m"

// gpt2cl's cache folder (tuning databases, compiled programs): $GPT2CL_CACHE_DIR,
// else $XDG_CACHE_HOME/gpt2cl, else $HOME/.cache/gpt2cl. *dir: a static string;
// fails when none of the three is set.
Status gpt2cl_cache_dir(const char **dir);
