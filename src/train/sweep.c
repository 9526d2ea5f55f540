#include "train/sweep.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "train/checkpoint.h"
#include "train/run_lock.h"
#include "train/sweep_result.h"
#include "util/util.h"

#define SWEEP_MAX_RUNS 10000
#define BASE_MARK "# the base config of this sweep, written by gpt2cl sweep\n"

// The base config as the sweep saves it: every run key but the per-run out_dir and log, and the device (a sweep
// may continue on another).
static char *base_text(const Config *base, size_t *len) {
    Config c = *base;
    c.out_dir[0] = c.log[0] = c.device[0] = '\0';
    char *buf = NULL;
    FILE *mem = open_memstream(&buf, len);
    if (!mem) out_of_memory("writing the sweep's base config");
    fputs(BASE_MARK, mem);
    config_write(&c, mem);
    fclose(mem);
    return buf;
}

// Saves OUT/sweep.ini, or checks that the sweep already in OUT has the same base config (the grid may differ).
static Status check_base(const char *out, const Config *base) {
    size_t len;
    char *text = base_text(base, &len), path[1100], why[256];
    snprintf(path, sizeof path, "%s/sweep.ini", out);
    Status s = STATUS_OK;
    if (file_exists(path)) {
        char *old = try_read_file(path, NULL, why, sizeof why);
        if (!old || strcmp(old, text))
            s = fail(STATUS_INPUT,
                     "'%s' holds a sweep of another base config (%s differs): resume it with the same config and "
                     "overrides, or choose another --out",
                     out, path);
        free(old);
    } else {
        s = write_file_atomic(path, text, len);
    }
    free(text);
    return s;
}

// Sends the child's stdout and stderr to DIR/train.out (appended on a resume, else new).
static void redirect_output(const char *dir, int resume) {
    char path[1100];
    snprintf(path, sizeof path, "%s/train.out", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (resume ? O_APPEND : O_TRUNC), 0644);
    if (fd < 0) return;  // the output then goes where the sweep's goes
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
}

// Trains run p in this (child) process: fresh, or resumed from the folder's latest checkpoint. Writes its record.
static RunRecord child_train(const SweepPoint *p, const char *device) {
    RunRecord rec = {.have = 1, .loss = NAN};
    Config cfg = p->cfg;
    const char *dir = cfg.out_dir;
    int latest = checkpoint_latest(dir);
    redirect_output(dir, latest >= 0);
    RunOptions opts = {0};
    Status s = device ? config_set(&cfg, "device", device) : STATUS_OK;
    if (!s && latest >= 0) {
        char state[CONFIG_STR];
        s = run_folder_claim(dir);
        checkpoint_paths(dir, latest, cfg.init_from, state, sizeof state);
        opts = (RunOptions){.resume_dir = dir, .resume_step = latest};
    } else if (!s) {
        unlink(cfg.log);  // the log of a run killed before its first checkpoint: the run starts again
    }
    double t0 = now_seconds();
    RunResult r = {.outcome = RUN_FINISHED, .status = s, .step = latest, .loss = NAN};
    if (!s && latest < cfg.steps) r = train_run(&cfg, &opts);
    else if (s) r.outcome = RUN_FAILED;
    rec.outcome = r.outcome;
    rec.step = r.step;
    rec.loss = r.loss;
    rec.wall_s = now_seconds() - t0;
    log_summarize(cfg.log, &rec.log);
    if (r.outcome == RUN_FAILED) snprintf(rec.message, sizeof rec.message, "%s", status_message());
    fflush(stdout);
    return rec;
}

int sweep_child(const SweepPoint *p, const char *device, pid_t parent) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) return 3;  // the sweep died before the line above
    RunRecord rec = child_train(p, device);
    Status s = run_record_write(p->cfg.out_dir, &rec);
    fflush(NULL);
    return s ? 2 : rec.outcome == RUN_FAILED;
}

typedef struct {
    pid_t pid;  // 0: a free slot
    int point;
    int start_step;  // the checkpoint it resumed from (0: fresh)
} Job;

typedef struct {
    const SweepGrid *g;
    const SweepOptions *o;
    SweepPoint *points;
    int n;
    Job *jobs;
    long long total_steps, done_steps;  // of the runs this sweep trains, and of those that ended
    double start;
    SweepSummary *sum;
    int drawn;  // a progress bar is on the terminal line
} Sweep;

