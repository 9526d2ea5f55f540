// libFuzzer target: the binary headers gpt2cl reads from files it is given:
// llm.c checkpoints (model.c), token shards (dataloader.c) and the resume
// state (checkpoint.c). Input: 8 bytes of file size, then the 1 KiB header
// (zero-padded). A header that is accepted must describe a file of exactly
// that size, with a model shape the rest of the code can allocate.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/weights_file.h"
#include "train/checkpoint.h"
#include "train/dataloader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    long long file_size = 0;
    memcpy(&file_size, data, size < 8 ? size : 8);
    union {
        int32_t h[256];
        unsigned char raw[1024];
    } hdr = {{0}};
    if (size > 8) memcpy(hdr.raw, data + 8, size - 8 < 1024 ? size - 8 : 1024);
    char err[400];

    GPT2Config c;
    if (checkpoint_header_parse(hdr.h, file_size, &c, err, sizeof err)) {
        if (c.num_layers < 1 || c.num_heads < 1 || c.channels < 1 || c.max_seq_len < 1 || c.vocab_size < 1 ||
            c.vocab_size > c.padded_vocab_size || c.channels % c.num_heads != 0)
            abort();
        if ((double)file_size != 1024.0 + (hdr.h[1] == 5 ? 2.0 : 4.0) * (double)gpt2_param_count(&c)) abort();
    } else if (!err[0]) {
        abort();
    }

    size_t tokens = 0;
    if (shard_header_parse(hdr.h, file_size, &tokens, err, sizeof err)) {
        if ((long long)(1024 + 2 * tokens) != file_size) abort();
    } else if (!err[0]) {
        abort();
    }

    StateExpect want = {.step = 2, .num_parameters = 128768, .optimizer = "adamw", .num_state = 2, .num_rows = 0};
    err[0] = '\0';
    if (!state_header_parse(hdr.raw, file_size, &want, err, sizeof err) && !err[0]) abort();
    return 0;
}
