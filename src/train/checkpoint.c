#include "train/checkpoint.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/weights_file.h"
#include "util/comm.h"
#include "util/util.h"

#define STATE_MAGIC 20241124
// 2: data position (epoch, shard, cursor); 3: + target row norms and gradient-SNR EMAs;
// 4: + a checksum of the header and the payload. Version 3 is still read (without the checksum).
#define STATE_VERSION 4
#define STATE_VERSION_UNCHECKED 3

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
    uint64_t checksum;   // state_checksum of the header (this field 0) and everything after it
} StateHeader;
#define STATE_HEADER_BYTES 1024
_Static_assert(sizeof(StateHeader) <= STATE_HEADER_BYTES, "state header too large");

// 64-bit FNV-1a over 8-byte words (then the tail bytes): a changed word
// always changes the result, since each step is a bijection of h for a given word.
static uint64_t state_checksum(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = data;
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 1099511628211ULL;
    }
    for (; n; p++, n--) h = (h ^ *p) * 1099511628211ULL;
    return h;
}
#define CHECKSUM_INIT 14695981039346656037ULL

int checkpoint_file_name(const char *name) {
    int step;
    char tail;
    return strlen(name) == strlen("model_00000000.bin") &&
           (sscanf(name, "model_%d.bi%c", &step, &tail) == 2 || sscanf(name, "state_%d.bi%c", &step, &tail) == 2) &&
           tail == 'n' && strspn(name + 6, "0123456789") == 8;
}

void checkpoint_paths(const char *dir, int step, char *model_path, char *state_path, size_t n) {
    snprintf(model_path, n, "%s/model_%08d.bin", dir, step);
    snprintf(state_path, n, "%s/state_%08d.bin", dir, step);
}

