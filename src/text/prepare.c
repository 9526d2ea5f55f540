// Text in, llm.c token shards out. Documents are whole text files or JSONL
// lines' "text" fields, each preceded by end-of-text (llm.c's convention). See
// prepare_shards.h for the shard format and the split rule.
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
#include "text/sft_example.h"
#include "text/tokenizer.h"
#include "util/util.h"

// Big documents are encoded in pieces of about this many bytes (cut where
// the ids cannot change) to bound memory and keep the progress bar moving.
#define CHUNK_BYTES (256u << 10)

typedef struct {
    Tokenizer *tok;
    TokenIds ids;
    Splitter split;
    ShardWriter train, val;
    MaskBytes mask;           // sft: the mask bytes of ids
    int sft, context;
    uint64_t docs, empty_docs, bytes_done, total_bytes;
    double t0, last_progress;
    int tty;
} Prep;

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

// Encodes one document (end-of-text first) and routes its ids. Adds the
// number of invalid UTF-8 bytes in it to *invalid.
static Status add_document(Prep *p, const unsigned char *s, size_t len, size_t *invalid) {
    if (len == 0) {
        p->empty_docs++;
        return STATUS_OK;
    }
    p->docs++;
    int32_t eot = tokenizer_eot(p->tok);
    TRY(split_add(&p->split, &eot, 1, &p->train, &p->val));
    for (size_t pos = 0; pos < len;) {
        size_t end = pos + CHUNK_BYTES < len ? tokenizer_split_point(s, len, pos + CHUNK_BYTES) : len;
        p->ids.len = 0;
        size_t bad;
        TRY(tokenizer_encode(p->tok, s + pos, end - pos, &p->ids, &bad));
        *invalid += bad;
        TRY(split_add(&p->split, p->ids.ids, p->ids.len, &p->train, &p->val));
        p->bytes_done += end - pos;
        pos = end;
        progress(p, 0);
    }
    return STATUS_OK;
}

static void warn_invalid(const char *path, size_t invalid, const char *where) {
    warn("%s: %zu byte%s of invalid UTF-8 (first %s); encoded byte-exactly", path, invalid, invalid == 1 ? "" : "s",
         where);
}

