// train_run as a library call: a failed run and a diverged run return their
// result to the caller (no exit), and the same process then trains a run to
// the end, as a learning-rate sweep would.
//  - failed: train_data that matches no files is RUN_FAILED with the message
//    `gpt2cl train` prints;
//  - diverged: weights scaled to about 1e30 give a loss that is not finite at
//    step 1: RUN_DIVERGED at step 1;
//  - finished: a short run of the tiny model ends at its last step with a
//    finite loss and its checkpoint.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "train/config.h"
#include "train/run.h"
#include "util/rng.h"
#include "util/util.h"

// The tiny model of tests/test_cli.py on train_data, for steps steps.
static void tiny_config(Config *c, const char *train_data, int steps) {
    config_defaults(c);
    c->n_layer = 2;
    c->n_head = 4;
    c->n_embd = 64;
    c->block_size = 64;
    c->vocab_size = 257;
    c->batch_size = 2;
    c->seq_len = 32;
    c->steps = steps;
    c->lr = 1e-3;
    MUST(config_set(c, "schedule", "constant"));
    snprintf(c->train_data, sizeof c->train_data, "%s", train_data);
    const char *device = getenv("GPT2CL_TEST_DEVICE");
    snprintf(c->device, sizeof c->device, "%s", device ? device : "");
}

// A token shard of n random byte-level tokens.
static void write_shard(const char *path, size_t n) {
    size_t bytes = 1024 + 2 * n;
    unsigned char *buf = callocCheck(bytes, 1);
    int32_t h[3] = {20240520, 1, (int32_t)n};
    memcpy(buf, h, sizeof h);
    Rng r;
    rng_seed(&r, 5);
    for (size_t i = 0; i < n; i++) {
        uint16_t t = (uint16_t)(rng_u64(&r) % 257);
        memcpy(buf + 1024 + 2 * i, &t, 2);
    }
    MUST(write_file_atomic(path, buf, bytes));
    free(buf);
}

// Copies the llm.c checkpoint from with every parameter times 1e30 (clamped to stay finite) to to.
static void write_scaled_weights(const char *from, const char *to) {
    size_t len;
    char *buf = read_file(from, &len);
    float *p = (float *)(buf + 1024);
    for (size_t i = 0; i < (len - 1024) / sizeof(float); i++) {
        double v = (double)p[i] * 1e30;
        p[i] = (float)(v > 3e38 ? 3e38 : v < -3e38 ? -3e38 : v);
    }
    MUST(write_file_atomic(to, buf, len));
    free(buf);
}

int main(void) {
    char tmp[] = "/tmp/gpt2cl_test_run_XXXXXX";
    if (!mkdtemp(tmp)) die("cannot create a temporary folder");
    char shard[256], missing[256], out_dir[256], model[300], big[256];
    snprintf(shard, sizeof shard, "%s/train.bin", tmp);
    snprintf(missing, sizeof missing, "%s/none_*.bin", tmp);
    snprintf(out_dir, sizeof out_dir, "%s/run", tmp);
    snprintf(model, sizeof model, "%s/model_00000002.bin", out_dir);
    snprintf(big, sizeof big, "%s/big.bin", tmp);
    write_shard(shard, 4000);
    RunOptions opts = {0};
    Config cfg;

    tiny_config(&cfg, missing, 1);
    RunResult r = train_run(&cfg, &opts);
    char want[400];
    snprintf(want, sizeof want, "train_data '%s' matches no files", missing);
    EXPECT(r.outcome == RUN_FAILED && r.status == STATUS_INPUT, "missing data: outcome %d, status %d", r.outcome,
           r.status);
    EXPECT(!strcmp(status_message(), want), "missing data: message '%s', expected '%s'", status_message(), want);

    tiny_config(&cfg, shard, 2);
    snprintf(cfg.out_dir, sizeof cfg.out_dir, "%s", out_dir);
    r = train_run(&cfg, &opts);
    EXPECT(r.outcome == RUN_FINISHED && r.step == 2 && isfinite(r.loss), "finished: outcome %d at step %d, loss %g",
           r.outcome, r.step, r.loss);
    EXPECT(file_exists(model), "finished: no checkpoint %s", model);

    write_scaled_weights(model, big);
    tiny_config(&cfg, shard, 3);
    snprintf(cfg.init_from, sizeof cfg.init_from, "%s", big);
    r = train_run(&cfg, &opts);
    EXPECT(r.outcome == RUN_DIVERGED && r.step == 1 && !r.diverged_in_validation && !isfinite(r.loss),
           "huge weights: outcome %d at step %d, loss %g", r.outcome, r.step, r.loss);

    tiny_config(&cfg, shard, 2);
    r = train_run(&cfg, &opts);
    EXPECT(r.outcome == RUN_FINISHED && r.step == 2 && isfinite(r.loss),
           "after a failed and a diverged run: outcome %d at step %d, loss %g", r.outcome, r.step, r.loss);

    char cmd[1300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    return test_summary("train_run");
}
