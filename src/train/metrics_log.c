#include "train/metrics_log.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"

// 1 when line (a log's first line, n bytes) is a record gpt2cl writes: a JSON object whose first member is "step".
static int is_log_record(const char *line, size_t n) {
    cJSON *o = cJSON_ParseWithLength(line, n);
    int ok = cJSON_IsObject(o) && o->child && o->child->string && !strcmp(o->child->string, "step") &&
             cJSON_IsNumber(o->child);
    cJSON_Delete(o);
    return ok;
}

// Fails unless the open file fd (path) may be appended to: empty, or a gpt2cl log by its first line.
// Also ends a last line a crash cut short, so the next record starts on a line of its own.
static Status check_existing_log(int fd, const char *path) {
    struct stat st;
    if (fstat(fd, &st) != 0) return fail(STATUS_IO, "cannot read log file '%s': %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode)) return fail(STATUS_INPUT, "log file '%s' is not a regular file", path);
    if (st.st_size == 0) return STATUS_OK;
    char head[65536];
    ssize_t got = pread(fd, head, sizeof head, 0);
    if (got < 0) return fail(STATUS_IO, "cannot read log file '%s': %s", path, strerror(errno));
    const char *nl = memchr(head, '\n', (size_t)got);
    if (!nl || !is_log_record(head, (size_t)(nl - head)))
        return fail(STATUS_INPUT,
                    "log file '%s' exists and is not a gpt2cl log (its first line is not a gpt2cl JSON record): log "
                    "only appends to its own files; give a new file name",
                    path);
    char last;
    if (pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n' && write(fd, "\n", 1) != 1)
        return fail(STATUS_IO, "cannot write log file '%s': %s", path, strerror(errno));
    return STATUS_OK;
}

Status metrics_log_open(MetricsLog *log, const char *path) {
    log->f = NULL;
    if (!path || !*path) return STATUS_OK;
    // O_NONBLOCK: a FIFO under the name is refused (by the fstat check), not waited on.
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    Status s = STATUS_OK;
    if (fd < 0 && errno == EEXIST) {
        fd = open(path, O_RDWR | O_APPEND | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0) s = check_existing_log(fd, path);
    }
    if (fd >= 0 && !s) {
        int flags = fcntl(fd, F_GETFL);
        if (flags >= 0 && fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == 0) log->f = fdopen(fd, "a");
    }
    if (!log->f && !s) s = fail(STATUS_IO, "cannot open log file '%s': %s", path, strerror(errno));
    if (!log->f && fd >= 0) close(fd);
    return s;
}

Status metrics_log_close(MetricsLog *log) {
    Status s = STATUS_OK;
    if (log->f && fclose(log->f) != 0) s = fail(STATUS_IO, "error closing log file: %s", strerror(errno));
    log->f = NULL;
    return s;
}

static void write_object(MetricsLog *log, cJSON *obj) {
    char *s = cJSON_PrintUnformatted(obj);
    if (!s) out_of_memory("formatting a log line");
    fprintf(log->f, "%s\n", s);
    fflush(log->f);
    cJSON_free(s);
    cJSON_Delete(obj);
}

void metrics_log_step(MetricsLog *log, int step, double loss, double lr, double grad_norm, double ms,
                      double tokens_per_s, double mfu) {
    if (!log->f) return;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "step", step);
    cJSON_AddNumberToObject(o, "loss", loss);
    cJSON_AddNumberToObject(o, "lr", lr);
    cJSON_AddNumberToObject(o, "grad_norm", grad_norm);
    cJSON_AddNumberToObject(o, "ms", ms);
    cJSON_AddNumberToObject(o, "tokens_per_s", tokens_per_s);
    cJSON_AddNumberToObject(o, "mfu", mfu);
    write_object(log, o);
}

void metrics_log_val(MetricsLog *log, int step, double val_loss) {
    if (!log->f) return;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "step", step);
    cJSON_AddNumberToObject(o, "val_loss", val_loss);
    write_object(log, o);
}

