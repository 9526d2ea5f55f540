#include "train/sweep_grid.h"

#include <stdio.h>
#include <string.h>

// The paper's grids: AdamW's peak lr 6e-4 x {0.5, 1, 2, 4, 8, 16, 32} and warmup 0, 2, 5, 10, 20 % of the steps.
static const struct {
    const char *name, *axes[3];
} presets[] = {
    {"lr", {"lr=3e-4,6e-4,1.2e-3,2.4e-3,4.8e-3,9.6e-3,1.92e-2"}},
    {"warmup", {"warmup_frac=0,0.02,0.05,0.1,0.2"}},
    {"warmup2", {"warmup_frac=0,0.05"}},
    {"paper", {"lr=3e-4,6e-4,1.2e-3,2.4e-3,4.8e-3,9.6e-3,1.92e-2", "warmup_frac=0,0.02,0.05,0.1,0.2"}},
};
#define NUM_PRESETS ((int)(sizeof presets / sizeof presets[0]))

const char *sweep_preset_name(int i, const char **axes) {
    if (i < 0 || i >= NUM_PRESETS) return NULL;
    static char text[NUM_PRESETS][256];
    text[i][0] = '\0';
    for (int k = 0; k < 3 && presets[i].axes[k]; k++)
        snprintf(text[i] + strlen(text[i]), sizeof text[i] - strlen(text[i]), "%s%s", k ? " " : "",
                 presets[i].axes[k]);
    if (axes) *axes = text[i];
    return presets[i].name;
}

// The failure s with "what: " before its message (copied first: fail() overwrites it).
static Status with_prefix(Status s, const char *what) {
    char msg[700];
    snprintf(msg, sizeof msg, "%s", status_message());
    return fail(s, "%s: %s", what, msg);
}

// The sweep sets these per run.
static int reserved_key(const char *key) { return !strcmp(key, "out_dir") || !strcmp(key, "log"); }

// Adds value to axis a after checking that base accepts it for the axis's key.
static Status add_value(SweepAxis *a, const Config *base, const char *value, size_t n) {
    if (n == 0) return fail(STATUS_INPUT, "--grid %s: an empty value", a->key);
    if (a->n >= SWEEP_MAX_VALUES) return fail(STATUS_INPUT, "--grid %s: more than %d values", a->key, SWEEP_MAX_VALUES);
    if (n >= sizeof a->values[0]) return fail(STATUS_INPUT, "--grid %s: value '%.*s' too long", a->key, (int)n, value);
    memcpy(a->values[a->n], value, n);
    a->values[a->n][n] = '\0';
    for (int i = 0; i < a->n; i++)
        if (!strcmp(a->values[i], a->values[a->n]))
            return fail(STATUS_INPUT, "--grid %s: value '%s' given twice", a->key, a->values[i]);
    Config c = *base;
    memset(c.overridden, 0, sizeof c.overridden);
    Status s = config_override_key(&c, a->key, a->values[a->n], KEYS_RUN);
    if (s) return with_prefix(s, "--grid");
    a->n++;
    return STATUS_OK;
}

Status sweep_grid_add(SweepGrid *g, const Config *base, const char *spec) {
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec) return fail(STATUS_INPUT, "--grid needs KEY=V1,V2,... (got '%s')", spec);
    if (g->num_axes >= SWEEP_MAX_AXES) return fail(STATUS_INPUT, "more than %d --grid axes", SWEEP_MAX_AXES);
    SweepAxis *a = &g->axes[g->num_axes];
    memset(a, 0, sizeof *a);
    size_t klen = (size_t)(eq - spec);
    if (klen >= sizeof a->key) return fail(STATUS_INPUT, "--grid: key too long in '%s'", spec);
    memcpy(a->key, spec, klen);
    if (reserved_key(a->key))
        return fail(STATUS_INPUT, "--grid %s: the sweep sets %s for each run (under --out)", a->key, a->key);
    for (int i = 0; i < g->num_axes; i++)
        if (!strcmp(g->axes[i].key, a->key)) return fail(STATUS_INPUT, "--grid: key '%s' is in two axes", a->key);
    for (const char *p = eq + 1;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        TRY(add_value(a, base, p, n));
        if (!comma) break;
        p = comma + 1;
    }
    g->num_axes++;
    return STATUS_OK;
}