// The progress bar over the whole sweep: runs, steps and the ETA from the steps trained so far.
static void draw_progress(Sweep *w) {
    long long steps = w->done_steps;
    for (int j = 0; j < w->o->jobs; j++)
        if (w->jobs[j].pid) {
            int s = log_last_step(w->points[w->jobs[j].point].cfg.log) - w->jobs[j].start_step;
            if (s > 0) steps += s;
        }
    if (steps > w->total_steps) steps = w->total_steps;
    double elapsed = now_seconds() - w->start, frac = w->total_steps ? (double)steps / w->total_steps : 1;
    char bar[31], took[32], eta[32] = "?";
    int fill = (int)(frac * 30);
    for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
    bar[30] = '\0';
    if (steps > 0) format_duration(elapsed * (w->total_steps - steps) / steps, eta, sizeof eta);
    const SweepSummary *s = w->sum;
    fprintf(stderr, "%ssweep [%s] %d/%d runs (%d diverged, %d failed) | %lld/%lld steps | %s | ETA %s%s",
            w->o->progress_tty ? "\r\033[K" : "", bar, s->finished + s->diverged + s->failed, s->runs - s->skipped,
            s->diverged, s->failed, steps, w->total_steps, format_duration(elapsed, took, sizeof took), eta,
            w->o->progress_tty ? "" : "\n");
    fflush(stderr);
    w->drawn = w->o->progress_tty;
}

// Clears the progress bar before a line of output.
static void clear_progress(Sweep *w) {
    if (w->drawn) fprintf(stderr, "\r\033[K");
    w->drawn = 0;
}

// Starts run i in job slot j.
static Status start_job(Sweep *w, int j, int i) {
    const SweepPoint *p = &w->points[i];
    TRY(make_dirs(p->cfg.out_dir));
    int latest = checkpoint_latest(p->cfg.out_dir);
    const char *device = w->o->num_devices ? w->o->devices[j % w->o->num_devices] : NULL;
    fflush(NULL);  // nothing buffered may be written twice
    pid_t parent = getpid(), pid = fork();
    if (pid < 0) return fail(STATUS_IO, "cannot start a run (fork): %s", strerror(errno));
    if (pid == 0) {
        w->o->child(p, device, parent);
        internal_error("the sweep's child function returned");
    }
    w->jobs[j] = (Job){.pid = pid, .point = i, .start_step = latest > 0 ? latest : 0};
    return STATUS_OK;
}

// Reports how run i ended (exit status st of its process) on stdout and counts it.
static void report_run(Sweep *w, int i, int st) {
    const SweepPoint *p = &w->points[i];
    RunRecord r;
    run_record_read(p->cfg.out_dir, &r);
    if (!r.have || !WIFEXITED(st) || WEXITSTATUS(st) > 1) {
        r.outcome = RUN_FAILED;
        if (WIFSIGNALED(st)) snprintf(r.message, sizeof r.message, "killed by signal %d", WTERMSIG(st));
        else if (!r.message[0]) snprintf(r.message, sizeof r.message, "it exited with status %d", WEXITSTATUS(st));
    }
    const LogSummary ls = r.log;
    char took[32];
    format_duration(r.wall_s, took, sizeof took);
    clear_progress(w);
    if (r.outcome == RUN_FINISHED) {
        w->sum->finished++;
        printf("%s: finished, val_loss %.4f (best %.4f), %s\n", p->name, ls.final_val, ls.best_val, took);
    } else if (r.outcome == RUN_DIVERGED) {
        w->sum->diverged++;
        printf("%s: diverged at step %d (loss %g), %s\n", p->name, r.step, r.loss, took);
    } else {
        w->sum->failed++;
        printf("%s: FAILED: %s (see %s/train.out)\n", p->name, r.message, p->cfg.out_dir);
    }
    fflush(stdout);
}

