#include "cli/options.h"

#include <string.h>

#include "util/parse_num.h"
#include "util/util.h"

static const Option *find_option(const OptionTable *t, const char *name) {
    for (int i = 0; i < t->count; i++)
        if (strcmp(t->options[i].name, name) == 0) return &t->options[i];
    return NULL;
}

// Sets the option's field from value (NULL: none was given).
static void set_option(const Option *o, void *args, const char *value) {
    char *field = (char *)args + o->offset, why[300] = "";
    int ok = value != NULL;
    long long v;
    switch (o->kind) {
        case OPT_FLAG: *(int *)field = 1; return;
        case OPT_STRING:
            if (ok) *(const char **)field = value;
            break;
        case OPT_INT:
            ok = ok && parse_integer(value, (long long)o->min, (long long)o->max, &v, why, sizeof why);
            if (ok) *(int *)field = (int)v;
            break;
        case OPT_NUMBER: ok = ok && parse_double(value, o->min, o->max, (double *)field, why, sizeof why); break;
        case OPT_STRINGS: {
            OptionStrings *list = (OptionStrings *)field;
            if (ok && list->n >= (int)o->max) die("%s may be given at most %d times", o->name, (int)o->max);
            if (ok) list->v[list->n++] = value;
            break;
        }
    }
    if (!ok) die("%s needs %s%s%s", o->name, o->needs, why[0] ? ": " : "", why);
}

int options_parse(const OptionTable *t, void *args, int argc, char **argv, int i) {
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return -1;
        const Option *o = find_option(t, argv[i]);
        if (!o) die("unknown option '%s' (see `gpt2cl %s --help`)", argv[i], t->command);
        set_option(o, args, o->kind == OPT_FLAG || i + 1 >= argc ? NULL : argv[++i]);
    }
    return i;
}

void options_print_help(const OptionTable *t, FILE *f) {
    for (int i = 0; i < t->count; i++) {
        const Option *o = &t->options[i];
        if (!o->help) continue;
        char usage[64];
        snprintf(usage, sizeof usage, "%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        fprintf(f, "  %-*s ", t->width, usage);
        // Continuation lines start under the first.
        for (const char *p = o->help;;) {
            const char *nl = strchr(p, '\n');
            fprintf(f, "%.*s\n", nl ? (int)(nl - p) : (int)strlen(p), p);
            if (!nl) break;
            p = nl + 1;
            fprintf(f, "%*s", t->width + 3, "");
        }
    }
}
