// `gpt2cl prepare`: text in, llm.c token shards out. Documents are whole text
// files or JSONL lines' "text" fields, each preceded by end-of-text (llm.c's
// convention). See prepare_shards.h for the shard format and the split rule.
#include "text/prepare.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "text/prepare_inputs.h"
#include "text/prepare_output.h"
#include "text/prepare_shards.h"
#include "text/tokenizer.h"
#include "util/parse_num.h"
#include "util/util.h"

// Big documents are encoded in pieces of about this many bytes (cut where
// the ids cannot change) to bound memory and keep the progress bar moving.
#define CHUNK_BYTES (256u << 10)

static const char USAGE[] =
    "usage: gpt2cl prepare [options] [INPUT...]\n"
    "\n"
    "Tokenizes text into llm.c token shards (uint16): OUT/val_000000.bin,\n"
    "OUT/train_000000.bin, ... Each document is preceded by end-of-text.\n"
    "\n"
    "INPUT is a text file (one document), a folder (every non-hidden file below\n"
    "it, recursively, in sorted order) or a .jsonl file (one document per line,\n"
    "from its \"text\" field). Default: the corpus from scripts/make_corpus.sh.\n"
    "\n"
    "options:\n"
    "  --tokenizer SPEC    gpt2 (default), byte, or a .tiktoken / encoder.json path\n"
    "  --out DIR           output folder (default: DATA/tokens/<tokenizer>)\n"
    "  --val-frac F        fraction of tokens for validation, 0 <= F < 1 (default 0.05)\n"
    "  --split-block N     split granularity in tokens (default 16384): the stream is cut\n"
    "                      into N-token blocks; block 0 and then every 1/F-th go to val\n"
    "  --shard-tokens N    most tokens per shard file (default 100000000)\n"
    "  --force             replace shards already in DIR (else refuse); all or nothing: the new\n"
    "                      shards replace the old ones only once every input is tokenized\n"
    "  -h, --help          show this help\n"
    "\n"
    "DATA is $GPT2CL_DATA, else $XDG_DATA_HOME/gpt2cl, else ~/.local/share/gpt2cl.\n";

typedef struct {
    const char *tokenizer;
    const char *out;
    double val_frac;
    uint64_t split_block;
    uint64_t shard_tokens;
    int force;
    const char **inputs;
    int n_inputs;
} PrepareArgs;

typedef struct {
    Tokenizer *tok;
    TokenIds ids;
    Splitter split;
    ShardWriter train, val;
    uint64_t docs, empty_docs, bytes_done, total_bytes;
    double t0, last_progress;
    int tty;
} Prep;

static uint64_t parse_count(const char *flag, const char *s, uint64_t max) {
    long long v;
    char why[300];
    if (!parse_integer(s, 1, (long long)max, &v, why, sizeof why))
        die("%s: expected a whole number from 1 to %llu: %s", flag, (unsigned long long)max, why);
    return (uint64_t)v;
}

static void parse_args(int argc, char **argv, PrepareArgs *a) {
    memset(a, 0, sizeof(*a));
    a->tokenizer = "gpt2";
    a->val_frac = 0.05;
    a->split_block = 16384;
    a->shard_tokens = 100000000;
    a->inputs = callocCheck((size_t)argc, sizeof(char *));
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            fputs(USAGE, stdout);
            exit(0);
        }
        if (strcmp(arg, "--force") == 0) { a->force = 1; continue; }
        if (strcmp(arg, "--") == 0) {
            while (++i < argc) a->inputs[a->n_inputs++] = argv[i];
            break;
        }
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            if (arg[0] == '-' && arg[1] != '\0') die("prepare: unknown option '%s' (see gpt2cl prepare --help)", arg);
            a->inputs[a->n_inputs++] = arg;
            continue;
        }
        // --name VALUE or --name=VALUE
        const char *eq = strchr(arg, '=');
        size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
        const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
#define IS(name) (name_len == strlen(name) && strncmp(arg, name, name_len) == 0)
        if (!IS("--tokenizer") && !IS("--out") && !IS("--val-frac") && !IS("--split-block") && !IS("--shard-tokens"))
            die("prepare: unknown option '%.*s' (see gpt2cl prepare --help)", (int)name_len, arg);
        if (!value) die("prepare: option '%s' needs a value", arg);
        if (IS("--tokenizer")) a->tokenizer = value;
        else if (IS("--out")) a->out = value;
        else if (IS("--split-block")) a->split_block = parse_count("--split-block", value, UINT32_MAX);
        else if (IS("--shard-tokens")) a->shard_tokens = parse_count("--shard-tokens", value, INT32_MAX);
        else {
            char why[300];
            if (!parse_double(value, 0, 1, &a->val_frac, why, sizeof why) || a->val_frac >= 1.0)
                die("--val-frac: expected a number with 0 <= F < 1, got '%s'", value);
        }
