#include "train/sweep_result.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/parse_num.h"
#include "util/util.h"

const char *run_outcome_name(RunOutcome o) {
    return o == RUN_FINISHED ? "finished" : o == RUN_DIVERGED ? "diverged" : "failed";
}

int run_record_done(const RunRecord *r) { return r->have && r->outcome != RUN_FAILED; }

static char *print_json(cJSON *o) {
    char *s = cJSON_PrintUnformatted(o);
    if (!s) out_of_memory("formatting a sweep record");
    cJSON_Delete(o);
    return s;
}

Status run_record_write(const char *dir, const RunRecord *r) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "outcome", run_outcome_name(r->outcome));
    cJSON_AddNumberToObject(o, "step", r->step);
    cJSON_AddNumberToObject(o, "loss", r->loss);  // cJSON writes a NaN as null
    cJSON_AddNumberToObject(o, "wall_s", r->wall_s);
    if (r->message[0]) cJSON_AddStringToObject(o, "message", r->message);
    cJSON_AddNumberToObject(o, "steps_trained", r->log.last_step);
    cJSON_AddNumberToObject(o, "final_val_loss", r->log.have_val ? r->log.final_val : NAN);
    cJSON_AddNumberToObject(o, "best_val_loss", r->log.have_val ? r->log.best_val : NAN);
    cJSON_AddNumberToObject(o, "tokens_per_s", r->log.tokens_per_s);
    char *text = print_json(o), path[1100];
    snprintf(path, sizeof path, "%s/result.json", dir);
    size_t n = strlen(text);
    text[n] = '\n';  // cJSON's buffer ends in the NUL this replaces; only n+1 bytes are written
    Status s = write_file_atomic(path, text, n + 1);
    cJSON_free(text);
    return s;
}

static double number_or_nan(const cJSON *o, const char *name) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

void run_record_read(const char *dir, RunRecord *r) {
    memset(r, 0, sizeof *r);
    char path[1100], why[256];
    snprintf(path, sizeof path, "%s/result.json", dir);
    char *text = try_read_file(path, NULL, why, sizeof why);
    cJSON *o = text ? cJSON_Parse(text) : NULL;
    free(text);
    const cJSON *outcome = cJSON_GetObjectItemCaseSensitive(o, "outcome");
    if (cJSON_IsString(outcome)) {
        r->have = 1;
        r->outcome = !strcmp(outcome->valuestring, "finished")   ? RUN_FINISHED
                     : !strcmp(outcome->valuestring, "diverged") ? RUN_DIVERGED
                                                                 : RUN_FAILED;
        double step = number_or_nan(o, "step");
        r->step = isfinite(step) ? (int)step : 0;
        r->loss = number_or_nan(o, "loss");
        r->wall_s = number_or_nan(o, "wall_s");
        double last = number_or_nan(o, "steps_trained");
        r->log = (LogSummary){.last_step = isfinite(last) ? (int)last : 0,
                              .final_val = number_or_nan(o, "final_val_loss"),
                              .best_val = number_or_nan(o, "best_val_loss"),
                              .tokens_per_s = number_or_nan(o, "tokens_per_s")};
        r->log.have_val = isfinite(r->log.final_val);
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "message");
        if (cJSON_IsString(m)) snprintf(r->message, sizeof r->message, "%s", m->valuestring);
    }
    cJSON_Delete(o);
}

// Adds one log line's figures to s (tps_sum/tps_n: tokens/s of the steps after a run's first).
static void summarize_line(const char *line, LogSummary *s, double *tps_sum, int *tps_n) {
    if (strstr(line, "\"tensors\":")) return;  // a measurement record: large, and nothing for the summary
    cJSON *o = cJSON_Parse(line);
    const cJSON *step = cJSON_GetObjectItemCaseSensitive(o, "step");
    const cJSON *val = cJSON_GetObjectItemCaseSensitive(o, "val_loss");
    const cJSON *tps = cJSON_GetObjectItemCaseSensitive(o, "tokens_per_s");
    if (cJSON_IsNumber(step) && cJSON_IsNumber(val)) {
        s->final_val = val->valuedouble;
        if (!s->have_val || val->valuedouble < s->best_val) s->best_val = val->valuedouble;
        s->have_val = 1;
    } else if (cJSON_IsNumber(step) && cJSON_IsNumber(tps)) {
        // The first step of each process includes one-time costs (a resume starts a new process).
        if (step->valueint > 1 && step->valueint == s->last_step + 1) {
            *tps_sum += tps->valuedouble;
            (*tps_n)++;
        }
        s->last_step = step->valueint;
    }
    cJSON_Delete(o);
}

void log_summarize(const char *path, LogSummary *s) {
    *s = (LogSummary){.final_val = NAN, .best_val = NAN, .tokens_per_s = NAN};
    char why[256];
    FILE *f = open_regular_file(path, why, sizeof why);
    if (!f) return;
    double tps_sum = 0;
    int tps_n = 0;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) summarize_line(line, s, &tps_sum, &tps_n);
    free(line);
    fclose(f);
    if (tps_n) s->tokens_per_s = tps_sum / tps_n;
}

int log_last_step(const char *path) {
    char why[256], buf[8192];
    FILE *f = open_regular_file(path, why, sizeof why);
    if (!f) return 0;
    long long size = file_size(f);
    long start = size > (long long)sizeof buf - 1 ? (long)(size - (long long)sizeof buf + 1) : 0;
    size_t n = fseek(f, start, SEEK_SET) == 0 ? fread(buf, 1, sizeof buf - 1, f) : 0;
    fclose(f);
    buf[n] = '\0';
    int last = 0;
    for (char *p = buf; (p = strstr(p, "{\"step\":")); p++) {
        int step, len;
        // A step record: the step is followed by the loss (validation records follow it with val_loss).
        if (sscanf(p, "{\"step\":%d%n", &step, &len) == 1 && !strncmp(p + len, ",\"loss\"", 7)) last = step;
    }
    return last;
}