void metrics_log_val_accuracy(MetricsLog *log, int step, double val_loss, double val_accuracy) {
    if (!log->f) return;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "step", step);
    cJSON_AddNumberToObject(o, "val_loss", val_loss);
    cJSON_AddNumberToObject(o, "val_accuracy", val_accuracy);
    write_object(log, o);
}

void print_progress(int step, int steps, double loss, double lr, double grad_norm, double ms, double tokens_per_s,
                    double flops_per_s, double mfu, double eta_s, const char *extra) {
    char eta[32];
    const char *unit = flops_per_s >= 1e12 ? "TFLOP/s" : "GFLOP/s";
    double flops = flops_per_s >= 1e12 ? flops_per_s / 1e12 : flops_per_s / 1e9;
    printf("step %*d/%d | loss %.6f | lr %.2e | norm %.4f | %.1f ms | %.0f tok/s | %.2f %s | MFU %.1f%%%s | ETA %s\n",
           snprintf(NULL, 0, "%d", steps), step, steps, loss, lr, grad_norm, ms, tokens_per_s, flops, unit, 100 * mfu,
           extra ? extra : "", format_duration(eta_s, eta, sizeof eta));
    fflush(stdout);
}

// A number with 9 significant digits (the log's size), or null when not finite.
static void add_short(cJSON *o, const char *name, double x) {
    char text[32];
    snprintf(text, sizeof text, "%.9g", x);
    if (isfinite(x)) cJSON_AddRawToObject(o, name, text);
    else cJSON_AddNullToObject(o, name);
}

// The fields of one tensor's (or slice's) measurements; layer adds the norms that pooling them again needs,
// in full precision with l2 (a small angle follows from differences of them).
static void add_measure(cJSON *x, const TensorMeasure *t, int matrix, int layer) {
    if (layer) cJSON_AddNumberToObject(x, "l2", t->l2);
    else add_short(x, "l2", t->l2);
    add_short(x, "rel", t->rel);
    add_short(x, "angle", t->angle);
    if (matrix) add_short(x, "angle_rows", t->angle_rows);
    if (t->have_rrc) add_short(x, "rrc", t->rrc);
    add_short(x, "cos_gm", t->cos_gm);
    add_short(x, "m_over_g", t->m_over_g);
    if (t->have_snr) {
        add_short(x, "phi", t->phi);
        if (t->b_noise >= 0) add_short(x, "b_noise", t->b_noise);
    }
    if (!layer) return;
    cJSON_AddNumberToObject(x, "norm", t->norm);
    cJSON_AddNumberToObject(x, "norm_new", t->norm_new);
    cJSON_AddNumberToObject(x, "g_norm", t->g_norm);
    if (t->have_rrc) cJSON_AddNumberToObject(x, "out_norm", t->out_norm);
}

void metrics_log_measure(MetricsLog *log, int step, const Measure *ms, const GPT2 *m) {
    if (!log->f) return;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "step", step);
    cJSON_AddNumberToObject(o, "angle_configured", ms->angle_configured);
    cJSON_AddNumberToObject(o, "mean_angle_rows", ms->mean_angle_rows);
    cJSON *ts = cJSON_AddObjectToObject(o, "tensors");
    cJSON *vs = cJSON_AddObjectToObject(o, "vector_tensors");
    cJSON *ls = cJSON_AddObjectToObject(o, "layers");
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) {
        const int matrix = m->tensors[i].is_matrix;
        add_measure(cJSON_AddObjectToObject(matrix ? ts : vs, param_tensor_names[i]), &ms->t[i], matrix, 0);
        cJSON *per = cJSON_AddArrayToObject(ls, param_tensor_names[i]);
        for (int l = 0; l < m->tensors[i].num_slices; l++) {
            cJSON *x = cJSON_CreateObject();
            add_measure(x, &ms->layer[i][l], matrix, 1);
            cJSON_AddItemToArray(per, x);
        }
    }
    write_object(log, o);
}

void measure_summary(const Measure *ms, char *buf, size_t n) {
    snprintf(buf, n, " | angle %.2e (eq %.2e)", ms->mean_angle_rows, ms->angle_configured);
}