#undef IS
    }
}

static void progress(Prep *p, int final) {
    double now = now_seconds();
    if (!final && (!p->tty || now - p->last_progress < 0.25)) return;
    p->last_progress = now;
    double dt = now - p->t0 > 1e-9 ? now - p->t0 : 1e-9;
    double frac = p->total_bytes ? (double)p->bytes_done / (double)p->total_bytes : 1.0;
    if (frac > 1.0) frac = 1.0;
    char bar[31];
    int fill = (int)(frac * 30);
    for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
    bar[30] = '\0';
    uint64_t tokens = p->train.total + p->val.total;
    // The bar redraws itself on a terminal's stderr; otherwise the line is information, for stdout.
    FILE *out = p->tty ? stderr : stdout;
    fprintf(out, "%sprepare: [%s] %5.1f%% %8.1f MB %7.2f MB/s %10llu tokens%s", p->tty ? "\r" : "", bar,
            100.0 * frac, (double)p->bytes_done / 1e6, (double)p->bytes_done / 1e6 / dt, (unsigned long long)tokens,
            final || !p->tty ? "\n" : "");
    fflush(out);
}

// Encodes one document (end-of-text first) and routes its ids. Returns the
// number of invalid UTF-8 bytes in it.
static size_t add_document(Prep *p, const unsigned char *s, size_t len) {
    if (len == 0) {
        p->empty_docs++;
        return 0;
    }
    p->docs++;
    int32_t eot = tokenizer_eot(p->tok);
    split_add(&p->split, &eot, 1, &p->train, &p->val);
    size_t invalid = 0;
    for (size_t pos = 0; pos < len;) {
        size_t end = pos + CHUNK_BYTES < len ? tokenizer_split_point(s, len, pos + CHUNK_BYTES) : len;
        p->ids.len = 0;
        invalid += tokenizer_encode(p->tok, s + pos, end - pos, &p->ids);
        split_add(&p->split, p->ids.ids, p->ids.len, &p->train, &p->val);
        p->bytes_done += end - pos;
        pos = end;
        progress(p, 0);
    }
    return invalid;
}

static void warn_invalid(const char *path, size_t invalid, const char *where) {
    warn("%s: %zu byte%s of invalid UTF-8 (first %s); encoded byte-exactly", path, invalid, invalid == 1 ? "" : "s",
         where);
}

static void add_text_file(Prep *p, const char *path) {
    size_t len;
    char *text = read_user_file(path, "input", &len);
    size_t invalid = add_document(p, (const unsigned char *)text, len);
    if (invalid) {
        char where[64];
        snprintf(where, sizeof(where), "at byte %zu", utf8_first_invalid((const unsigned char *)text, len));
        warn_invalid(path, invalid, where);
    }
    free(text);
}

// cJSON returns C strings, so a \u0000 escape would silently end the text.
static int has_json_nul(const char *s, size_t len) {
    for (size_t i = 0; i + 6 <= len; i++) {
        if (s[i] != '\\') continue;
        if (memcmp(s + i + 1, "u0000", 5) == 0) return 1;
        i++; // skip the escaped character: an escaped backslash before u0000 is fine
    }
    return 0;
}

static void add_jsonl_file(Prep *p, const char *path) {
    FILE *f = open_user_file(path, "input");
    char *line = NULL;
    size_t cap = 0, line_no = 0, invalid = 0, first_bad_line = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) != -1) {
        line_no++;
        size_t len = (size_t)n;
        p->bytes_done += len;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
            len--;
        if (len == 0) continue; // blank lines (e.g. a final newline) are not documents
        if (memchr(line, '\0', len)) die("%s:%zu: NUL byte in a JSONL line", path, line_no);
        if (has_json_nul(line, len))
            die("%s:%zu: \\u0000 in JSON text is not supported (the text would be cut there)", path, line_no);
        cJSON *obj = cJSON_ParseWithLength(line, len);
        if (!obj) die("%s:%zu: malformed JSON line", path, line_no);
        cJSON *text = cJSON_GetObjectItemCaseSensitive(obj, "text");
        if (!cJSON_IsObject(obj) || !cJSON_IsString(text))
            die("%s:%zu: expected a JSON object with a string field \"text\"", path, line_no);
        // Document bytes count toward progress through the line length above.
        size_t before = p->bytes_done;
        size_t bad = add_document(p, (const unsigned char *)text->valuestring, strlen(text->valuestring));
        p->bytes_done = before;
        if (bad && !first_bad_line) first_bad_line = line_no;
        invalid += bad;
        cJSON_Delete(obj);
    }
    if (ferror(f)) die("read error in '%s': %s", path, strerror(errno));
    free(line);
    fclose(f);
    if (invalid) {
        char where[64];
        snprintf(where, sizeof(where), "on line %zu", first_bad_line);
        warn_invalid(path, invalid, where);
    }
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

