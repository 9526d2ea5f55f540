#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void die(const char *fmt, ...) {
    fflush(stdout);
    va_list ap;
    va_start(ap, fmt);
    fputs("gpt2cl: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

void warn(const char *fmt, ...) {
    fflush(stdout);
    va_list ap;
    va_start(ap, fmt);
    fputs("gpt2cl: warning: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void *malloc_check(size_t size, const char *file, int line) {
    void *p = malloc(size ? size : 1);
    if (!p) die("out of host memory allocating %zu bytes (%s:%d)", size, file, line);
    return p;
}

void *calloc_check(size_t n, size_t size, const char *file, int line) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) die("out of host memory allocating %zu x %zu bytes (%s:%d)", n, size, file, line);
    return p;
}

FILE *fopen_check(const char *path, const char *mode, const char *file, int line) {
    FILE *f = fopen(path, mode);
    if (!f) die("cannot open '%s' (mode %s): %s (%s:%d)", path, mode, strerror(errno), file, line);
    return f;
}

void fread_check(void *ptr, size_t size, size_t n, FILE *f, const char *what, const char *file, int line) {
    size_t got = fread(ptr, size, n, f);
    if (got != n) {
        if (feof(f)) die("%s is truncated: expected %zu items of %zu bytes, read %zu (%s:%d)", what, n, size, got, file, line);
        die("read error in %s: %s (%s:%d)", what, strerror(errno), file, line);
    }
}

void fwrite_check(const void *ptr, size_t size, size_t n, FILE *f, const char *what, const char *file, int line) {
    if (fwrite(ptr, size, n, f) != n) die("write error in %s: %s (%s:%d)", what, strerror(errno), file, line);
}

void fclose_check(FILE *f, const char *what, const char *file, int line) {
    if (fclose(f) != 0) die("error closing %s: %s (%s:%d)", what, strerror(errno), file, line);
}

char *strdup_check(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = mallocCheck(n);
    memcpy(p, s, n);
    return p;
}

char *read_file(const char *path, size_t *len) {
    FILE *f = fopenCheck(path, "rb");
    if (fseek(f, 0, SEEK_END) != 0) die("cannot seek in '%s': %s", path, strerror(errno));
    long size = ftell(f);
    if (size < 0) die("cannot size '%s': %s", path, strerror(errno));
    rewind(f);
    char *buf = mallocCheck((size_t)size + 1);
    if (size > 0) freadCheck(buf, 1, (size_t)size, f, path);
    buf[size] = '\0';
    fcloseCheck(f, path);
    if (len) *len = (size_t)size;
    return buf;
}

void write_file_atomic(const char *path, const void *data, size_t len) {
    size_t n = strlen(path) + 32;
    char *tmp = mallocCheck(n);
    snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopenCheck(tmp, "wb");
    if (len) fwriteCheck(data, 1, len, f, tmp);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) die("cannot flush '%s': %s", tmp, strerror(errno));
    fcloseCheck(f, tmp);
    if (rename(tmp, path) != 0) die("cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
    free(tmp);
}

void make_dirs(const char *path) {
    char *p = strdup_check(path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) die("cannot create folder '%s': %s", p, strerror(errno));
        *s = '/';
    }
    if (mkdir(p, 0755) != 0 && errno != EEXIST) die("cannot create folder '%s': %s", p, strerror(errno));
    struct stat st;
    if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) die("'%s' exists and is not a folder", p);
    free(p);
}

int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

const char *format_duration(double s, char *buf, size_t n) {
    if (s < 0 || s != s) snprintf(buf, n, "?");
    else if (s < 60) snprintf(buf, n, "%.0fs", s);
    else if (s < 3600) snprintf(buf, n, "%dm%02ds", (int)s / 60, (int)s % 60);
    else snprintf(buf, n, "%dh%02dm", (int)(s / 3600), ((int)s % 3600) / 60);
    return buf;
}

const char *format_bytes(double bytes, char *buf, size_t n) {
    const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024.0 && u < 4) { bytes /= 1024.0; u++; }
    snprintf(buf, n, u ? "%.2f %s" : "%.0f %s", bytes, units[u]);
    return buf;
}

// $ENV_NAME, else $XDG_NAME/gpt2cl, else $HOME/HOME_SUB/gpt2cl, into dir.
static const char *user_dir(char *dir, size_t size, const char *env_name, const char *xdg_name, const char *home_sub,
                            const char *what) {
    if (dir[0]) return dir;
    const char *env = getenv(env_name), *xdg = getenv(xdg_name), *home = getenv("HOME");
    int n;
    if (env && env[0]) n = snprintf(dir, size, "%s", env);
    else if (xdg && xdg[0]) n = snprintf(dir, size, "%s/gpt2cl", xdg);
    else if (home && home[0]) n = snprintf(dir, size, "%s/%s/gpt2cl", home, home_sub);
    else die("cannot locate the gpt2cl %s folder: set %s or HOME", what, env_name);
    if (n < 0 || (size_t)n >= size) die("gpt2cl %s folder path is too long", what);
    return dir;
}

const char *gpt2cl_data_dir(void) {
    static char dir[4096];
    return user_dir(dir, sizeof dir, "GPT2CL_DATA", "XDG_DATA_HOME", ".local/share", "data");
}

char *expand_path(const char *p) {
    const char *prefix = "", *rest = p;
    if (strncmp(p, "~/", 2) == 0 || strcmp(p, "~") == 0) {
        prefix = getenv("HOME");
        if (!prefix) die("cannot expand '%s': HOME is not set", p);
        rest = p + 1;
    } else if (strncmp(p, "$DATA", 5) == 0 && (p[5] == '/' || p[5] == '\0')) {
        prefix = gpt2cl_data_dir();
        rest = p + 5;
    }
    size_t n = strlen(prefix) + strlen(rest) + 1;
    char *out = mallocCheck(n);
    snprintf(out, n, "%s%s", prefix, rest);
    return out;
}

const char *gpt2cl_cache_dir(void) {
    static char dir[4096];
    return user_dir(dir, sizeof dir, "GPT2CL_CACHE_DIR", "XDG_CACHE_HOME", ".cache", "cache");
}

int str_contains_ci(const char *hay, const char *needle) {
    size_t nl = strlen(needle);
    for (const char *h = hay; *h; h++) {
        size_t i = 0;
        while (i < nl && h[i] && tolower((unsigned char)h[i]) == tolower((unsigned char)needle[i])) i++;
        if (i == nl) return 1;
    }
    return nl == 0;
}
