#include "metrics_log.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void metrics_log_open(MetricsLog *log, const char *path) {
    log->f = NULL;
    if (!path || !*path) return;
    log->f = fopen(path, "a");
    if (!log->f) die("cannot open log file '%s': %s", path, strerror(errno));
}

void metrics_log_close(MetricsLog *log) {
    if (log->f) fcloseCheck(log->f, "log file");
    log->f = NULL;
}

static void write_object(MetricsLog *log, cJSON *obj) {
    char *s = cJSON_PrintUnformatted(obj);
    if (!s) die("out of memory formatting a log line");
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

void metrics_log_measure(MetricsLog *log, int step, const Measure *ms, const GPT2 *m) {
    if (!log->f) return;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "step", step);
    cJSON_AddNumberToObject(o, "angle_configured", ms->angle_configured);
    cJSON_AddNumberToObject(o, "mean_angle_rows", ms->mean_angle_rows);
    cJSON *ts = cJSON_AddObjectToObject(o, "tensors");
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) {
        if (!m->tensors[i].is_matrix) continue;
        const TensorMeasure *t = &ms->t[i];
        cJSON *x = cJSON_AddObjectToObject(ts, param_tensor_names[i]);
        cJSON_AddNumberToObject(x, "l2", t->l2);
        cJSON_AddNumberToObject(x, "rel", t->rel);
        cJSON_AddNumberToObject(x, "angle", t->angle);
        cJSON_AddNumberToObject(x, "angle_rows", t->angle_rows);
        if (t->have_rrc) cJSON_AddNumberToObject(x, "rrc", t->rrc);
        cJSON_AddNumberToObject(x, "cos_gm", t->cos_gm);
        cJSON_AddNumberToObject(x, "m_over_g", t->m_over_g);
        if (t->have_snr) {
            cJSON_AddNumberToObject(x, "phi", t->phi);
            if (t->b_noise >= 0) cJSON_AddNumberToObject(x, "b_noise", t->b_noise);
        }
    }
    write_object(log, o);
}

void measure_summary(const Measure *ms, char *buf, size_t n) {
    snprintf(buf, n, " | angle %.2e (eq %.2e)", ms->mean_angle_rows, ms->angle_configured);
}
