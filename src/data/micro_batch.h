// The one call an SFT-style trainer makes per micro-batch: the next examples of a stream,
// collated as the DataConfig says (padding-free by token budget, packed, or padded), so trainers
// do not re-implement the choice.
// Not here: pairs and RL groups (their trainers build chosen/rejected or policy sequences with
// data/collate.h's helpers, then call collate themselves).
#pragma once
#include "data/collate.h"
#include "data/stream.h"

namespace tandem::data {

// max_tokens_per_batch > 0: examples up to that many tokens, all in one row (padding-free);
// else batch_size examples, best-fit packed into rows of max_length when packing, else padded.
// Data parallel: every rank walks the same stream and keeps its own share, the rank-th of `ranks`
// consecutive batches (so N ranks see what one rank with N times the batch would).
Collated next_sft_micro_batch(SftStream& stream, const DataConfig& cfg, int64_t batch_size, int rank = 0,
                              int ranks = 1);

}  // namespace tandem::data
