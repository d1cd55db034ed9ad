// Batch validation and the numerics every kernel shares: stable log-sigmoid, the clamped importance
// ratio, masked sequence sums, and the KL estimators of algorithms.md §2 (value and gradient form).
// Deliberately holds no term: each algorithm's arithmetic lives in its own file.
#include <cmath>

#include "core/error.h"
#include "objective/terms.h"

namespace tandem::objective {

void validate_batch(const Batch& b) {
  if (b.offsets.empty()) throw Error("objective.batch.offsets", "expected B+1 offsets, got none");
  if (b.offsets[0] != 0) throw Error("objective.batch.offsets", cat("expected offsets[0] = 0, got ", b.offsets[0]));
  for (size_t i = 1; i < b.offsets.size(); ++i)
    if (b.offsets[i] < b.offsets[i - 1])
      throw Error(cat("objective.batch.offsets.", i), cat("expected non-decreasing offsets, got ", b.offsets[i],
                                                          " after ", b.offsets[i - 1]));
  const size_t N = size_t(b.n_tok()), B = size_t(b.n_seq());
  auto tok = [&](std::span<const float> s, const char* name) {
    if (!s.empty() && s.size() != N)
      throw Error(cat("objective.batch.", name), cat("expected ", N, " per-token values or none, got ", s.size()));
  };
  auto seq = [&](size_t n, const char* name) {
    if (n != 0 && n != B)
      throw Error(cat("objective.batch.", name), cat("expected ", B, " per-sequence values or none, got ", n));
  };
  if (b.mask.size() != N) throw Error("objective.batch.mask", cat("expected ", N, " values, got ", b.mask.size()));
  tok(b.logp, "logp");
  tok(b.old_logp, "old_logp");
  tok(b.ref_logp, "ref_logp");
  tok(b.entropy, "entropy");
  tok(b.values, "values");
  tok(b.old_values, "old_values");
  tok(b.advantages, "advantages");
  tok(b.returns, "returns");
  seq(b.reward.size(), "reward");
  seq(b.is_demo.size(), "is_demo");
  seq(b.label.size(), "label");
  if (!b.margin.empty() && b.margin.size() != B / 2)
    throw Error("objective.batch.margin", cat("expected ", B / 2, " per-pair values or none, got ", b.margin.size()));
}

namespace detail {

double log_sigmoid(double z) { return -(std::max(-z, 0.0) + std::log1p(std::exp(-std::abs(z)))); }
double sigmoid(double z) {
  if (z >= 0) return 1.0 / (1.0 + std::exp(-z));
  const double e = std::exp(z);
  return e / (1.0 + e);
}

double ratio(const Batch& b, int64_t t, double clamp, double* dlog) {
  const double x = b.old_logp.empty() ? 0.0 : double(b.logp[t]) - double(b.old_logp[t]);
  const double xc = std::min(std::max(x, -clamp), clamp);
  *dlog = (x >= -clamp && x <= clamp) ? 1.0 : 0.0;
  return std::exp(xc);
}

double masked_len(const Batch& b, int64_t s) {
  double n = 0;
  for (int64_t t = b.offsets[s]; t < b.offsets[s + 1]; ++t) n += b.mask[t];
  return n;
}
double seq_logp_sum(const Batch& b, int64_t s) {
  double v = 0;
  for (int64_t t = b.offsets[s]; t < b.offsets[s + 1]; ++t) v += double(b.mask[t]) * b.logp[t];
  return v;
}
double seq_ref_sum(const Batch& b, int64_t s) {
  double v = 0;
  for (int64_t t = b.offsets[s]; t < b.offsets[s + 1]; ++t) v += double(b.mask[t]) * b.ref_logp[t];
  return v;
}

// x = ℓ - ℓ_ref. verl kl_penalty: k3 clamps x to [-20, 20] and the value to [-10, 10]; the clamps
// also stop the gradient, as torch.clamp does outside its range.
double kl_value(KlType k, double x, double* dx) {
  switch (k) {
    case KlType::kK1: *dx = 1.0; return x;
    case KlType::kAbs: *dx = x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0); return std::abs(x);
    case KlType::kK2: *dx = x; return 0.5 * x * x;
    case KlType::kK1Plus: *dx = x; return x;  // value k1, gradient k2 (straight-through)
    case KlType::kK3:
    case KlType::kK3Plus: {
      const bool in = x >= -20.0 && x <= 20.0;
      const double xc = std::min(std::max(x, -20.0), 20.0);
      const double v = std::exp(-xc) - 1.0 + xc;
      const double vc = std::min(std::max(v, -10.0), 10.0);
      if (k == KlType::kK3Plus) {
        *dx = x;
      } else {
        *dx = (in && v <= 10.0) ? 1.0 - std::exp(-xc) : 0.0;
      }
      return vc;
    }
  }
  return 0;
}

}  // namespace detail
}  // namespace tandem::objective
