#include "checkpoint.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define STATE_MAGIC 20241124
#define STATE_VERSION 3  // 2: data position (epoch, shard, cursor); 3: + target row norms and gradient-SNR EMAs

typedef struct {
    int32_t magic, version;
    int32_t step, data_shuffle;
    uint64_t data_epoch, data_shard, data_cursor;
    uint64_t rng[4];
    uint64_t num_parameters;
    int32_t num_state;
    char optimizer[32];
    uint64_t num_rows;   // target row norms after the parameter-shaped state (rotational optimizers)
    int32_t snr_floats;  // then the gradient-SNR EMAs
} StateHeader;
#define STATE_HEADER_BYTES 1024
_Static_assert(sizeof(StateHeader) <= STATE_HEADER_BYTES, "state header too large");

void checkpoint_paths(const char *dir, int step, char *model_path, char *state_path, size_t n) {
    snprintf(model_path, n, "%s/model_%08d.bin", dir, step);
    snprintf(state_path, n, "%s/state_%08d.bin", dir, step);
}

void checkpoint_save(const char *dir, GPT2 *m, const Optimizer *opt, const RunPosition *pos) {
    char model_path[1024], state_path[1024];
    checkpoint_paths(dir, pos->step, model_path, state_path, sizeof model_path);
    gpt2_save_checkpoint(m, model_path);
    size_t n = m->num_parameters, extra = opt->num_rows + SNR_FLOATS,
           bytes = STATE_HEADER_BYTES + ((size_t)opt->kind->num_state * n + extra) * sizeof(float);
    char *buf = callocCheck(bytes, 1);
    StateHeader h = {.magic = STATE_MAGIC, .version = STATE_VERSION, .step = pos->step,
                     .data_shuffle = pos->data_shuffle, .data_epoch = pos->data.epoch,
                     .data_shard = pos->data.shard, .data_cursor = pos->data.cursor, .num_parameters = n,
                     .num_state = opt->kind->num_state, .num_rows = opt->num_rows, .snr_floats = SNR_FLOATS};
    memcpy(h.rng, pos->rng.s, sizeof h.rng);
    snprintf(h.optimizer, sizeof h.optimizer, "%s", opt->kind->name);
    memcpy(buf, &h, sizeof h);
    for (int i = 0; i < opt->kind->num_state; i++)
        gpt2_download(m, opt->state[i], (float *)(buf + STATE_HEADER_BYTES) + (size_t)i * n);
    float *tail = (float *)(buf + STATE_HEADER_BYTES) + (size_t)opt->kind->num_state * n;
    if (opt->num_rows) device_read(m->dev, opt->target, 0, opt->num_rows * sizeof(float), tail);
    device_read(m->dev, opt->snr, 0, SNR_FLOATS * sizeof(float), tail + opt->num_rows);
    write_file_atomic(state_path, buf, bytes);
    free(buf);
}

int checkpoint_latest(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int best = -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        int step;
        char tail;
        if (sscanf(e->d_name, "state_%d.bi%c", &step, &tail) == 2 && tail == 'n' &&
            strlen(e->d_name) == strlen("state_00000000.bin") && step > best) {
            char model_path[1024], state_path[1024];
            checkpoint_paths(dir, step, model_path, state_path, sizeof model_path);
            if (file_exists(model_path)) best = step;
        }
    }
    closedir(d);
    return best;
}

void checkpoint_load(const char *dir, int step, GPT2 *m, Optimizer *opt, RunPosition *pos) {
    char model_path[1024], state_path[1024];
    checkpoint_paths(dir, step, model_path, state_path, sizeof model_path);
    gpt2_load_checkpoint(m, model_path);
    FILE *f = fopen(state_path, "rb");
    if (!f) die("cannot open resume state '%s': %s", state_path, strerror(errno));
    char raw[STATE_HEADER_BYTES];
    if (fread(raw, 1, sizeof raw, f) != sizeof raw) die("resume state '%s' is truncated", state_path);
    StateHeader h;
    memcpy(&h, raw, sizeof h);
    if (h.magic != STATE_MAGIC || h.version != STATE_VERSION)
        die("'%s' is not a gpt2cl resume state (magic %d version %d)", state_path, h.magic, h.version);
    if (h.step != step) die("resume state '%s' says step %d", state_path, h.step);
    if (h.num_parameters != m->num_parameters)
        die("resume state '%s' holds %llu parameters, the model has %zu", state_path,
            (unsigned long long)h.num_parameters, m->num_parameters);
    h.optimizer[sizeof h.optimizer - 1] = '\0';
    if (strcmp(h.optimizer, opt->kind->name) != 0 || h.num_state != opt->kind->num_state)
        die("resume state '%s' was written by optimizer '%s', the run uses '%s'", state_path, h.optimizer,
            opt->kind->name);
    size_t n = m->num_parameters;
    float *host = mallocCheck(n * sizeof(float));
    for (int i = 0; i < h.num_state; i++) {
        freadCheck(host, sizeof(float), n, f, state_path);
        gpt2_upload(m, opt->state[i], host);
    }
    if (h.num_rows != opt->num_rows || h.snr_floats != SNR_FLOATS)
        die("resume state '%s' holds %llu row norms and %d SNR values, the run needs %zu and %d", state_path,
            (unsigned long long)h.num_rows, h.snr_floats, opt->num_rows, SNR_FLOATS);
    float *tail = mallocCheck((opt->num_rows + SNR_FLOATS) * sizeof(float));
    freadCheck(tail, sizeof(float), opt->num_rows + SNR_FLOATS, f, state_path);
    if (opt->num_rows) device_write(m->dev, opt->target, 0, opt->num_rows * sizeof(float), tail);
    device_write(m->dev, opt->snr, 0, SNR_FLOATS * sizeof(float), tail + opt->num_rows);
    free(tail);
    if (fgetc(f) != EOF) die("resume state '%s' is longer than its header says", state_path);
    fclose(f);
    free(host);
    pos->step = h.step;
    pos->data_shuffle = h.data_shuffle;
    pos->data = (DataPosition){.epoch = h.data_epoch, .shard = h.data_shard, .cursor = h.data_cursor};
    memcpy(pos->rng.s, h.rng, sizeof h.rng);
}
