// `gpt2cl classify`: the label and the label probabilities of texts under a
// classifier that `train` (task = classify) wrote: the run folder's latest
// model, its head and labels.json.
#include <cjson/cJSON.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/device_setup.h"
#include "cli/options.h"
#include "cli/or_die.h"
#include "model/classifier.h"
#include "model/forward.h"
#include "model/weights_file.h"
#include "runtime/tune_apply.h"
#include "text/tokenizer.h"
#include "train/checkpoint.h"
#include "train/classify_data.h"
#include "train/classify_train.h"
#include "util/util.h"

typedef struct {
    const char *checkpoint, *text, *file, *device, *tokenizer;
    int json;
} ClassifyArgs;

#define A(x) offsetof(ClassifyArgs, x)
static const Option classify_options[] = {
    {"--checkpoint", OPT_STRING, A(checkpoint), "DIR", "a folder", 0, 0,
     "out_dir of a training run with task = classify (its latest checkpoint)"},
    {"--text", OPT_STRING, A(text), "TEXT", "a text", 0, 0, "one text to classify"},
    {"--file", OPT_STRING, A(file), "F", "a file", 0, 0,
     "texts to classify: one per line, or JSONL objects with a \"text\" field"},
    {"--json", OPT_FLAG, A(json), NULL, NULL, 0, 0,
     "print one JSON object per text: {\"label\": ..., \"probs\": {label: p, ...}}"},
    {"--tokenizer", OPT_STRING, A(tokenizer), "SPEC", "gpt2, byte or a path", 0, 0,
     "gpt2 | byte | PATH (default: from the vocabulary size)"},
    {"--device", OPT_STRING, A(device), "SEL", "an index or a name (see `gpt2cl devices`)", 0, 0,
     "OpenCL device index or name substring"},
};
#undef A
static const OptionTable classify_table = OPTION_TABLE("classify", classify_options, 17);

static void usage(FILE *f) {
    fprintf(f, "usage: gpt2cl classify --checkpoint DIR (--text TEXT | --file F) [--json]\n\n"
               "Classifies texts with the model, head (head_STEP.bin) and labels (labels.json) of a run trained\n"
               "with task = classify. Each text is cut to the window the head was trained with (its first tokens).\n"
               "Prints, per text, the most likely label and every label's probability.\n");
    options_print_help(&classify_table, f);
}

// The model, head and labels of the run folder dir, on dev.
typedef struct {
    GPT2 m;
    Workspace ws;
    ClassHead head;
    char **labels;
    int num_labels, T;
} Classifier;

static void classifier_open(Classifier *c, const char *dir, Device *dev) {
    int step = checkpoint_latest(dir);
    if (step < 0) die("'%s' is not a run folder with a checkpoint (classify needs a run's out_dir)", dir);
    char model_path[1024], state_path[1024], head_path[1024], labels_path[1024];
    checkpoint_paths(dir, step, model_path, state_path, sizeof model_path);
    classify_head_path(dir, step, head_path, sizeof head_path);
    classify_labels_path(dir, labels_path, sizeof labels_path);
    if (!file_exists(head_path))
        die("'%s' has no classification head for step %d (head_%08d.bin): train it with task = classify", dir, step,
            step);
    or_die(labels_load(labels_path, &c->labels, &c->num_labels));
    int K, C;
    or_die(head_read_header(head_path, &K, &C, &c->T));
    GPT2Config mc;
    or_die(checkpoint_read_config(model_path, &mc));
    if (K != c->num_labels)
        die("head '%s' has %d labels but '%s' lists %d", head_path, K, labels_path, c->num_labels);
    if (C != mc.channels)
        die("head '%s' is for n_embd %d but the checkpoint '%s' has n_embd %d", head_path, C, model_path, mc.channels);
    if (c->T > mc.max_seq_len)
        die("head '%s' was trained on %d tokens, more than the checkpoint's block_size %d", head_path, c->T,
            mc.max_seq_len);
    or_die(gpt2_create(&c->m, &mc, dev));
    or_die(gpt2_load_checkpoint(&c->m, model_path));
    or_die(workspace_create(&c->ws, &c->m, 1, c->T, WS_FORWARD));
    or_die(head_create(&c->head, dev, K, C, 1));
    or_die(head_load(&c->head, head_path, 0));
}

static void classifier_close(Classifier *c) {
    head_free(&c->head);
    workspace_free(&c->ws);
    gpt2_free(&c->m);
    labels_free(c->labels, c->num_labels);
}

