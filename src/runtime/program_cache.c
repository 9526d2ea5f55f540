#include "runtime/program_cache.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"

#define MAGIC "GPT2CLPB"

static int enabled(void) {
    const char *env = getenv("GPT2CL_PROGRAM_CACHE");
    return !(env && !strcmp(env, "0"));
}

static uint64_t fnv(uint64_t h, const char *s) {
    for (const unsigned char *p = (const unsigned char *)s;; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
        if (!*p) return h;
    }
}

// "<32 hex digits>.bin", the name of a cached program.
static int program_file_name(const char *name, const void *ctx) {
    (void)ctx;
    return strlen(name) == 36 && strspn(name, "0123456789abcdef") == 32 && !strcmp(name + 32, ".bin");
}

// The cache entry's path; fails where gpt2cl's cache folder is unknown (then nothing is cached).
static Status cache_path(const Device *dev, const char *source, const char *options, char *path, size_t n) {
    const char *cache;
    TRY(gpt2cl_cache_dir(&cache));
    const char *parts[] = {source, options ? options : "", dev->platform_name, dev->name, dev->vendor,
                           dev->driver_version, dev->cl_version};
    uint64_t a = 1469598103934665603ULL, b = 0x6a09e667f3bcc909ULL;  // two seeds: a 128-bit key
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        a = fnv(a, parts[i]);
        b = fnv(b, parts[i]);
    }
    snprintf(path, n, "%s/programs/%016llx%016llx.bin", cache, (unsigned long long)a, (unsigned long long)b);
    return STATUS_OK;
}

cl_program program_cache_load(const Device *dev, const char *source, const char *options) {
    if (!enabled()) return NULL;
    char path[4200];
    if (cache_path(dev, source, options, path, sizeof path)) return NULL;
    static int cleaned;
    if (!cleaned++) {
        char dir[4200];
        snprintf(dir, sizeof dir, "%.*s", (int)(strrchr(path, '/') - path), path);
        remove_stale_temporaries(dir, program_file_name, NULL);
    }
    char why[256];
    FILE *f = open_regular_file(path, why, sizeof why);
    if (!f) {
        // Absent is the usual case; anything else under the name (a folder, a FIFO) is ignored with a warning.
        if (file_exists(path)) warn("compiled-program cache entry '%s' cannot be read (%s); building from source", path, why);
        return NULL;
    }
    char magic[8];
    uint64_t size = 0;
    unsigned char *bin = NULL;
    int ok = fread(magic, 1, 8, f) == 8 && !memcmp(magic, MAGIC, 8) && fread(&size, sizeof size, 1, f) == 1 &&
             size > 0 && size < (1ULL << 31);
    if (ok) {
        bin = mallocCheck((size_t)size);
        ok = fread(bin, 1, (size_t)size, f) == size;
    }
    fclose(f);
    cl_program prog = NULL;
    if (ok) {
        size_t len = (size_t)size;
        const unsigned char *bins[1] = {bin};
        cl_int status = CL_SUCCESS, err;
        prog = clCreateProgramWithBinary(dev->context, 1, &dev->device, &len, bins, &status, &err);
        if (err != CL_SUCCESS || status != CL_SUCCESS ||
            clBuildProgram(prog, 1, &dev->device, options, NULL, NULL) != CL_SUCCESS) {
            if (prog) clReleaseProgram(prog);
            prog = NULL;
        }
    }
    free(bin);
    if (!prog) warn("compiled-program cache entry '%s' was rejected; building from source", path);
    return prog;
}

void program_cache_store(const Device *dev, cl_program prog, const char *source, const char *options) {
    if (!enabled()) return;
    size_t size = 0;
    char path[4200], tmp[4300], dir[4200];
    if (cache_path(dev, source, options, path, sizeof path)) return;
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) != CL_SUCCESS || size == 0) return;
    unsigned char *bin = mallocCheck(size);
    unsigned char *bins[1] = {bin};
    snprintf(dir, sizeof dir, "%.*s", (int)(strrchr(path, '/') - path), path);
    temporary_name(path, tmp, sizeof tmp);
    int ok = clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bins, bins, NULL) == CL_SUCCESS;
    // mkdir -p without dying: a read-only cache only costs the next start a compile.
    for (char *s = dir + 1; ok && *s; s++)
        if (*s == '/') {
            *s = '\0';
            ok = mkdir(dir, 0755) == 0 || errno == EEXIST;
            *s = '/';
        }
    ok = ok && (mkdir(dir, 0755) == 0 || errno == EEXIST);
    char why[256] = "";
    FILE *f = ok ? create_temporary_file(tmp, why, sizeof why) : NULL;
    uint64_t size64 = size;
    ok = f && fwrite(MAGIC, 1, 8, f) == 8 && fwrite(&size64, sizeof size64, 1, f) == 1 &&
         fwrite(bin, 1, size, f) == size;
    if (f && fclose(f) != 0) ok = 0;
    if (ok && rename(tmp, path) != 0) ok = 0;  // atomic: readers see the old file or the whole new one
    if (!ok) {
        if (f) remove(tmp);
        warn("cannot write the compiled-program cache '%s' (%s); the next start compiles again", path,
             strerror(errno));
    }
    free(bin);
}
