#define _GNU_SOURCE  // renameat2 (glibc 2.28)
#include "text/prepare_output.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "text/prepare_shards.h"
#include "util/util.h"

static char *joined(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = mallocCheck(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

// The stage to remove if the process exits before the commit or prepare_output_free (host out-of-memory exits).
static char *pending_stage;
static void remove_pending_stage(void) {
    if (pending_stage) remove_tree(pending_stage);
}

// ".NAME" and ".NAME.old", the staging and the swapped-out folders of target NAME.
static int staging_of(const char *name, const void *ctx) {
    const char *base = ctx;
    size_t n = strlen(base);
    return name[0] == '.' && !strncmp(name + 1, base, n) && (!name[n + 1] || !strcmp(name + n + 1, ".old"));
}

// Checks what the existing target holds: its first entry that is not a shard
// into o->foreign, and shards only with force.
static Status check_target(PrepareOutput *o, int force) {
    DIR *d = opendir(o->target);
    if (!d) return fail(STATUS_IO, "cannot read folder '%s': %s", o->target, strerror(errno));
    int shards = 0;
    char example[256] = "";
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (!is_shard_name(e->d_name)) {
            if (!o->foreign[0]) snprintf(o->foreign, sizeof o->foreign, "%s", e->d_name);
        } else if (shards++ == 0) {
            snprintf(example, sizeof example, "%s", e->d_name);
        }
    }
    closedir(d);
    if (shards && !force)
        return fail(STATUS_INPUT, "%s already holds %d shard%s (e.g. %s): use --force to replace them", o->target,
                    shards, shards == 1 ? "" : "s", example);
    return STATUS_OK;
}

// Creates the stage (parent: the target's parent folder, existing; st: the target's stat when it exists).
static Status create_stage(PrepareOutput *o, const char *parent, const char *base, const struct stat *st) {
    // The stage goes beside the target, on the same file system, so that the two can be swapped; when the
    // target is a mount point (or ".", ".."), inside it instead, and the shards are moved in one by one.
    struct stat pst;
    o->inside = o->target_exists && (!base[0] || !strcmp(base, ".") || !strcmp(base, "..") ||
                                     (stat(parent, &pst) == 0 && pst.st_dev != st->st_dev));
    const char *where = o->inside ? o->target : parent, *name = o->inside ? "prepare" : base;
    remove_stale_temporaries(where, staging_of, name);
    size_t n = strlen(where) + strlen(name) + 40;
    o->stage = mallocCheck(n);
    snprintf(o->stage, n, "%s/.%s.tmp.%ld", where, name, (long)getpid());
    remove_tree(o->stage);  // a leftover of an earlier process with our id
    if (mkdir(o->stage, 0755) != 0)
        return fail(STATUS_IO, "cannot create the staging folder '%s': %s", o->stage, strerror(errno));
    pending_stage = o->stage;
    static int registered;
    if (!registered++ && atexit(remove_pending_stage) != 0)
        return fail(STATUS_IO, "cannot register the staging folder's clean-up");
    return STATUS_OK;
}

Status prepare_output_open(PrepareOutput *o, const char *target, int force) {
    memset(o, 0, sizeof *o);
    o->target = strdup_check(target);
    for (size_t n = strlen(o->target); n > 1 && o->target[n - 1] == '/'; n--) o->target[n - 1] = '\0';
    struct stat st;
    o->target_exists = stat(o->target, &st) == 0;
    if (o->target_exists && !S_ISDIR(st.st_mode))
        return fail(STATUS_INPUT, "--out '%s' exists and is not a folder", o->target);
    if (o->target_exists) TRY(check_target(o, force));
    char *slash = strrchr(o->target, '/');
    const char *base = slash ? slash + 1 : o->target;
    char *parent = slash ? strndup(o->target, slash == o->target ? 1 : (size_t)(slash - o->target)) : strdup(".");
    if (!parent) out_of_memory("finding the output folder");
    Status s = make_dirs(parent);
    if (!s) s = create_stage(o, parent, base, &st);
    free(parent);
    return s;
}

static int in_list(char **names, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(names[i], name)) return 1;
    return 0;
}

