#include "util/util.h"

#include "util/comm.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

// One line on stderr: prefix, the message, newline; stdout first, so the two stay in order.
static void report_line(const char *prefix, const char *fmt, va_list ap) {
    fflush(stdout);
    fputs(prefix, stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

#define REPORT(prefix)                \
    do {                              \
        va_list ap;                   \
        va_start(ap, fmt);            \
        report_line(prefix, fmt, ap); \
        va_end(ap);                   \
    } while (0)

// Every rank of a job with several stops at once, the failing one naming itself.
void die(const char *fmt, ...) {
    char prefix[48] = "gpt2cl: error: ";
    if (comm_size() > 1) snprintf(prefix, sizeof prefix, "gpt2cl: error: rank %d: ", comm_rank());
    REPORT(prefix);
    comm_abort(1);
}

void warn(const char *fmt, ...) { REPORT("gpt2cl: warning: "); }

void out_of_memory(const char *fmt, ...) {
    REPORT("gpt2cl: error: out of host memory ");
    comm_abort(1);
}

void internal_error(const char *fmt, ...) {
    REPORT("gpt2cl: internal error: ");
    abort();
}

void *malloc_check(size_t size, const char *file, int line) {
    void *p = malloc(size ? size : 1);
    if (!p) out_of_memory("allocating %zu bytes (%s:%d)", size, file, line);
    return p;
}

void *calloc_check(size_t n, size_t size, const char *file, int line) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) out_of_memory("allocating %zu x %zu bytes (%s:%d)", n, size, file, line);
    return p;
}

Status fread_exact(void *ptr, size_t size, size_t n, FILE *f, const char *what) {
    size_t got = fread(ptr, size, n, f);
    if (got == n) return STATUS_OK;
    if (feof(f))
        return fail(STATUS_INPUT, "%s is truncated: expected %zu items of %zu bytes, read %zu", what, n, size, got);
    return fail(STATUS_IO, "read error in %s: %s", what, strerror(errno));
}

char *strdup_check(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = mallocCheck(n);
    memcpy(p, s, n);
    return p;
}

FILE *open_regular_file(const char *path, char *why, size_t n) {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, n, "%s", strerror(errno));
        return NULL;
    }
    struct stat st;
    const char *bad = fstat(fd, &st) != 0 ? strerror(errno)
                      : S_ISDIR(st.st_mode) ? "it is a folder"
                      : !S_ISREG(st.st_mode) ? "it is not a regular file"
                                             : NULL;
    int flags = bad ? 0 : fcntl(fd, F_GETFL);
    if (!bad && (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0)) bad = strerror(errno);
    FILE *f = bad ? NULL : fdopen(fd, "rb");
    if (!f) {
        snprintf(why, n, "%s", bad ? bad : strerror(errno));
        close(fd);
    }
    return f;
}

Status open_user_file(const char *path, const char *what, FILE **f) {
    char why[256];
    *f = open_regular_file(path, why, sizeof why);
    return *f ? STATUS_OK : fail(STATUS_IO, "cannot open %s '%s': %s", what, path, why);
}

Status open_with_header(const char *path, const char *what, int32_t h[256], FILE **f) {
    TRY(open_user_file(path, what, f));
    if (fread(h, sizeof(int32_t), 256, *f) == 256) return STATUS_OK;
    fclose(*f);
    return fail(STATUS_INPUT, "%s '%s' is too short to hold its 1024-byte header", what, path);
}

long long file_size(FILE *f) {
    struct stat st;
    return fstat(fileno(f), &st) == 0 ? (long long)st.st_size : -1;
}

char *try_read_file(const char *path, size_t *len, char *why, size_t n) {
    FILE *f = open_regular_file(path, why, n);
    if (!f) return NULL;
    long long size = file_size(f);
    char *buf = NULL;
    if (size < 0 || (unsigned long long)size >= SIZE_MAX / 2) snprintf(why, n, "cannot tell its size");
    else buf = mallocCheck((size_t)size + 1);
    // A file that grew or shrank since fstat is read up to its old size, and a short read is an error.
    if (buf && size > 0 && fread(buf, 1, (size_t)size, f) != (size_t)size) {
        snprintf(why, n, "%s", ferror(f) ? strerror(errno) : "it shrank while being read");
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (!buf) return NULL;
    buf[size] = '\0';
    if (len) *len = (size_t)size;
    return buf;
}

Status read_user_file(const char *path, const char *what, char **text, size_t *len) {
    char why[256];
    *text = try_read_file(path, len, why, sizeof why);
    return *text ? STATUS_OK : fail(STATUS_IO, "cannot read %s '%s': %s", what, path, why);
}

FILE *create_temporary_file(const char *path, char *why, size_t n) {
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 && errno == EEXIST && unlink(path) == 0) fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!f) {
        snprintf(why, n, "%s", strerror(errno));
        if (fd >= 0) close(fd);
    }
    return f;
}

