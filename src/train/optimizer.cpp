#include "train/optimizer.h"

#include <cmath>

namespace tandem::train {

namespace {
// decay_of[i] for the elements of the flat buffer, expanded once per call from the ranges.
std::vector<uint8_t> decay_mask(const DecayRanges& d, int64_t n) {
  std::vector<uint8_t> m(size_t(n), 0);
  for (auto [b, e] : d.ranges)
    for (int64_t i = b; i < e && i < n; ++i) m[size_t(i)] = 1;
  return m;
}
}  // namespace

AdamW::AdamW(int64_t n_params) : m_(Tensor::zeros({n_params})), v_(Tensor::zeros({n_params})) {}

// PyTorch's AdamW (foreach=False) order, in fp32 per element:
//   p *= 1 - lr * wd;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   p -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
void AdamW::step(Tensor& params, const Tensor& grads, const DecayRanges& decay, const AdamWConfig& cfg, double lr) {
  const int64_t n = params.numel();
  TD_ASSERT(grads.numel() == n && m_.numel() == n, "AdamW sizes");
  ++t_;
  const auto mask = decay_mask(decay, n);
  const double bc1 = 1 - std::pow(cfg.beta1, double(t_)), bc2 = 1 - std::pow(cfg.beta2, double(t_));
  const float step_size = float(lr / bc1), bc2_sqrt = float(std::sqrt(bc2));
  const float b1 = float(cfg.beta1), b2 = float(cfg.beta2), eps = float(cfg.eps);
  const float decay_factor = float(1 - lr * cfg.weight_decay);
  float* p = params.f32();
  const float* g = grads.f32();
  float* m = m_.f32();
  float* v = v_.f32();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    if (mask[size_t(i)]) p[i] *= decay_factor;
    m[i] = b1 * m[i] + (1 - b1) * g[i];
    v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
    const float denom = std::sqrt(v[i]) / bc2_sqrt + eps;
    p[i] -= step_size * (m[i] / denom);
  }
}

void sgd_step(Tensor& params, const Tensor& grads, const DecayRanges& decay, double weight_decay, double lr) {
  const int64_t n = params.numel();
  TD_ASSERT(grads.numel() == n, "SGD sizes");
  const auto mask = decay_mask(decay, n);
  float* p = params.f32();
  const float* g = grads.f32();
  const float wd = float(weight_decay), lrf = float(lr);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) p[i] -= lrf * (mask[size_t(i)] ? g[i] + wd * p[i] : g[i]);
}

}  // namespace tandem::train