// Moves each staged shard into the target, replacing one of the same name,
// then removes the target's old shards that the new set does not have.
static Status move_shards_in(PrepareOutput *o) {
    char **names = NULL;
    size_t n = 0, cap = 0;
    DIR *d = opendir(o->stage);
    if (!d) return fail(STATUS_IO, "cannot read folder '%s': %s", o->stage, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!is_shard_name(e->d_name)) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            names = realloc(names, cap * sizeof *names);
            if (!names) out_of_memory("listing shards");
        }
        names[n++] = strdup_check(e->d_name);
    }
    closedir(d);
    Status s = STATUS_OK;
    for (size_t i = 0; i < n && !s; i++) {
        char *from = joined(o->stage, names[i]), *to = joined(o->target, names[i]);
        if (rename(from, to) != 0) s = fail(STATUS_IO, "cannot move '%s' to '%s': %s", from, to, strerror(errno));
        free(from);
        free(to);
    }
    d = s ? NULL : opendir(o->target);
    if (!s && !d) s = fail(STATUS_IO, "cannot read folder '%s': %s", o->target, strerror(errno));
    while (d && !s && (e = readdir(d))) {
        if (!is_shard_name(e->d_name) || in_list(names, n, e->d_name)) continue;
        char *old = joined(o->target, e->d_name);
        if (unlink(old) != 0) s = fail(STATUS_IO, "cannot remove the old shard '%s': %s", old, strerror(errno));
        free(old);
    }
    if (d) closedir(d);
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return s;
}

// Swaps the target for the stage with two renames (the target is briefly absent, never mixed); for file
// systems without RENAME_EXCHANGE. Afterwards the stage's name holds nothing (the old folder is removed).
static Status swap_by_renames(PrepareOutput *o) {
    size_t n = strlen(o->stage) + 8;
    char *old = mallocCheck(n);
    snprintf(old, n, "%s", o->stage);
    char *dot_tmp = strstr(old, ".tmp.");
    memmove(dot_tmp + 4, dot_tmp, strlen(dot_tmp) + 1);
    memcpy(dot_tmp, ".old", 4);  // ".NAME.old.tmp.PID": a stale one is removed like the stage
    Status s = STATUS_OK;
    if (rename(o->target, old) != 0) {
        s = fail(STATUS_IO, "cannot rename '%s' to '%s': %s", o->target, old, strerror(errno));
    } else if (rename(o->stage, o->target) != 0) {
        int e = errno;
        rename(old, o->target);  // put the old shards back
        s = fail(STATUS_IO, "cannot rename '%s' to '%s': %s", o->stage, o->target, strerror(e));
    } else {
        remove_tree(old);
    }
    free(old);
    return s;
}

Status prepare_output_commit(PrepareOutput *o) {
    if (!o->target_exists) {
        if (rename(o->stage, o->target) != 0)
            return fail(STATUS_IO, "cannot rename '%s' to '%s': %s", o->stage, o->target, strerror(errno));
    } else if (o->inside || o->foreign[0]) {
        TRY(move_shards_in(o));
        remove_tree(o->stage);
    } else if (renameat2(AT_FDCWD, o->stage, AT_FDCWD, o->target, RENAME_EXCHANGE) == 0) {
        remove_tree(o->stage);  // it holds the old shards now
    } else {
        TRY(swap_by_renames(o));
    }
    pending_stage = NULL;
    return STATUS_OK;
}

void prepare_output_free(PrepareOutput *o) {
    if (o->stage && pending_stage == o->stage) {  // not committed: the stage goes, the target stays as it was
        remove_tree(o->stage);
        pending_stage = NULL;
    }
    free(o->target);
    free(o->stage);
    memset(o, 0, sizeof *o);
}