// A grid value as JSON: a number when it reads as one, else the text.
static cJSON *grid_value(const char *v) {
    double x;
    char why[200];
    return parse_double(v, -1e308, 1e308, &x, why, sizeof why) ? cJSON_CreateNumber(x) : cJSON_CreateString(v);
}

static void add_number_or_null(cJSON *o, const char *name, double x) {
    cJSON_AddItemToObject(o, name, isfinite(x) ? cJSON_CreateNumber(x) : cJSON_CreateNull());
}

// The results row of run p with record r: its grid values, the keys the study's plots read, its outcome and figures.
static cJSON *result_row(const SweepGrid *g, const SweepPoint *p, const RunRecord *r) {
    const Config *c = &p->cfg;
    const LogSummary ls = r->log;
    cJSON *o = cJSON_CreateObject(), *keys = cJSON_AddObjectToObject(o, "keys");
    cJSON_AddStringToObject(o, "name", p->name);
    for (int a = 0; a < g->num_axes; a++) cJSON_AddItemToObject(keys, g->axes[a].key, grid_value(p->value[a]));
    cJSON_AddStringToObject(o, "optimizer", optimizer_name(c->optimizer));
    cJSON_AddNumberToObject(o, "lr", c->lr);
    cJSON_AddNumberToObject(o, "warmup_steps",
                            c->warmup_frac > 0 ? (double)lround(c->warmup_frac * c->steps) : c->warmup_steps);
    cJSON_AddNumberToObject(o, "warmup_frac", c->warmup_frac > 0 ? c->warmup_frac : (double)c->warmup_steps / c->steps);
    cJSON_AddNumberToObject(o, "seed", (double)c->seed);
    cJSON_AddNumberToObject(o, "steps", c->steps);
    cJSON_AddStringToObject(o, "outcome", run_outcome_name(r->outcome));
    cJSON_AddBoolToObject(o, "diverged", r->outcome == RUN_DIVERGED);
    add_number_or_null(o, "diverged_step", r->outcome == RUN_DIVERGED ? r->step : NAN);
    cJSON_AddNumberToObject(o, "steps_trained", ls.last_step);
    add_number_or_null(o, "final_val_loss", r->outcome == RUN_FINISHED ? ls.final_val : NAN);
    add_number_or_null(o, "best_val_loss", ls.best_val);
    add_number_or_null(o, "final_loss", r->loss);
    add_number_or_null(o, "wall_s", r->wall_s);
    add_number_or_null(o, "tokens_per_s", ls.tokens_per_s);
    return o;
}

// One CSV field of row member x: numbers as %.9g, text as is (values with , or " quoted), null empty.
static void csv_field(FILE *f, const cJSON *x) {
    if (cJSON_IsNumber(x)) fprintf(f, "%.9g", x->valuedouble);
    else if (cJSON_IsBool(x)) fprintf(f, "%s", cJSON_IsTrue(x) ? "true" : "false");
    else if (cJSON_IsString(x) && strpbrk(x->valuestring, ",\"\n")) {
        fputc('"', f);
        for (const char *c = x->valuestring; *c; c++) fprintf(f, *c == '"' ? "\"\"" : "%c", *c);
        fputc('"', f);
    } else if (cJSON_IsString(x)) fprintf(f, "%s", x->valuestring);
}

// A CSV line of row: the grid keys, then the other members (the header when header is set).
static void csv_line(FILE *f, const cJSON *row, int header) {
    int first = 1;
    const cJSON *keys = cJSON_GetObjectItemCaseSensitive(row, "keys");
    for (const cJSON *x = keys->child; x; x = x->next, first = 0) {
        if (!first) fputc(',', f);
        if (header) fprintf(f, "%s", x->string);
        else csv_field(f, x);
    }
    for (const cJSON *x = row->child; x; x = x->next) {
        if (x == keys || cJSON_GetObjectItemCaseSensitive(keys, x->string)) continue;  // a grid key has its column
        if (!first) fputc(',', f);
        first = 0;
        if (header) fprintf(f, "%s", x->string);
        else csv_field(f, x);
    }
    fputc('\n', f);
}

static Status write_memstream(const char *out, const char *name, char *buf, size_t len) {
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", out, name);
    Status s = write_file_atomic(path, buf, len);
    free(buf);
    return s;
}

Status sweep_write_results(const char *out, const SweepGrid *g, const SweepPoint *points, int n) {
    char *jbuf = NULL, *cbuf = NULL;
    size_t jlen = 0, clen = 0;
    FILE *jf = open_memstream(&jbuf, &jlen), *cf = open_memstream(&cbuf, &clen);
    if (!jf || !cf) out_of_memory("writing the sweep results");
    int rows = 0;
    for (int i = 0; i < n; i++) {
        RunRecord r;
        char dir[CONFIG_STR];
        snprintf(dir, sizeof dir, "%s", points[i].cfg.out_dir);
        run_record_read(dir, &r);
        if (!r.have) continue;
        cJSON *row = result_row(g, &points[i], &r);
        if (!rows++) csv_line(cf, row, 1);
        csv_line(cf, row, 0);
        char *line = print_json(row);
        fprintf(jf, "%s\n", line);
        cJSON_free(line);
    }
    fclose(jf);
    fclose(cf);
    Status s = write_memstream(out, "results.jsonl", jbuf, jlen);
    Status c = write_memstream(out, "results.csv", cbuf, clen);
    return s ? s : c;
}
