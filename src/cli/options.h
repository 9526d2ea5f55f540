// The command-line options of the commands, each command's in one table that
// both parses them and writes their lines of the command's --help.
#pragma once
#include <stddef.h>
#include <stdio.h>

typedef enum {
    OPT_FLAG,    // no value: sets an int to 1
    OPT_STRING,  // the next argument, into a const char *
    OPT_INT,     // the next argument, an integer in [min, max], into an int
    OPT_NUMBER,  // the next argument, a number in [min, max], into a double
    OPT_STRINGS, // the next argument, appended to an OptionStrings (the option may repeat, up to max times)
} OptionKind;

#define OPTION_STRINGS_MAX 32
typedef struct {
    const char *v[OPTION_STRINGS_MAX];
    int n;
} OptionStrings;

typedef struct {
    const char *name;   // "--config"
    OptionKind kind;
    size_t offset;      // of the field it sets in the command's arguments struct
    const char *arg;    // what follows the name in the help: "FILE" (NULL for a flag)
    const char *needs;  // the value, in the error of a missing or bad one: "--config needs a file"
    double min, max;    // OPT_INT and OPT_NUMBER
    const char *help;   // help line(s), '\n' between them; NULL: the usage text describes the option
} Option;

typedef struct {
    const char *command;  // "train": for `see gpt2cl train --help`
    const Option *options;
    int count;
    int width;  // of the name-and-argument column of the help lines
} OptionTable;

#define OPTION_TABLE(command, options, width) \
    {command, options, (int)(sizeof options / sizeof options[0]), width}

// Parses the options from argv[i] on into args, up to the first argument that
// does not start with '-'. Returns its index (argc when there is none), or -1
// at -h or --help. Dies on an unknown option or a missing or bad value.
int options_parse(const OptionTable *t, void *args, int argc, char **argv, int i);
// Writes the help lines of the table's options: "  --config FILE   run configuration".
void options_print_help(const OptionTable *t, FILE *f);