// Names the folder after the tokenizer: "gpt2", "byte", or a vocab file's stem.
static char *default_out(const char *spec) {
    const char *base = strrchr(spec, '/');
    base = base ? base + 1 : spec;
    size_t stem = strcspn(base, ".");
    size_t n = strlen(gpt2cl_data_dir()) + stem + 16;
    char *out = mallocCheck(n);
    snprintf(out, n, "%s/tokens/%.*s", gpt2cl_data_dir(), (int)stem, base);
    return out;
}

int cmd_prepare(int argc, char **argv) {
    PrepareArgs a;
    parse_args(argc, argv, &a);
    Prep p;
    memset(&p, 0, sizeof(p));
    p.tok = tokenizer_load(a.tokenizer);
    if (tokenizer_vocab_size(p.tok) > 65536)
        die("tokenizer '%s' has %d tokens: ids above 65535 do not fit the uint16 shard format", a.tokenizer,
            tokenizer_vocab_size(p.tok));

    InputList inputs = {0};
    char corpus[4200];
    if (a.n_inputs == 0) {
        snprintf(corpus, sizeof(corpus), "%s/corpus", gpt2cl_data_dir());
        if (!file_exists(corpus)) die("no INPUT given and no default corpus at %s: run scripts/setup.sh", corpus);
        inputs_add(&inputs, corpus);
    }
    for (int i = 0; i < a.n_inputs; i++) inputs_add(&inputs, a.inputs[i]);
    if (inputs.n == 0) die("empty corpus: the inputs hold no files");

    char *out = a.out ? strdup_check(a.out) : default_out(a.tokenizer);
    PrepareOutput dest;
    prepare_output_open(&dest, out, a.force);

    p.split.block = a.split_block;
    p.split.val_ppm = (uint32_t)llround(a.val_frac * 1e6);
    shard_writer_init(&p.train, dest.stage, "train", (size_t)a.shard_tokens);
    shard_writer_init(&p.val, dest.stage, "val", (size_t)a.shard_tokens);
    p.total_bytes = inputs.total_bytes;
    p.tty = isatty(2);
    p.t0 = now_seconds();

    for (size_t i = 0; i < inputs.n; i++) {
        if (ends_with(inputs.paths[i], ".jsonl")) add_jsonl_file(&p, inputs.paths[i]);
        else add_text_file(&p, inputs.paths[i]);
    }
    progress(&p, 1);

    uint64_t tokens = p.train.total + p.val.total;
    if (p.docs == 0) die("empty corpus: no text in %zu input file%s", inputs.n, inputs.n == 1 ? "" : "s");
    if (p.train.total == 0) {
        die("corpus has only %llu tokens, all of them validation: lower --split-block or --val-frac",
            (unsigned long long)tokens);
    }
    shard_writer_finish(&p.train);
    shard_writer_finish(&p.val);
    prepare_output_commit(&dest);

    double dt = now_seconds() - p.t0;
    printf("prepare: %llu documents (%llu empty skipped), %.1f MB -> %llu tokens (%s): "
            "train %llu in %d shard%s, val %llu in %d shard%s, %.2f s (%.2f MB/s) -> %s\n",
            (unsigned long long)p.docs, (unsigned long long)p.empty_docs, (double)inputs.total_bytes / 1e6,
            (unsigned long long)tokens, tokenizer_name(p.tok), (unsigned long long)p.train.total, p.train.shards,
            p.train.shards == 1 ? "" : "s", (unsigned long long)p.val.total, p.val.shards,
            p.val.shards == 1 ? "" : "s", dt, (double)inputs.total_bytes / 1e6 / (dt > 1e-9 ? dt : 1e-9), out);

    free(out);
    prepare_output_free(&dest);
    inputs_free(&inputs);
    token_ids_free(&p.ids);
    tokenizer_free(p.tok);
    free(a.inputs);
    return 0;
}