Status write_file_atomic(const char *path, const void *data, size_t len) {
    size_t n = strlen(path) + 32;
    char *tmp = mallocCheck(n);
    temporary_name(path, tmp, n);
    char why[256];
    FILE *f = create_temporary_file(tmp, why, sizeof why);
    Status s = STATUS_OK;
    if (!f) s = fail(STATUS_IO, "cannot create '%s': %s", tmp, why);
    else if (len && fwrite(data, 1, len, f) != len) s = fail(STATUS_IO, "write error in %s: %s", tmp, strerror(errno));
    else if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        s = fail(STATUS_IO, "cannot flush '%s': %s", tmp, strerror(errno));
    if (f && fclose(f) != 0 && !s) s = fail(STATUS_IO, "error closing %s: %s", tmp, strerror(errno));
    if (!s && rename(tmp, path) != 0) s = fail(STATUS_IO, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
    if (s && f) unlink(tmp);  // a failed write leaves no temporary behind
    free(tmp);
    return s;
}

void temporary_name(const char *path, char *out, size_t n) {
    if ((size_t)snprintf(out, n, "%s.tmp.%ld", path, (long)getpid()) >= n) internal_error("temporary name of '%s' does not fit %zu bytes", path, n);
}

// The process id of a temporary's name ("NAME.tmp.PID", NAME non-empty), or 0 if name is not one.
static long temporary_owner(const char *name, size_t *base_len) {
    const char *t = NULL;
    for (const char *p = strstr(name, ".tmp."); p; p = strstr(p + 1, ".tmp.")) t = p;
    if (!t || t == name || t[5] < '0' || t[5] > '9') return 0;
    char *end;
    errno = 0;
    long pid = strtol(t + 5, &end, 10);
    if (*end || errno || pid <= 0) return 0;
    *base_len = (size_t)(t - name);
    return pid;
}

int remove_stale_temporaries(const char *dir, int (*ours)(const char *name, const void *ctx), const void *ctx) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t base_len = 0;
        long pid = temporary_owner(e->d_name, &base_len);
        // kill(pid, 0) fails with ESRCH only when no such process exists; a live
        // writer (or one we may not signal, EPERM) keeps its file.
        if (!pid || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        char base[256];
        if (base_len >= sizeof base) continue;
        memcpy(base, e->d_name, base_len);
        base[base_len] = '\0';
        if (!ours(base, ctx)) continue;  // another program's file
        size_t n = strlen(dir) + strlen(e->d_name) + 2;
        char *path = mallocCheck(n);
        snprintf(path, n, "%s/%s", dir, e->d_name);
        remove_tree(path);
        free(path);
        removed++;
    }
    closedir(d);
    return removed;
}

void remove_tree(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (!S_ISDIR(st.st_mode)) {
        unlink(path);
        return;
    }
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            size_t n = strlen(path) + strlen(e->d_name) + 2;
            char *p = mallocCheck(n);
            snprintf(p, n, "%s/%s", path, e->d_name);
            if (lstat(p, &st) == 0 && !S_ISDIR(st.st_mode)) unlink(p);
            free(p);
        }
        closedir(d);
    }
    rmdir(path);
}

Status make_dirs(const char *path) {
    char *p = strdup_check(path);
    Status status = STATUS_OK;
    for (char *s = p + 1; *s && !status; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST)
            status = fail(STATUS_IO, "cannot create folder '%s': %s", p, strerror(errno));
        else
            *s = '/';
    }
    struct stat st;
    if (!status && mkdir(p, 0755) != 0 && errno != EEXIST)
        status = fail(STATUS_IO, "cannot create folder '%s': %s", p, strerror(errno));
    else if (!status && (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)))
        status = fail(STATUS_IO, "'%s' exists and is not a folder", p);
    free(p);
    return status;
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

// $ENV_NAME, else $XDG_NAME/gpt2cl, else $HOME/HOME_SUB/gpt2cl, into dir (kept for later calls).
static Status user_dir(char *dir, size_t size, const char *env_name, const char *xdg_name, const char *home_sub,
                       const char *what) {
    if (dir[0]) return STATUS_OK;
    const char *env = getenv(env_name), *xdg = getenv(xdg_name), *home = getenv("HOME");
    int n;
    if (env && env[0]) n = snprintf(dir, size, "%s", env);
    else if (xdg && xdg[0]) n = snprintf(dir, size, "%s/gpt2cl", xdg);
    else if (home && home[0]) n = snprintf(dir, size, "%s/%s/gpt2cl", home, home_sub);
    else return fail(STATUS_INPUT, "cannot locate the gpt2cl %s folder: set %s or HOME", what, env_name);
    if (n >= 0 && (size_t)n < size) return STATUS_OK;
    dir[0] = '\0';
    return fail(STATUS_INPUT, "gpt2cl %s folder path is too long", what);
}

Status gpt2cl_data_dir(const char **dir) {
    static char path[4096];
    *dir = path;
    return user_dir(path, sizeof path, "GPT2CL_DATA", "XDG_DATA_HOME", ".local/share", "data");
}

Status expand_path(const char *p, char **out) {
    const char *prefix = "", *rest = p;
    if (strncmp(p, "~/", 2) == 0 || strcmp(p, "~") == 0) {
        prefix = getenv("HOME");
        if (!prefix) return fail(STATUS_INPUT, "cannot expand '%s': HOME is not set", p);
        rest = p + 1;
    } else if (strncmp(p, "$DATA", 5) == 0 && (p[5] == '/' || p[5] == '\0')) {
        TRY(gpt2cl_data_dir(&prefix));
        rest = p + 5;
    }
    size_t n = strlen(prefix) + strlen(rest) + 1;
    *out = mallocCheck(n);
    snprintf(*out, n, "%s%s", prefix, rest);
    return STATUS_OK;
}

Status gpt2cl_cache_dir(const char **dir) {
    static char path[4096];
    *dir = path;
    return user_dir(path, sizeof path, "GPT2CL_CACHE_DIR", "XDG_CACHE_HOME", ".cache", "cache");
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