Status checkpoint_save(const char *dir, GPT2 *m, const Optimizer *opt, const RunPosition *pos) {
    char model_path[1024], state_path[1024];
    checkpoint_paths(dir, pos->step, model_path, state_path, sizeof model_path);
    const int writer = comm_rank() == 0;  // every rank holds the parameters; a shard's state takes all ranks
    if (writer) TRY(gpt2_save_checkpoint(m, model_path));
    size_t n = m->num_parameters, extra = opt->num_rows + SNR_FLOATS,
           bytes = STATE_HEADER_BYTES + ((size_t)opt->kind->num_state * n + extra) * sizeof(float);
    char *buf = callocCheck(bytes, 1);
    StateHeader h = {.magic = STATE_MAGIC, .version = STATE_VERSION, .step = pos->step,
                     .data_shuffle = pos->data_shuffle, .data_epoch = pos->data.epoch,
                     .data_shard = pos->data.shard, .data_cursor = pos->data.cursor, .num_parameters = n,
                     .num_state = opt->kind->num_state, .num_rows = opt->num_rows, .snr_floats = SNR_FLOATS};
    memcpy(h.rng, pos->rng.s, sizeof h.rng);
    snprintf(h.optimizer, sizeof h.optimizer, "%s", opt->kind->name);
    Status s = STATUS_OK;
    for (int i = 0; i < opt->kind->num_state && !s; i++)
        s = optimizer_download_state(opt, m, i, (float *)(buf + STATE_HEADER_BYTES) + (size_t)i * n);
    float *tail = (float *)(buf + STATE_HEADER_BYTES) + (size_t)opt->kind->num_state * n;
    if (!s) s = optimizer_download_state(opt, m, -1, tail);
    device_read(m->dev, opt->snr, 0, SNR_FLOATS * sizeof(float), tail + opt->num_rows);
    memcpy(buf, &h, sizeof h);  // checksum 0 while it is computed
    h.checksum = state_checksum(CHECKSUM_INIT, buf, bytes);
    memcpy(buf, &h, sizeof h);
    if (!s) s = device_status(m->dev);  // a failed read leaves zeros, never to be saved as state
    if (!s && writer) s = write_file_atomic(state_path, buf, bytes);
    free(buf);
    return s;
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

// A folder is a run's when it holds any checkpoint file name.
static int is_run_folder(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int found = 0;
    struct dirent *e;
    while (!found && (e = readdir(d))) found = checkpoint_file_name(e->d_name);
    closedir(d);
    return found;
}

Status checkpoint_model_path(const char *checkpoint, char *path, size_t n) {
    if (!is_run_folder(checkpoint)) {
        if ((size_t)snprintf(path, n, "%s", checkpoint) >= n) return fail(STATUS_INPUT, "path too long: '%s'", checkpoint);
        return STATUS_OK;
    }
    int step = checkpoint_latest(checkpoint);
    if (step < 0) return fail(STATUS_INPUT, "'%s' holds no complete checkpoint", checkpoint);
    char state_path[1024];
    checkpoint_paths(checkpoint, step, path, state_path, n < sizeof state_path ? n : sizeof state_path);
    return STATUS_OK;
}

int state_header_parse(const void *raw, long long file_size, const StateExpect *want, char *err, size_t n) {
    StateHeader h;
    memcpy(&h, raw, sizeof h);
    h.optimizer[sizeof h.optimizer - 1] = '\0';
    if (h.magic != STATE_MAGIC || (h.version != STATE_VERSION && h.version != STATE_VERSION_UNCHECKED)) {
        snprintf(err, n, "is not a gpt2cl resume state of version %d or %d (magic %d version %d)",
                 STATE_VERSION_UNCHECKED, STATE_VERSION, h.magic, h.version);
        return 0;
    }
    if (h.step != want->step) {
        snprintf(err, n, "says step %d", h.step);
        return 0;
    }
    if (h.num_parameters != want->num_parameters) {
        snprintf(err, n, "holds %llu parameters, the model has %zu", (unsigned long long)h.num_parameters,
                 want->num_parameters);
        return 0;
    }
    if (strcmp(h.optimizer, want->optimizer) != 0 || h.num_state != want->num_state) {
        snprintf(err, n, "was written by optimizer '%s', the run uses '%s'", h.optimizer, want->optimizer);
        return 0;
    }
    if (h.num_rows != want->num_rows || h.snr_floats != SNR_FLOATS) {
        snprintf(err, n, "holds %llu row norms and %d SNR values, the run needs %zu and %d",
                 (unsigned long long)h.num_rows, h.snr_floats, want->num_rows, SNR_FLOATS);
        return 0;
    }
    long long expected =
        STATE_HEADER_BYTES + ((long long)h.num_state * (long long)h.num_parameters + (long long)h.num_rows + SNR_FLOATS) * 4;
    if (file_size != expected) {
        snprintf(err, n, "is %lld bytes, its header implies %lld: %s", file_size, expected,
                 file_size < expected ? "truncated" : "longer than its header says");
        return 0;
    }
    if (h.data_shuffle != 0 && h.data_shuffle != 1) {
        snprintf(err, n, "has an invalid data order (%d)", h.data_shuffle);
        return 0;
    }
    return 1;
}

// Reads count floats into dst, hashing them; fails if the file ends early.
static Status read_floats(FILE *f, float *dst, size_t count, uint64_t *hash, const char *path) {
    TRY(fread_exact(dst, sizeof(float), count, f, path));
    *hash = state_checksum(*hash, dst, count * sizeof(float));
    return STATUS_OK;
}

// 1 when no value is NaN (and, with finite, none is infinite).
static int all_numbers(const float *x, size_t n, int finite) {
    for (size_t i = 0; i < n; i++)
        if (isnan(x[i]) || (finite && isinf(x[i]))) return 0;
    return 1;
}

// Opens a resume state and checks its header against the run: h, f at the payload, hash over the header.
static Status open_state(const char *path, const StateExpect *want, FILE **f, StateHeader *h, uint64_t *hash) {
    TRY(open_user_file(path, "resume state", f));
    char raw[STATE_HEADER_BYTES], err[400];
    Status s = STATUS_OK;
    if (fread(raw, 1, sizeof raw, *f) != sizeof raw) s = fail(STATUS_INPUT, "resume state '%s' is truncated", path);
    else if (!state_header_parse(raw, file_size(*f), want, err, sizeof err))
        s = fail(STATUS_INPUT, "resume state '%s' %s", path, err);
    if (s) {
        fclose(*f);
        return s;
    }
    memcpy(h, raw, sizeof *h);
    StateHeader zeroed = *h;
    zeroed.checksum = 0;
    memcpy(raw, &zeroed, sizeof zeroed);
    *hash = state_checksum(CHECKSUM_INIT, raw, sizeof raw);
    return STATUS_OK;
}

// Reads the optimizer state after the header into the device and checks its checksum and values.
static Status read_state(FILE *f, const char *path, const StateHeader *h, uint64_t hash, GPT2 *m, Optimizer *opt) {
    size_t n = m->num_parameters;
    float *host = mallocCheck(n * sizeof(float)), *tail = mallocCheck((opt->num_rows + SNR_FLOATS) * sizeof(float));
    int finite = 1;
    Status s = STATUS_OK;
    for (int i = 0; i < h->num_state && !s; i++) {
        s = read_floats(f, host, n, &hash, path);
        finite = finite && all_numbers(host, n, 1);
        if (!s) optimizer_upload_state(opt, m, i, host);
    }
    if (!s) s = read_floats(f, tail, opt->num_rows + SNR_FLOATS, &hash, path);
    if (!s && h->version == STATE_VERSION && hash != h->checksum)
        s = fail(STATUS_INPUT, "resume state '%s' is corrupt: its checksum does not match its contents", path);
    // An SNR of +inf is legitimate (no noise measured yet); NaN never is.
    if (!s && (!finite || !all_numbers(tail, opt->num_rows, 1) || !all_numbers(tail + opt->num_rows, SNR_FLOATS, 0)))
        s = fail(STATUS_INPUT, "resume state '%s' holds NaN or infinite optimizer state: the run it saved had diverged",
                 path);
    if (!s) optimizer_upload_state(opt, m, -1, tail);
    if (!s) device_write(m->dev, opt->snr, 0, SNR_FLOATS * sizeof(float), tail + opt->num_rows);
    free(tail);
    free(host);
    return s;
}

Status checkpoint_load(const char *dir, int step, GPT2 *m, Optimizer *opt, RunPosition *pos) {
    char model_path[1024], state_path[1024];
    checkpoint_paths(dir, step, model_path, state_path, sizeof model_path);
    TRY(gpt2_load_checkpoint(m, model_path));
    StateExpect want = {.step = step, .num_parameters = m->num_parameters, .optimizer = opt->kind->name,
                        .num_state = opt->kind->num_state, .num_rows = opt->num_rows};
    FILE *f;
    StateHeader h;
    uint64_t hash;
    TRY(open_state(state_path, &want, &f, &h, &hash));
    // Everything is read and checked before the run goes on; the device copies are only used after that.
    Status s = read_state(f, state_path, &h, hash, m, opt);
    fclose(f);
    if (s) return s;
    pos->step = h.step;
    pos->data_shuffle = h.data_shuffle;
    pos->data = (DataPosition){.epoch = h.data_epoch, .shard = h.data_shard, .cursor = h.data_cursor};
    memcpy(pos->rng.s, h.rng, sizeof h.rng);
    return STATUS_OK;
}