// Waits up to 50 ms for a run to end; handles it and frees its slot. Returns 1 when one ended.
static int reap(Sweep *w) {
    int st;
    pid_t pid = waitpid(-1, &st, WNOHANG);
    if (pid <= 0) {
        nanosleep(&(struct timespec){.tv_sec = 0, .tv_nsec = 50000000}, NULL);
        return 0;
    }
    for (int j = 0; j < w->o->jobs; j++)
        if (w->jobs[j].pid == pid) {
            const SweepPoint *p = &w->points[w->jobs[j].point];
            report_run(w, w->jobs[j].point, st);
            w->done_steps += p->cfg.steps - w->jobs[j].start_step;
            w->jobs[j].pid = 0;
            return 1;
        }
    return 0;
}

static int free_slot(const Sweep *w) {
    for (int j = 0; j < w->o->jobs; j++)
        if (!w->jobs[j].pid) return j;
    return -1;
}

// Trains every run without a record, up to jobs at once; rewrites the results after each.
static Status run_all(Sweep *w, const int *todo, int num_todo) {
    int next = 0, active = 0;
    double last_draw = 0;
    Status s = STATUS_OK;
    while ((next < num_todo && !s) || active > 0) {
        int j;
        while (!s && next < num_todo && (j = free_slot(w)) >= 0) {
            s = start_job(w, j, todo[next++]);
            if (!s) active++;
        }
        if (reap(w)) {
            active--;
            Status r = sweep_write_results(w->o->out, w->g, w->points, w->n);
            if (!s) s = r;
            last_draw = 0;
        }
        if (now_seconds() - last_draw > (w->o->progress_tty ? 1.0 : 60.0)) {
            draw_progress(w);
            last_draw = now_seconds();
        }
    }
    return s;
}

// The runs of the grid, checked before any starts (a bad value fails the sweep, not one run).
static Status make_points(const SweepGrid *g, const Config *base, const char *out, SweepPoint **points, int *n) {
    long long size = 1;
    for (int a = 0; a < g->num_axes; a++) size *= g->axes[a].n;
    size *= g->seeds > 0 ? g->seeds : 1;
    if (size > SWEEP_MAX_RUNS) return fail(STATUS_INPUT, "the grid has %lld runs, more than %d", size, SWEEP_MAX_RUNS);
    *n = (int)size;
    *points = callocCheck((size_t)size, sizeof **points);
    for (int i = 0; i < *n; i++) {
        TRY(sweep_point(g, base, out, i, &(*points)[i]));
        for (int k = 0; k < i; k++)
            if (!strcmp((*points)[k].name, (*points)[i].name))
                return fail(STATUS_INPUT, "two runs of the grid have the folder name '%s'", (*points)[i].name);
    }
    return STATUS_OK;
}

// The runs without a record (to train) into todo; counts the others and the steps left.
static int plan(Sweep *w, int *todo) {
    int num = 0;
    for (int i = 0; i < w->n; i++) {
        RunRecord r;
        run_record_read(w->points[i].cfg.out_dir, &r);
        if (run_record_done(&r)) {
            w->sum->skipped++;
            continue;
        }
        int latest = checkpoint_latest(w->points[i].cfg.out_dir);
        w->total_steps += w->points[i].cfg.steps - (latest > 0 ? latest : 0);
        todo[num++] = i;
    }
    return num;
}

static Status sweep_points(Sweep *w) {
    int *todo = mallocCheck((size_t)w->n * sizeof *todo);
    int num_todo = plan(w, todo);
    printf("sweep: %d runs in %s (%d done before, %d to train, %d at once)\n", w->n, w->o->out, w->sum->skipped,
           num_todo, w->o->jobs);
    fflush(stdout);
    Status s = run_all(w, todo, num_todo);
    free(todo);
    clear_progress(w);
    if (!s) s = sweep_write_results(w->o->out, w->g, w->points, w->n);
    return s;
}

Status sweep_run(const Config *base, const SweepGrid *g, const SweepOptions *o, SweepSummary *sum) {
    *sum = (SweepSummary){0};
    Sweep w = {.g = g, .o = o, .sum = sum, .start = now_seconds()};
    Status s = make_points(g, base, o->out, &w.points, &w.n);
    if (!s) s = make_dirs(o->out);
    if (!s) s = run_folder_lock(o->out);
    if (!s) s = check_base(o->out, base);
    if (!s) {
        sum->runs = w.n;
        w.jobs = callocCheck((size_t)o->jobs, sizeof *w.jobs);
        s = sweep_points(&w);
        free(w.jobs);
    }
    free(w.points);
    sum->wall_s = now_seconds() - w.start;
    return s;
}
