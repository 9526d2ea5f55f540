#include "train/run_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "util/util.h"

// The process holding the flock on st's file, from /proc/locks (Linux), or 0
// if it cannot be told. Lines read "1: FLOCK  ADVISORY  WRITE PID MAJ:MIN:INODE 0 EOF".
static long lock_holder(const struct stat *st) {
    FILE *f = fopen("/proc/locks", "r");
    if (!f) return 0;
    char line[256], kind[16], mode[16], access[16];
    long pid = 0, found = 0;
    unsigned maj, min;
    unsigned long long ino;
    while (!found && fgets(line, sizeof line, f))
        if (sscanf(line, "%*d: %15s %15s %15s %ld %x:%x:%llu", kind, mode, access, &pid, &maj, &min, &ino) == 7 &&
            !strcmp(kind, "FLOCK") && ino == (unsigned long long)st->st_ino && maj == major(st->st_dev) &&
            min == minor(st->st_dev))
            found = pid;
    fclose(f);
    return found;
}

// Takes the flock on the open lock file fd (path, in dir).
static Status lock(int fd, const char *path, const char *dir) {
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return fail(STATUS_INPUT, "'%s' is not a gpt2cl lock file", path);
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) return STATUS_OK;
    if (errno != EWOULDBLOCK) return fail(STATUS_IO, "cannot lock '%s': %s", path, strerror(errno));
    long pid = lock_holder(&st);
    char who[48] = "another process";
    if (pid > 0) snprintf(who, sizeof who, "process %ld", pid);
    return fail(STATUS_INPUT,
                "'%s' is in use by another gpt2cl train (%s holds %s); wait for it to end or choose another out_dir",
                dir, who, path);
}

Status run_folder_lock(const char *dir) {
    size_t n = strlen(dir) + 16;
    char *path = mallocCheck(n);
    snprintf(path, n, "%s/train.lock", dir);
    // O_NONBLOCK and the fstat check: something else planted under the name is refused, never waited on.
    int fd = open(path, O_RDONLY | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0644);
    Status s = fd < 0 ? fail(STATUS_IO, "cannot create the lock file '%s': %s", path, strerror(errno))
                      : lock(fd, path, dir);
    // On success fd stays open, and the lock held, until the process exits (also by a crash or kill -9).
    if (s && fd >= 0) close(fd);
    free(path);
    return s;
}
