// `gpt2cl encode`: text (an argument, a file or stdin) to token ids on stdout.
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/or_die.h"
#include "cli/read_input.h"
#include "text/tokenizer.h"
#include "util/util.h"

typedef struct {
    const char *text, *file, *tokenizer;
    int json;
} EncodeArgs;

#define A(x) offsetof(EncodeArgs, x)
static const Option encode_options[] = {
    {"--text", OPT_STRING, A(text), "TEXT", "a text", 0, 0, "the text to encode"},
    {"--file", OPT_STRING, A(file), "F", "a file", 0, 0, "encode the bytes of file F (default: stdin)"},
    {"--json", OPT_FLAG, A(json), NULL, NULL, 0, 0, "print a JSON array instead of space-separated ids"},
    {"--tokenizer", OPT_STRING, A(tokenizer), "SPEC", "gpt2, byte or a path", 0, 0,
     "gpt2 | byte | a .tiktoken or encoder.json path (default gpt2)"},
};
#undef A
static const OptionTable encode_table = OPTION_TABLE("encode", encode_options, 17);

static void usage(FILE *f) {
    fprintf(f, "usage: gpt2cl encode [--text TEXT | --file F] [--json] [--tokenizer SPEC]\n\n"
               "Prints the token ids of a text (from --text, a file or stdin) on one line, space-separated.\n"
               "Text such as <|endoftext|> is ordinary text; empty input prints an empty line (or []).\n");
    options_print_help(&encode_table, f);
}

static void print_ids(const TokenIds *ids, int json) {
    if (json) putchar('[');
    for (size_t i = 0; i < ids->len; i++) printf("%s%d", i ? (json ? "," : " ") : "", (int)ids->ids[i]);
    printf(json ? "]\n" : "\n");
}

int cmd_encode(int argc, char **argv) {
    EncodeArgs args = {.tokenizer = "gpt2"};
    int i = options_parse(&encode_table, &args, argc, argv, 1);
    if (i < 0) {
        usage(stdout);
        return 0;
    }
    if (i < argc) die("unexpected argument '%s' (the text goes after --text)", argv[i]);
    size_t len;
    char *text = read_input(args.text, "--text", args.file, &len);
    Tokenizer *tok;
    or_die(tokenizer_load(args.tokenizer, &tok));
    TokenIds ids = {0};
    or_die(tokenizer_encode(tok, text, len, &ids, NULL));
    print_ids(&ids, args.json);
    token_ids_free(&ids);
    tokenizer_free(tok);
    free(text);
    return 0;
}
