// Small checked wrappers in the style of llm.c: every allocation and file
// operation either succeeds or exits with a one-line message naming the file
// and line, so callers never handle NULL from malloc or short reads.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdnoreturn.h>

// Prints "gpt2cl: error: <message>" on one line and exits with status 1.
noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void *malloc_check(size_t size, const char *file, int line);
void *calloc_check(size_t n, size_t size, const char *file, int line);
FILE *fopen_check(const char *path, const char *mode, const char *file, int line);
void fread_check(void *ptr, size_t size, size_t n, FILE *f, const char *what, const char *file, int line);
void fwrite_check(const void *ptr, size_t size, size_t n, FILE *f, const char *what, const char *file, int line);
void fclose_check(FILE *f, const char *what, const char *file, int line);
#define mallocCheck(size) malloc_check((size), __FILE__, __LINE__)
#define callocCheck(n, size) calloc_check((n), (size), __FILE__, __LINE__)
#define fopenCheck(path, mode) fopen_check((path), (mode), __FILE__, __LINE__)
#define freadCheck(ptr, size, n, f, what) fread_check((ptr), (size), (n), (f), (what), __FILE__, __LINE__)
#define fwriteCheck(ptr, size, n, f, what) fwrite_check((ptr), (size), (n), (f), (what), __FILE__, __LINE__)
#define fcloseCheck(f, what) fclose_check((f), (what), __FILE__, __LINE__)

char *strdup_check(const char *s);
// Reads a whole file into a NUL-terminated buffer; *len gets the byte count.
char *read_file(const char *path, size_t *len);
// Writes data to path atomically: a temporary file in the same folder, fsync, rename.
void write_file_atomic(const char *path, const void *data, size_t len);
// Creates a folder and its parents (mkdir -p); dies on failure.
void make_dirs(const char *path);
int file_exists(const char *path);

// gpt2cl's data folder: $GPT2CL_DATA, else $XDG_DATA_HOME/gpt2cl, else
// $HOME/.local/share/gpt2cl. Where scripts/fetch_vocab.sh puts gpt2.tiktoken,
// scripts/make_corpus.sh puts corpus/ and `gpt2cl prepare` puts tokens/.
// Returns a static string.
const char *gpt2cl_data_dir(void);
// A leading "~" becomes $HOME and a leading "$DATA" the data folder; returns a new string.
char *expand_path(const char *path);

// 1 when hay contains needle, ignoring ASCII case (an empty needle is in every string).
int str_contains_ci(const char *hay, const char *needle);

double now_seconds(void); // monotonic clock
// Formats a byte count as "1.50 GiB" into buf.
const char *format_bytes(double bytes, char *buf, size_t n);
const char *format_duration(double seconds, char *buf, size_t n);  // "42s", "3m05s", "2h10m"

// gpt2cl's cache folder (tuning databases, compiled programs): $GPT2CL_CACHE_DIR,
// else $XDG_CACHE_HOME/gpt2cl, else $HOME/.cache/gpt2cl. Returns a static string.
const char *gpt2cl_cache_dir(void);
