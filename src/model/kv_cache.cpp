#include "model/kv_cache.h"

#include <algorithm>

#include "core/error.h"

namespace tandem::model {

KvCache::KvCache(const ModelConfig& cfg, int64_t slots, int64_t max_len) : S_(slots), M_(max_len) {
  TD_ASSERT(slots > 0 && max_len > 0, "kv cache ", slots, " x ", max_len);
  for (int64_t l = 0; l < cfg.num_hidden_layers; ++l) {
    k_.push_back(Tensor::empty({S_, cfg.num_key_value_heads, cfg.head_dim, M_}));
    v_.push_back(Tensor::empty({S_, cfg.num_key_value_heads, M_, cfg.head_dim}));
  }
  len_.assign(size_t(S_), 0);
}

size_t KvCache::bytes_per_slot(const ModelConfig& cfg, int64_t max_len) {
  return size_t(2) * size_t(cfg.num_hidden_layers) * size_t(max_len) * size_t(cfg.kv_dim()) * sizeof(float);
}

int64_t KvCache::slots_for_budget(const ModelConfig& cfg, size_t budget_bytes, int64_t max_len, int64_t max_slots) {
  const size_t per = bytes_per_slot(cfg, max_len);
  if (per == 0 || budget_bytes < per)
    throw Error("rollout.kv_cache_bytes",
                cat("one sequence of ", max_len, " tokens needs ", per, " bytes of KV cache (", per / size_t(std::max<int64_t>(max_len, 1)),
                    " per token), expected a budget of at least that, got ", budget_bytes,
                    " (raise the KV cache budget or shorten prompt + max new tokens)"));
  return std::max<int64_t>(1, std::min<int64_t>(max_slots, int64_t(budget_bytes / per)));
}

void KvCache::copy_slot(const Ops& ops, int64_t src, int64_t dst) {
  const int64_t n = len_[size_t(src)];
  // The slot's whole region, one block per tensor, rather than K (values) or K x D (keys) runs of
  // the first n positions; positions past n are never read before they are written.
  if (n > 0)
    for (size_t l = 0; l < k_.size(); ++l)
      for (Tensor* t : {&k_[l], &v_[l]}) {
        const Tensor flat = t->view({S_, t->numel() / S_});
        Tensor to = flat.rows(dst, dst + 1);
        ops.convert(flat.rows(src, src + 1), to);
      }
  len_[size_t(dst)] = n;
}

size_t KvCache::bytes() const {
  size_t b = 0;
  for (size_t l = 0; l < k_.size(); ++l) b += k_[l].nbytes() + v_[l].nbytes();
  return b;
}

}  // namespace tandem::model
