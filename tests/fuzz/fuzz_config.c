// libFuzzer target: the .ini config parser (src/train/config.c). Any text must parse
// or fail with a line number and a reason, never crash; and a config that
// parses must survive the round trip through the copy a run saves
// (config_write) unchanged, since `train --resume` reads that copy back.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    Config a;
    config_defaults(&a);
    int line;
    if (config_parse_text(&a, (const char *)data, size, &line) != STATUS_OK) {
        if (line <= 0 || !status_message()[0]) abort();  // an error always names its line and says why
        return 0;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem) abort();
    config_write(&a, mem);
    fclose(mem);
    Config b;
    config_defaults(&b);
    if (config_parse_text(&b, text, len, &line) != STATUS_OK) {
        fprintf(stderr, "the written config does not parse: %s\n%s", status_message(), text);
        abort();
    }
    // Every key is set by the copy; the values must be the same.
    memcpy(b.set, a.set, sizeof b.set);
    if (memcmp(&a, &b, sizeof a) != 0) {
        fprintf(stderr, "the written config reads back differently:\n%s", text);
        abort();
    }
    free(text);
    return 0;
}
