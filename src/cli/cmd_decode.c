// `gpt2cl decode`: token ids (an argument, a file or stdin) to the bytes of their text on stdout.
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/or_die.h"
#include "cli/read_input.h"
#include "text/token_ids_parse.h"
#include "text/tokenizer.h"
#include "util/util.h"

typedef struct {
    const char *ids, *file, *tokenizer;
} DecodeArgs;

#define A(x) offsetof(DecodeArgs, x)
static const Option decode_options[] = {
    {"--ids", OPT_STRING, A(ids), "IDS", "token ids", 0, 0, "the ids: \"1 2 3\", \"1,2,3\" or \"[1,2,3]\""},
    {"--file", OPT_STRING, A(file), "F", "a file", 0, 0, "read the ids from file F (default: stdin)"},
    {"--tokenizer", OPT_STRING, A(tokenizer), "SPEC", "gpt2, byte or a path", 0, 0,
     "gpt2 | byte | a .tiktoken or encoder.json path (default gpt2)"},
};
#undef A
static const OptionTable decode_table = OPTION_TABLE("decode", decode_options, 17);

static void usage(FILE *f) {
    fprintf(f, "usage: gpt2cl decode [--ids IDS | --file F] [--tokenizer SPEC]\n\n"
               "Writes the bytes of the text of token ids (from --ids, a file or stdin: space- or comma-separated,\n"
               "or a JSON array) to stdout, with nothing added. No ids: no output.\n");
    options_print_help(&decode_table, f);
}

int cmd_decode(int argc, char **argv) {
    DecodeArgs args = {.tokenizer = "gpt2"};
    int i = options_parse(&decode_table, &args, argc, argv, 1);
    if (i < 0) {
        usage(stdout);
        return 0;
    }
    if (i < argc) die("unexpected argument '%s' (the ids go after --ids)", argv[i]);
    size_t len;
    char *text = read_input(args.ids, "--ids", args.file, &len);
    Tokenizer *tok;
    or_die(tokenizer_load(args.tokenizer, &tok));
    TokenIds ids = {0};
    or_die(token_ids_parse(text, len, tokenizer_vocab_size(tok), &ids));
    for (size_t k = 0; k < ids.len; k++) {
        size_t n;
        const unsigned char *b = tokenizer_decode(tok, ids.ids[k], &n);
        if (fwrite(b, 1, n, stdout) != n) die("cannot write to stdout");
    }
    if (fflush(stdout) != 0) die("cannot write to stdout");
    token_ids_free(&ids);
    tokenizer_free(tok);
    free(text);
    return 0;
}
