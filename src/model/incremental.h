// Incremental (KV-cached) forward of a Decoder, for generation: prefill of prompts into cache
// slots, then one token per sequence per step. It reads the Decoder's own ParamSet and runs the
// same op table, so the distributions it gives are those the training forward computes (up to
// float summation order): prefill even runs the training attention kernel over the prompts.
// Outputs are next-token logits [R, V] of the rows asked for; sampling and log-softmax belong to
// the rollout layer. Deliberately not here: scheduling (which slot holds what), sampling,
// stopping; and no gradients. Attached, enabled LoRA adapters run (without dropout).
#pragma once
#include <cstdint>
#include <vector>

#include "model/decoder.h"
#include "model/kv_cache.h"

namespace tandem::model {

class IncrementalDecoder {
 public:
  // dec and cache must outlive this object. Error for a model without an LM head.
  IncrementalDecoder(const Decoder& dec, KvCache& cache);

  // Writes prompts[i] at positions [0, len) of slot slots[i] (any earlier content is dropped) and
  // returns the logits [R, V] of the token after each prompt's last one. Prompts are packed into
  // one row of segments, so the attention kernel never mixes them.
  Tensor prefill(const std::vector<int32_t>& slots, const std::vector<std::vector<int32_t>>& prompts);
  // Appends tokens[i] to slot slots[i] (at position length(slot)) and returns the logits [R, V]
  // of the token after it.
  Tensor decode(const std::vector<int32_t>& slots, const std::vector<int32_t>& tokens);

  KvCache& cache() { return cache_; }

 private:
  // x [N, C] holds the embeddings in and the final residual stream out.
  void run_layers(Tensor& x, const Tensor& positions, const Tensor& slot_of_token, const AttnLayout* layout,
                  const Tensor& decode_slots, const Tensor& decode_lengths);
  Tensor head(const Tensor& x, const std::vector<int64_t>& rows);  // final norm + LM head of some rows

  const Decoder& dec_;
  const ModelConfig& cfg_;
  const Ops& ops_;
  KvCache& cache_;
  RopeTable rope_;
};

}  // namespace tandem::model
