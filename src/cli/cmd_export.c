// `gpt2cl export`: a model file in another format: a Hugging Face GPT-2 folder
// (config.json, model.safetensors, the tokenizer's vocab.json, merges.txt,
// tokenizer_config.json) or an llm.c checkpoint (fp32 or bf16).
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/or_die.h"
#include "model/hf_config.h"
#include "model/hf_gpt2.h"
#include "model/weights_file.h"
#include "text/hf_tokenizer.h"
#include "train/checkpoint.h"
#include "util/util.h"

typedef struct {
    const char *checkpoint, *format, *out, *dtype, *tokenizer;
    int force;
} ExportArgs;

#define A(x) offsetof(ExportArgs, x)
static const Option export_options[] = {
    {"--checkpoint", OPT_STRING, A(checkpoint), "F", "a file or folder", 0, 0,
     "model: llm.c checkpoint, run out_dir (its latest), Hugging Face folder or .safetensors"},
    {"--format", OPT_STRING, A(format), "FMT", "hf, llmc or llmc-bf16", 0, 0,
     "hf: a Hugging Face GPT-2 folder; llmc / llmc-bf16: an llm.c checkpoint, fp32 / bf16"},
    {"--out", OPT_STRING, A(out), "PATH", "a path", 0, 0, "the folder (hf) or file (llmc, llmc-bf16) to write"},
    {"--dtype", OPT_STRING, A(dtype), "T", "f32, bf16 or f16", 0, 0,
     "hf only: the tensors' type (default f32); bf16 and f16 round to nearest even"},
    {"--tokenizer", OPT_STRING, A(tokenizer), "SPEC", "gpt2, byte or a path", 0, 0,
     "hf only: the tokenizer files' source (default: gpt2 for 50257 tokens, byte for 257)"},
    {"--force", OPT_FLAG, A(force), NULL, NULL, 0, 0, "replace files that exist (else refuse)"},
};
#undef A
static const OptionTable export_table = OPTION_TABLE("export", export_options, 18);

static void usage(FILE *f) {
    fprintf(f, "usage: gpt2cl export --checkpoint FILE|DIR --format hf|llmc|llmc-bf16 --out PATH\n"
               "                     [--dtype f32|bf16|f16] [--tokenizer SPEC] [--force]\n\n"
               "Writes a model in another format. hf: a folder that transformers' GPT2LMHeadModel and\n"
               "GPT2TokenizerFast load with from_pretrained (config.json, model.safetensors, and vocab.json,\n"
               "merges.txt, tokenizer_config.json when the vocabulary is GPT-2's or bytes). llmc: llm.c's fp32\n"
               "checkpoint (version 3); llmc-bf16: llm.c's bf16 checkpoint (version 5). Existing files are\n"
               "never replaced without --force; each file is written under a temporary name, then renamed.\n");
    options_print_help(&export_table, f);
}

// One file to write: its name in the folder and its bytes.
typedef struct {
    const char *name;
    const void *data;
    size_t len;
} OutFile;