// Classifies one text and prints the result.
static void classify_text(Classifier *c, Ops *ops, Tokenizer *tok, const char *text, int json) {
    TokenIds ids = {0};
    or_die(tokenizer_encode(tok, text, strlen(text), &ids, NULL));
    if (ids.len == 0) die("cannot classify an empty text");
    int *tokens = mallocCheck((size_t)c->T * sizeof(int)), n = ids.len < (size_t)c->T ? (int)ids.len : c->T,
        last = n - 1;
    for (int t = 0; t < c->T; t++) tokens[t] = t < n ? ids.ids[t] : tokenizer_eot(tok);
    token_ids_free(&ids);
    gpt2_set_batch(&c->ws, tokens, NULL);
    head_set_batch(&c->head, &last, NULL);
    gpt2_forward_trunk(&c->m, &c->ws, ops, NULL, 0);
    head_forward(&c->head, &c->m, &c->ws, ops, 0.0f, 0.0f);
    const int K = c->num_labels;
    float *logits = mallocCheck((size_t)K * sizeof(float));
    device_read(c->m.dev, c->head.logits, 0, (size_t)K * sizeof(float), logits);
    or_die(device_status(c->m.dev));
    int best = 0;
    double sum = 0;
    for (int k = 0; k < K; k++)
        if (logits[k] > logits[best]) best = k;
    for (int k = 0; k < K; k++) sum += exp((double)logits[k] - logits[best]);
    cJSON *probs = cJSON_CreateObject(), *root = cJSON_CreateObject();
    if (!probs || !root) out_of_memory("classify output");
    if (!json) printf("%s\t", c->labels[best]);
    for (int k = 0; k < K; k++) {
        double p = exp((double)logits[k] - logits[best]) / sum;
        if (json && !cJSON_AddNumberToObject(probs, c->labels[k], p)) out_of_memory("classify output");
        if (!json) printf("%s%s=%.4f", k ? " " : "", c->labels[k], p);
    }
    if (json) {
        if (!cJSON_AddStringToObject(root, "label", c->labels[best])) out_of_memory("classify output");
        cJSON_AddItemToObject(root, "probs", probs);
        char *out = cJSON_PrintUnformatted(root);
        if (!out) out_of_memory("classify output");
        printf("%s", out);
        free(out);
        cJSON_Delete(root);
    } else {
        cJSON_Delete(probs);
        cJSON_Delete(root);
    }
    printf("\n");
    free(logits);
    free(tokens);
}

// Each non-blank line of path: a JSON object's "text", or the line itself.
static void classify_file(Classifier *c, Ops *ops, Tokenizer *tok, const char *path, int json) {
    char *text;
    size_t len;
    or_die(read_user_file(path, "--file", &text, &len));
    if (strlen(text) != len) die("--file '%s' holds a NUL byte", path);
    int line = 0;
    for (char *p = text, *next; p && *p; p = next) {
        next = strchr(p, '\n');
        if (next) *next++ = '\0';
        line++;
        size_t n = strlen(p);
        if (n && p[n - 1] == '\r') p[--n] = '\0';
        if (p[strspn(p, " \t")] == '\0') continue;
        if (p[strspn(p, " \t")] != '{') {
            classify_text(c, ops, tok, p, json);
            continue;
        }
        cJSON *item = cJSON_Parse(p);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(item, "text");
        if (!cJSON_IsString(t)) die("--file '%s' line %d: expected a JSON object with a string field \"text\"", path, line);
        classify_text(c, ops, tok, t->valuestring, json);
        cJSON_Delete(item);
    }
    free(text);
}

int cmd_classify(int argc, char **argv) {
    ClassifyArgs args = {0};
    int i = options_parse(&classify_table, &args, argc, argv, 1);
    if (i < 0) {
        usage(stdout);
        return 0;
    }
    if (i < argc) die("classify: unexpected argument '%s' (see `gpt2cl classify --help`)", argv[i]);
    if (!args.checkpoint) die("classify needs --checkpoint DIR, a run's out_dir (see `gpt2cl classify --help`)");
    if (!args.text == !args.file) die("classify needs one of --text TEXT or --file F");
    Device dev;
    Ops ops;
    open_device_quietly(&dev, &ops, args.device, args.checkpoint, 0);
    Classifier c;
    classifier_open(&c, args.checkpoint, &dev);
    Tokenizer *tok;
    or_die(tokenizer_load_for_model(args.tokenizer, c.m.config.vocab_size, &tok));
    if (args.text) classify_text(&c, &ops, tok, args.text, args.json);
    else classify_file(&c, &ops, tok, args.file, args.json);
    tokenizer_free(tok);
    classifier_close(&c);
    ops_free(&ops);
    device_close(&dev);
    return 0;
}
