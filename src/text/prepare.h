// `gpt2cl prepare`: tokenizes text files, folders of them or JSONL into
// llm.c-format uint16 token shards (train_NNNNNN.bin / val_NNNNNN.bin).
#pragma once

// argv[0] is "prepare". Returns the process exit status; dies on errors.
int cmd_prepare(int argc, char **argv);