static Status add_text_file(Prep *p, const char *path) {
    size_t len, invalid = 0;
    char *text;
    TRY(read_user_file(path, "input", &text, &len));
    Status s = add_document(p, (const unsigned char *)text, len, &invalid);
    if (!s && invalid) {
        char where[64];
        snprintf(where, sizeof(where), "at byte %zu", utf8_first_invalid((const unsigned char *)text, len));
        warn_invalid(path, invalid, where);
    }
    free(text);
    return s;
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

// One line of a JSONL file (len bytes, without its line end; line_no from 1): a document in its "text" field.
static Status add_jsonl_line(Prep *p, const char *path, size_t line_no, const char *line, size_t len,
                             size_t *invalid) {
    if (memchr(line, '\0', len)) return fail(STATUS_INPUT, "%s:%zu: NUL byte in a JSONL line", path, line_no);
    if (has_json_nul(line, len))
        return fail(STATUS_INPUT, "%s:%zu: \\u0000 in JSON text is not supported (the text would be cut there)", path,
                    line_no);
    cJSON *obj = cJSON_ParseWithLength(line, len);
    if (!obj) return fail(STATUS_INPUT, "%s:%zu: malformed JSON line", path, line_no);
    cJSON *text = cJSON_GetObjectItemCaseSensitive(obj, "text");
    Status s = STATUS_OK;
    if (!cJSON_IsObject(obj) || !cJSON_IsString(text))
        s = fail(STATUS_INPUT, "%s:%zu: expected a JSON object with a string field \"text\"", path, line_no);
    // Document bytes count toward progress through the line length (add_jsonl_file).
    size_t before = p->bytes_done;
    if (!s) s = add_document(p, (const unsigned char *)text->valuestring, strlen(text->valuestring), invalid);
    p->bytes_done = before;
    cJSON_Delete(obj);
    return s;
}

// One line of an SFT JSONL file: an example (text/sft_example.h).
static Status add_sft_line(Prep *p, const char *path, size_t line_no, const char *line, size_t len) {
    if (memchr(line, '\0', len)) return fail(STATUS_INPUT, "%s:%zu: NUL byte in a JSONL line", path, line_no);
    if (has_json_nul(line, len))
        return fail(STATUS_INPUT, "%s:%zu: \\u0000 in JSON text is not supported (the text would be cut there)", path,
                    line_no);
    Status s = sft_example_encode(p->tok, line, len, p->context, &p->ids, &p->mask);
    if (s) {
        char why[600];
        snprintf(why, sizeof why, "%s", status_message());
        return fail(s, "%s:%zu: %s", path, line_no, why);
    }
    p->docs++;
    return split_add_example(&p->split, p->ids.ids, p->mask.bytes, p->ids.len, &p->train, &p->val);
}

static Status add_jsonl_file(Prep *p, const char *path) {
    FILE *f;
    TRY(open_user_file(path, "input", &f));
    char *line = NULL;
    size_t cap = 0, line_no = 0, invalid = 0, first_bad_line = 0;
    ssize_t n;
    Status s = STATUS_OK;
    while (!s && (n = getline(&line, &cap, f)) != -1) {
        line_no++;
        size_t len = (size_t)n;
        p->bytes_done += len;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
            len--;
        if (len == 0) continue; // blank lines (e.g. a final newline) are not documents
        size_t before = invalid;
        if (p->sft) {
            s = add_sft_line(p, path, line_no, line, len);
            progress(p, 0);
            continue;
        }
        s = add_jsonl_line(p, path, line_no, line, len, &invalid);
        if (invalid > before && !first_bad_line) first_bad_line = line_no;
    }
    if (!s && ferror(f)) s = fail(STATUS_IO, "read error in '%s': %s", path, strerror(errno));
    free(line);
    fclose(f);
    if (!s && invalid) {
        char where[64];
        snprintf(where, sizeof(where), "on line %zu", first_bad_line);
        warn_invalid(path, invalid, where);
    }
    return s;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

// The output folder: o->out, else one in the data folder named after the
// tokenizer ("gpt2", "byte", or a vocab file's stem). *out is a new string.
static Status output_folder(const PrepareOptions *o, char **out) {
    if (o->out) {
        *out = strdup_check(o->out);
        return STATUS_OK;
    }
    const char *data, *base = strrchr(o->tokenizer, '/');
    TRY(gpt2cl_data_dir(&data));
    base = base ? base + 1 : o->tokenizer;
    size_t stem = strcspn(base, ".");
    size_t n = strlen(data) + stem + 16;
    *out = mallocCheck(n);
    snprintf(*out, n, "%s/tokens/%.*s", data, (int)stem, base);
    return STATUS_OK;
}

// The inputs of o, or the default corpus when none are given.
static Status list_inputs(const PrepareOptions *o, InputList *inputs) {
    if (o->n_inputs == 0) {
        char corpus[4200];
        const char *data;
        TRY(gpt2cl_data_dir(&data));
        snprintf(corpus, sizeof(corpus), "%s/corpus", data);
        if (!file_exists(corpus))
            return fail(STATUS_INPUT, "no INPUT given and no default corpus at %s: run scripts/setup.sh", corpus);
        TRY(inputs_add(inputs, corpus));
    }
    for (int i = 0; i < o->n_inputs; i++) TRY(inputs_add(inputs, o->inputs[i]));
    if (inputs->n == 0) return fail(STATUS_INPUT, "empty corpus: the inputs hold no files");
    return STATUS_OK;
}

// Tokenizes every input into the stage of dest and commits it.
static Status write_shards(Prep *p, const InputList *inputs, PrepareOutput *dest) {
    for (size_t i = 0; i < inputs->n; i++) {
        if (p->sft && !ends_with(inputs->paths[i], ".jsonl"))
            return fail(STATUS_INPUT, "--format sft reads .jsonl files of examples; '%s' is not one", inputs->paths[i]);
        TRY(ends_with(inputs->paths[i], ".jsonl") ? add_jsonl_file(p, inputs->paths[i])
                                                  : add_text_file(p, inputs->paths[i]));
    }
    progress(p, 1);
    uint64_t tokens = p->train.total + p->val.total;
    if (p->docs == 0)
        return fail(STATUS_INPUT, "empty corpus: no text in %zu input file%s", inputs->n, inputs->n == 1 ? "" : "s");
    if (p->train.total == 0)
        return fail(STATUS_INPUT,
                    "corpus has only %llu tokens, all of them validation: lower --split-block or --val-frac",
                    (unsigned long long)tokens);
    TRY(shard_writer_finish(&p->train));
    TRY(shard_writer_finish(&p->val));
    return prepare_output_commit(dest);
}

static void print_summary(const Prep *p, const InputList *inputs, const char *out) {
    double dt = now_seconds() - p->t0;
    uint64_t tokens = p->train.total + p->val.total;
    printf("prepare: %llu documents (%llu empty skipped), %.1f MB -> %llu tokens (%s): "
            "train %llu in %d shard%s, val %llu in %d shard%s, %.2f s (%.2f MB/s) -> %s\n",
            (unsigned long long)p->docs, (unsigned long long)p->empty_docs, (double)inputs->total_bytes / 1e6,
            (unsigned long long)tokens, tokenizer_name(p->tok), (unsigned long long)p->train.total, p->train.shards,
            p->train.shards == 1 ? "" : "s", (unsigned long long)p->val.total, p->val.shards,
            p->val.shards == 1 ? "" : "s", dt, (double)inputs->total_bytes / 1e6 / (dt > 1e-9 ? dt : 1e-9), out);
    if (p->sft)
        printf("prepare: sft: %llu examples, %llu target tokens (%.1f%% of the tokens), a .mask file beside each "
               "shard\n",
               (unsigned long long)p->docs, (unsigned long long)(p->train.targets + p->val.targets),
               tokens ? 100.0 * (double)(p->train.targets + p->val.targets) / (double)tokens : 0.0);
}

// Opens the output and tokenizes into it (p->tok loaded, inputs listed).
static Status prepare_into(Prep *p, const PrepareOptions *o, const InputList *inputs, const char *out) {
    PrepareOutput dest;
    Status s = prepare_output_open(&dest, out, o->force);
    if (!s) {
        p->split.block = o->split_block;
        p->split.val_ppm = (uint32_t)llround(o->val_frac * 1e6);
        shard_writer_init(&p->train, dest.stage, "train", (size_t)o->shard_tokens);
        shard_writer_init(&p->val, dest.stage, "val", (size_t)o->shard_tokens);
        p->sft = o->sft;
        p->context = o->context;
        if (o->sft) {
            shard_writer_use_masks(&p->train, tokenizer_eot(p->tok));
            shard_writer_use_masks(&p->val, tokenizer_eot(p->tok));
        }
        p->total_bytes = inputs->total_bytes;
        p->tty = isatty(2);
        p->t0 = now_seconds();
        s = write_shards(p, inputs, &dest);
        shard_writer_free(&p->train);
        shard_writer_free(&p->val);
    }
    if (!s) print_summary(p, inputs, out);
    prepare_output_free(&dest);  // removes the stage unless committed
    return s;
}

Status prepare_run(const PrepareOptions *o) {
    Prep p;
    memset(&p, 0, sizeof(p));
    TRY(tokenizer_load(o->tokenizer, &p.tok));
    InputList inputs = {0};
    Status s = STATUS_OK;
    if (tokenizer_vocab_size(p.tok) > 65536)
        s = fail(STATUS_INPUT, "tokenizer '%s' has %d tokens: ids above 65535 do not fit the uint16 shard format",
                 o->tokenizer, tokenizer_vocab_size(p.tok));
    if (!s) s = list_inputs(o, &inputs);
    char *out = NULL;
    if (!s) s = output_folder(o, &out);
    if (!s) s = prepare_into(&p, o, &inputs, out);
    free(out);
    inputs_free(&inputs);
    token_ids_free(&p.ids);
    mask_bytes_free(&p.mask);
    tokenizer_free(p.tok);
    return s;
}
