// What optimizer.c uses of optimizer_shard.c (the public part is in optimizer.h).
#pragma once
#include "model/optimizer.h"

// The ranges of the ranks' shards and this rank's sub-buffers of the parameters and gradients.
Status optimizer_shard_create(Optimizer *opt, GPT2 *m, int rank, int ranks);
void optimizer_shard_free(Optimizer *opt);
// Elements of one state buffer: padded_elems, or the shard's (at least 1).
size_t optimizer_state_elems(const Optimizer *opt, const GPT2 *m);
