#include "data/micro_batch.h"

namespace tandem::data {

Collated next_sft_micro_batch(SftStream& stream, const DataConfig& cfg, int64_t batch_size) {
  std::vector<TokenSeq> seqs;
  if (cfg.max_tokens_per_batch > 0) {
    if (cfg.max_tokens_per_batch < cfg.max_length)
      throw Error("max_tokens_per_batch", cat("must be at least max_length (", cfg.max_length, ") so that every example fits, got ",
                                              cfg.max_tokens_per_batch));
    for (auto& e : stream.next_by_tokens(cfg.max_tokens_per_batch)) seqs.push_back(std::move(e.seq));
    return collate(seqs, true, cfg.max_tokens_per_batch);
  }
  if (batch_size <= 0) throw Error("per_device_train_batch_size", cat("must be > 0, got ", batch_size));
  for (auto& e : stream.next_batch(size_t(batch_size))) seqs.push_back(std::move(e.seq));
  return collate(seqs, cfg.packing, cfg.max_length);
}

}  // namespace tandem::data
