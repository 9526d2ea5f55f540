// The tuning database without a tuner run: round trip, stale (driver changed)
// and corrupt files are ignored with a warning, and the tunables' seeds and
// random candidates are legal on the test device. Uses a temporary cache folder.
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/tunables.h"
#include "runtime/tune_apply.h"
#include "runtime/tune_db.h"
#include "test_util.h"
#include "util/util.h"

static char err_path[4096];

// Runs with stderr captured; returns the captured text (caller frees).
static int saved_stderr = -1;
static void capture_begin(void) {
    fflush(stderr);
    saved_stderr = dup(2);
    FILE *f = fopen(err_path, "w");
    if (!f) die("cannot write %s", err_path);
    dup2(fileno(f), 2);
    fclose(f);
}
static char *capture_end(void) {
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    return read_file(err_path, NULL);
}

static Device fake_device(const char *driver) {
    Device d = {0};
    snprintf(d.platform_name, sizeof d.platform_name, "Test Platform");
    snprintf(d.name, sizeof d.name, "Test Device 9000");
    snprintf(d.vendor, sizeof d.vendor, "Test Vendor");
    snprintf(d.driver_version, sizeof d.driver_version, "%s", driver);
    snprintf(d.cl_version, sizeof d.cl_version, "OpenCL 3.0 test");
    d.max_wg = 1024;
    d.local_mem = 32768;
    d.type = CL_DEVICE_TYPE_GPU;
    return d;
}

static void test_round_trip(void) {
    Device d = fake_device("1.0");
    TuneDb db;
    EXPECT(tune_db_load(&db, &d) == 0, "no database yet, load should report none");
    double shape_ms[3] = {1.5, 2.25, -1};
    tune_db_record(&db, "w1", "Xgemm|KWG=32", 12.5, shape_ms, 3);
    tune_db_record(&db, "w1", "Xgemm|KWG=16", -1, NULL, 0);
    cJSON *best = cJSON_CreateObject();
    cJSON_AddStringToObject(best, "date", "2026-01-01 00:00 UTC");
    cJSON *k = cJSON_AddObjectToObject(best, "kernels");
    cJSON_AddNumberToObject(k, "WG", 64);
    tune_db_set_best(&db, best);
    MUST(tune_db_save(&db));
    tune_db_free(&db);

    EXPECT(tune_db_load(&db, &d) == 1, "saved database should load");
    const cJSON *m = tune_db_find(&db, "w1", "Xgemm|KWG=32");
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(m, "ms");
    EXPECT(cJSON_IsNumber(ms) && ms->valuedouble == 12.5, "measurement ms should round-trip");
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(m, "shape_ms");
    EXPECT(cJSON_GetArraySize(arr) == 3 && cJSON_GetArrayItem(arr, 1)->valuedouble == 2.25,
           "per-shape times should round-trip");
    EXPECT(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(tune_db_find(&db, "w1", "Xgemm|KWG=16"), "ms")),
           "a rejected candidate is recorded with ms null");
    EXPECT(tune_db_find(&db, "w2", "Xgemm|KWG=32") == NULL, "other workloads have no measurements");
    const cJSON *wg = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(tune_db_best(&db), "kernels"),
                                                       "WG");
    EXPECT(cJSON_IsNumber(wg) && wg->valueint == 64, "best should round-trip");
    tune_db_free(&db);
    printf("ok   round trip\n");
}

static void test_stale(void) {
    Device d = fake_device("2.0");  // the driver was updated since test_round_trip
    capture_begin();
    TuneDb db;
    int ok = tune_db_load(&db, &d);
    char *err = capture_end();
    EXPECT(ok == 0, "a database from another driver should be ignored");
    EXPECT(strstr(err, "warning") && strstr(err, "driver '1.0'") && strstr(err, "'2.0'"),
           "stale database warning missing, stderr was: %s", err);
    EXPECT(tune_db_best(&db) == NULL, "an ignored database leaves no best");
    tune_db_free(&db);
    free(err);
    printf("ok   stale database ignored with a warning\n");
}

static void test_corrupt(void) {
    Device d = fake_device("1.0");
    char path[4096];
    MUST(tune_db_path(&d, path, sizeof path));
    const char *junk[] = {"{\"format\": 1, \"key\": ", "[1, 2, 3]", "", "{\"format\": 99}"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        MUST(write_file_atomic(path, junk[i], strlen(junk[i])));
        capture_begin();
        TuneDb db;
        int ok = tune_db_load(&db, &d);
        Tuned tuned;
        tuned_load(&tuned, &d, TUNE_DATABASE, stdout);  // prints "tuned: no", never dies
        KernelParams kp = tuned.kp, def = kernel_params_default(&d);
        char *err = capture_end();
        EXPECT(ok == 0 && !memcmp(&kp, &def, sizeof kp), "corrupt database %zu should be ignored", i);
        EXPECT(strstr(err, "corrupt") != NULL, "corrupt database %zu: no warning, stderr was: %s", i, err);
        tune_db_free(&db);
        free(err);
    }
    printf("ok   corrupt databases ignored with a warning\n");
}

