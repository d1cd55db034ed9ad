// Optimisers over a flat parameter buffer: AdamW (decoupled weight decay, PyTorch's update order)
// and SGD (coupled weight decay, as torch.optim.SGD without momentum). fp32 master weights and
// state. Weight decay applies per parameter group: a mask of the elements that decay (matrices
// and embeddings by default, not norms or biases).
// Not here: schedules (schedule.h), clipping (grad_clip.h), sharding across ranks (dist).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace tandem::train {

struct AdamWConfig {
  double lr = 5e-5, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
};

// Contiguous element ranges [begin, end) of the flat buffer that weight decay applies to.
struct DecayRanges {
  std::vector<std::pair<int64_t, int64_t>> ranges;
};

class AdamW {
 public:
  explicit AdamW(int64_t n_params);
  // One update of params from grads at learning rate lr (the schedule's value for this step).
  void step(Tensor& params, const Tensor& grads, const DecayRanges& decay, const AdamWConfig& cfg, double lr);
  int64_t steps() const { return t_; }
  // State for checkpoints: m, v and the step count.
  Tensor& m() { return m_; }
  Tensor& v() { return v_; }
  void set_steps(int64_t t) { t_ = t; }

 private:
  Tensor m_, v_;
  int64_t t_ = 0;
};

struct SgdConfig {
  double lr = 1e-3, weight_decay = 0.0;
};
void sgd_step(Tensor& params, const Tensor& grads, const DecayRanges& decay, double weight_decay, double lr);

}  // namespace tandem::train