// Refuses (without --force) when any of the files exists; a folder in a file's place is always refused.
static void check_targets(const char *dir, const OutFile *files, int n, int force) {
    for (int i = 0; i < n; i++) {
        char p[2048];
        snprintf(p, sizeof p, "%s%s%s", dir ? dir : "", dir ? "/" : "", files[i].name);
        struct stat st;
        if (lstat(p, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) die("'%s' is a folder: export writes a file there", p);
        if (!force) die("'%s' exists: give --force to replace it", p);
    }
}

static void write_files(const char *dir, const OutFile *files, int n) {
    for (int i = 0; i < n; i++) {
        char p[2048];
        snprintf(p, sizeof p, "%s/%s", dir, files[i].name);
        or_die(write_file_atomic(p, files[i].data, files[i].len));
    }
}

// The tokenizer files of a model of vocab_size tokens; 0 (the reason in note) when no tokenizer is known for it.
static int tokenizer_files(const char *spec, const GPT2Config *c, OutFile *files, char *note, size_t n) {
    Tokenizer *tok;
    Status s = tokenizer_load_for_model(spec ? spec : "", c->vocab_size, &tok);
    if (s && !spec) {
        snprintf(note, n, "%s", status_message());
        return 0;
    }
    or_die(s);
    char *vocab, *merges, *config;
    or_die(tokenizer_hf_files(tok, c->max_seq_len, &vocab, &merges, &config));
    tokenizer_free(tok);
    files[0] = (OutFile){"vocab.json", vocab, strlen(vocab)};
    files[1] = (OutFile){"merges.txt", merges, strlen(merges)};
    files[2] = (OutFile){"tokenizer_config.json", config, strlen(config)};
    return 3;
}

// --dtype's values: the safetensors dtype and config.json's "dtype" (torch's name).
static const struct {
    const char *flag, *safetensors, *torch;
} export_dtypes[] = {{"f32", "F32", "float32"}, {"bf16", "BF16", "bfloat16"}, {"f16", "F16", "float16"}};

static void export_hf(const ExportArgs *a, const GPT2Config *c, const float *host) {
    int d = 0;
    while (a->dtype && d < 3 && strcmp(a->dtype, export_dtypes[d].flag)) d++;
    if (d == 3) die("--dtype: '%s' is not one of f32|bf16|f16", a->dtype);
    const char *dtype = export_dtypes[d].safetensors;
    struct stat st;
    if (stat(a->out, &st) == 0 && !S_ISDIR(st.st_mode)) die("--out '%s' exists and is not a folder", a->out);
    OutFile files[5];
    int n = 0;
    char *config = hf_config_json(c, export_dtypes[d].torch);
    files[n++] = (OutFile){"config.json", config, strlen(config)};
    char note[512] = "";
    n += tokenizer_files(a->tokenizer, c, files + n, note, sizeof note);
    files[n] = (OutFile){"model.safetensors", NULL, 0};
    check_targets(a->out, files, n + 1, a->force);  // before the big conversion: refuse at once
    unsigned char *weights;
    size_t size;
    hf_model_serialize(c, host, dtype, &weights, &size);
    files[n++] = (OutFile){"model.safetensors", weights, size};
    or_die(make_dirs(a->out));
    write_files(a->out, files, n);
    printf("wrote %s: model.safetensors (%s, %zu parameters), config.json%s\n", a->out, dtype,
           gpt2_param_count(c) - (size_t)(c->padded_vocab_size - c->vocab_size) * (size_t)c->channels,
           n > 2 ? ", vocab.json, merges.txt, tokenizer_config.json" : "");
    if (*note) printf("no tokenizer files (give --tokenizer gpt2|byte|PATH): %s\n", note);
    for (int i = 0; i < n; i++) free((void *)files[i].data);
}

static void export_llmc(const ExportArgs *a, const GPT2Config *c, const float *host, int bf16) {
    if (a->dtype || a->tokenizer) die("--dtype and --tokenizer apply to --format hf only");
    check_targets(NULL, &(OutFile){a->out, NULL, 0}, 1, a->force);
    or_die(llmc_file_write(a->out, c, host, bf16));
    printf("wrote %s: llm.c %s checkpoint (version %d)\n", a->out, bf16 ? "bf16" : "fp32", bf16 ? 5 : 3);
}

int cmd_export(int argc, char **argv) {
    ExportArgs a = {0};
    for (int i = 1; i < argc; i++) {
        i = options_parse(&export_table, &a, argc, argv, i);
        if (i < 0) {
            usage(stdout);
            return 0;
        }
        if (i < argc) die("export: unexpected argument '%s' (see `gpt2cl export --help`)", argv[i]);
    }
    if (!a.checkpoint || !a.format || !a.out)
        die("export needs --checkpoint, --format and --out (see `gpt2cl export --help`)");
    int hf = !strcmp(a.format, "hf"), llmc = !strcmp(a.format, "llmc"), bf16 = !strcmp(a.format, "llmc-bf16");
    if (!hf && !llmc && !bf16) die("--format: '%s' is not one of hf|llmc|llmc-bf16", a.format);
    char path[1024];
    or_die(checkpoint_model_path(a.checkpoint, path, sizeof path));
    GPT2Config c;
    float *host;
    or_die(model_file_load(path, &c, &host));
    if (hf) export_hf(&a, &c, host);
    else export_llmc(&a, &c, host, bf16);
    free(host);
    return 0;
}