// best.kernels: legal values are applied over the defaults; an illegal or
// unknown one is reported, and an illegal one falls back to the defaults.
static void test_kernel_params(void) {
    Device d = fake_device("3.0");
    KernelParams def = kernel_params_default(&d);
    EXPECT(def.v[KP_REDUCE_CONTIGUOUS] == 0 && def.v[KP_LN_WG] == 256, "GPU defaults: strided reductions, WG 256");
    const struct {
        const char *kernels;  // best.kernels
        int applied;          // 1: LN_WG=1 and CE_VW=8 expected, 0: the defaults
        const char *warning;  // expected on stderr, or NULL for none
    } cases[] = {{"{\"LN_WG\": 1, \"CE_VW\": 8}", 1, NULL},
                 {"{\"LN_WG\": 1, \"CE_VW\": 8, \"FUTURE_WG\": 4}", 1, "unknown kernel parameter 'FUTURE_WG'"},
                 {"{\"LN_WG\": 3}", 0, "LN_WG is illegal"},
                 {"{\"LN_WG\": 2048}", 0, "LN_WG is illegal"},
                 {"{\"CE_VW\": 32}", 0, "CE_VW is illegal"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TuneDb db;
        tune_db_load(&db, &d);
        cJSON *best = cJSON_CreateObject();
        cJSON_AddStringToObject(best, "date", "2026-01-01 00:00 UTC");
        cJSON_AddItemToObject(best, "kernels", cJSON_Parse(cases[i].kernels));
        tune_db_set_best(&db, best);
        MUST(tune_db_save(&db));
        tune_db_free(&db);
        capture_begin();
        Tuned tuned;
        tuned_load(&tuned, &d, TUNE_DATABASE, stdout);
        KernelParams kp = tuned.kp;
        char *err = capture_end();
        KernelParams want = def;
        if (cases[i].applied) want.v[KP_LN_WG] = 1, want.v[KP_CE_VW] = 8;
        EXPECT(!memcmp(&kp, &want, sizeof kp), "best.kernels %s: wrong parameters applied", cases[i].kernels);
        if (cases[i].warning) EXPECT(strstr(err, cases[i].warning), "best.kernels %s: no '%s' warning, stderr: %s",
                                     cases[i].kernels, cases[i].warning, err);
        else EXPECT(!*err, "best.kernels %s: unexpected warning: %s", cases[i].kernels, err);
        free(err);
    }
    printf("ok   kernel parameters applied from the database, illegal ones ignored with a warning\n");
}

static void test_tunables(const Device *dev) {
    const TuneSpace *spaces[3 + TUNE_NUM_FAMILIES] = {&tune_space_xgemm, &tune_space_xgemm_direct,
                                                      &tune_space_gemm_cl};
    for (int f = 0; f < TUNE_NUM_FAMILIES; f++) spaces[3 + f] = &tune_space_families[f];
    Rng rng;
    rng_seed(&rng, 12345);
    for (size_t s = 0; s < sizeof spaces / sizeof spaces[0]; s++) {
        const TuneSpace *sp = spaces[s];
        for (int i = 0; i < sp->nseeds; i++) EXPECT(sp->valid(sp->seeds[i], dev), "%s seed %d illegal", sp->kernel, i);
        int v[TUNE_MAX_PARAMS], w[TUNE_MAX_PARAMS];
        for (int i = 0; i < 50; i++) {
            EXPECT(tune_space_random(sp, dev, &rng, v) && sp->valid(v, dev), "%s: no legal random candidate",
                   sp->kernel);
            if (sp->nparams > 1 && tune_space_neighbour(sp, dev, &rng, v, w))
                EXPECT(sp->valid(w, dev) && memcmp(v, w, sizeof(int) * (size_t)sp->nparams) != 0,
                       "%s: neighbour illegal or unchanged", sp->kernel);
        }
    }
    // Every kernel define is searched, by exactly one family, under its own name.
    int families_of[KP_COUNT] = {0};
    for (int f = 0; f < TUNE_NUM_FAMILIES; f++)
        for (int i = 0; i < tune_space_families[f].nparams; i++) {
            int id = kernel_param_find(tune_space_families[f].params[i].name);
            EXPECT(id >= 0, "family %s: '%s' is no kernel define", tune_space_families[f].kernel,
                   tune_space_families[f].params[i].name);
            if (id >= 0) families_of[id]++;
        }
    for (int id = 0; id < KP_COUNT; id++)
        EXPECT(families_of[id] == 1, "kernel define %s is searched by %d families", kernel_param_name(id),
               families_of[id]);
    printf("ok   tunables: seeds, random and neighbour candidates are legal\n");
}

int main(void) {
    char dir[] = "/tmp/gpt2cl_test_tune_XXXXXX";
    if (!mkdtemp(dir)) die("mkdtemp failed");
    setenv("GPT2CL_CACHE_DIR", dir, 1);
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", dir);
    test_round_trip();
    test_stale();
    test_corrupt();
    test_kernel_params();
    Device dev;
    open_test_device(&dev, 0);
    test_tunables(&dev);
    MUST(device_status(&dev));  // no OpenCL call failed along the way
    device_close(&dev);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return test_summary("test_tune");
}