Status sweep_grid_add_preset(SweepGrid *g, const Config *base, const char *name) {
    for (int i = 0; i < NUM_PRESETS; i++)
        if (!strcmp(presets[i].name, name)) {
            for (int k = 0; k < 3 && presets[i].axes[k]; k++) TRY(sweep_grid_add(g, base, presets[i].axes[k]));
            return STATUS_OK;
        }
    char names[128] = "";
    for (int i = 0; i < NUM_PRESETS; i++)
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "", presets[i].name);
    return fail(STATUS_INPUT, "unknown --preset '%s' (presets: %s)", name, names);
}

int sweep_grid_size(const SweepGrid *g) {
    long long n = g->seeds > 0 ? g->seeds : 1;
    for (int i = 0; i < g->num_axes; i++) n *= g->axes[i].n;
    return n > 1000000 ? 1000000 : (int)n;
}

// Appends "key=value" to the run's name, with characters a folder name should not hold replaced by '_'.
static Status append_name(char *name, const char *key, const char *value) {
    size_t used = strlen(name);
    int n = snprintf(name + used, SWEEP_NAME_MAX - used, "%s%s=%s", used ? "," : "", key, value);
    if (n < 0 || used + (size_t)n >= SWEEP_NAME_MAX)
        return fail(STATUS_INPUT, "a run name longer than %d characters", SWEEP_NAME_MAX - 1);
    for (char *c = name + used; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || strchr("._+-=,", *c)))
            *c = '_';
    return STATUS_OK;
}

// Sets out_dir and log of the run named p->name under out.
static Status place_run(SweepPoint *p, const char *out) {
    char dir[CONFIG_STR], log[CONFIG_STR + 16];
    if (snprintf(dir, sizeof dir, "%s/%s", out, p->name) >= (int)sizeof dir)
        return fail(STATUS_INPUT, "the run folder path '%s/%s' is too long", out, p->name);
    snprintf(log, sizeof log, "%s/log.jsonl", dir);
    if (strlen(log) >= CONFIG_STR) return fail(STATUS_INPUT, "the run folder path '%s' is too long", dir);
    memcpy(p->cfg.out_dir, dir, strlen(dir) + 1);
    memcpy(p->cfg.log, log, strlen(log) + 1);
    return STATUS_OK;
}

Status sweep_point(const SweepGrid *g, const Config *base, const char *out, int i, SweepPoint *p) {
    memset(p->name, 0, sizeof p->name);
    p->cfg = *base;
    int seeds = g->seeds > 0 ? g->seeds : 1, rest = i;
    // The last axis varies fastest, the seed fastest of all.
    int seed = rest % seeds;
    rest /= seeds;
    int idx[SWEEP_MAX_AXES];
    for (int a = g->num_axes - 1; a >= 0; a--) {
        idx[a] = rest % g->axes[a].n;
        rest /= g->axes[a].n;
    }
    for (int a = 0; a < g->num_axes; a++) {
        p->value[a] = g->axes[a].values[idx[a]];
        TRY(config_set(&p->cfg, g->axes[a].key, p->value[a]));
        TRY(append_name(p->name, g->axes[a].key, p->value[a]));
    }
    if (seeds > 1) {
        char v[32];
        p->cfg.seed = base->seed + seed;
        snprintf(v, sizeof v, "%lld", p->cfg.seed);
        TRY(append_name(p->name, "seed", v));
    }
    if (!p->name[0]) snprintf(p->name, sizeof p->name, "base");
    TRY(place_run(p, out));
    Status s = config_validate(&p->cfg);
    if (s) return with_prefix(s, p->name);
    return STATUS_OK;
}
