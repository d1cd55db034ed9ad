#include "data/micro_batch.h"

namespace tandem::data {

Collated next_sft_micro_batch(SftStream& stream, const DataConfig& cfg, int64_t batch_size, int rank, int ranks) {
  std::vector<TokenSeq> seqs;
  if (cfg.max_tokens_per_batch > 0) {
    if (cfg.max_tokens_per_batch < cfg.max_length)
      throw Error("max_tokens_per_batch", cat("must be at least max_length (", cfg.max_length, ") so that every example fits, got ",
                                              cfg.max_tokens_per_batch));
    for (int k = 0; k < ranks; ++k) {
      auto batch = stream.next_by_tokens(cfg.max_tokens_per_batch);
      if (k == rank)
        for (auto& e : batch) seqs.push_back(std::move(e.seq));
    }
    return collate(seqs, true, cfg.max_tokens_per_batch);
  }
  if (batch_size <= 0) throw Error("per_device_train_batch_size", cat("must be > 0, got ", batch_size));
  auto all = stream.next_batch(size_t(batch_size * ranks));
  for (int64_t i = batch_size * rank; i < batch_size * (rank + 1); ++i) seqs.push_back(std::move(all[size_t(i)].seq));
  return collate(seqs, cfg.packing, cfg.max_length);
}

}  // namespace tandem::data
