// The KV cache of generation: per layer, keys (after RoPE and any q/k norm) and values of every
// position of every slot, for S slots (sequences in flight) of M positions, head-major: values
// [S, K, M, D], keys transposed to [S, K, D, M] for decode's scores (tensor/ops.h). Sized
// from a memory budget in bytes, with an Error naming the numbers when not even one sequence fits.
// Deliberately no paging or prefix sharing: a slot is a contiguous max-length strip, and a
// prompt shared by n samples is copied (copy_slot), which is cheap next to the prefill it saves.
#pragma once
#include <cstdint>
#include <vector>

#include "model/config.h"
#include "tensor/ops.h"

namespace tandem::model {

class KvCache {
 public:
  KvCache(const ModelConfig& cfg, int64_t slots, int64_t max_len);
  // Bytes one slot of max_len positions takes over all layers (keys and values, F32).
  static size_t bytes_per_slot(const ModelConfig& cfg, int64_t max_len);
  // As many slots as fit in budget_bytes, at most max_slots. Error when one does not fit.
  static int64_t slots_for_budget(const ModelConfig& cfg, size_t budget_bytes, int64_t max_len, int64_t max_slots);

  int64_t slots() const { return S_; }
  int64_t max_len() const { return M_; }
  Tensor& k(int64_t layer) { return k_[size_t(layer)]; }  // [S, K, D, M] (tensor/ops.h)
  Tensor& v(int64_t layer) { return v_[size_t(layer)]; }  // [S, K, M, D]
  // Positions of slot s filled so far (the next token is written at this position).
  int64_t length(int64_t s) const { return len_[size_t(s)]; }
  void set_length(int64_t s, int64_t n) { len_[size_t(s)] = n; }
  // dst takes src's first length(src) positions in every layer (n samples of one prompt): it
  // copies the slot's whole region, one block instead of many runs of positions.
  void copy_slot(const Ops& ops, int64_t src, int64_t dst);
  size_t bytes() const;

 private:
  int64_t S_, M_;
  std::vector<Tensor> k_, v_;
  std::vector<int64_t> len_;
};

}  // namespace tandem::model
