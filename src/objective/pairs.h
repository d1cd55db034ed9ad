// Internal helpers for the pairwise preference kernels: a sequence's (summed or length-averaged)
// log-prob and the broadcast of a sequence-level derivative back onto its tokens.
#pragma once
#include <algorithm>

#include "core/error.h"
#include "objective/terms.h"

namespace tandem::objective::detail {

// ℓ(y) or ℓ̄(y) = ℓ(y)/|y|; an empty completion averages to 0 (|y| clamped to 1, as verl clamps lengths).
inline double seq_logp(const Batch& b, int64_t s, bool avg) {
  const double v = seq_logp_sum(b, s);
  return avg ? v / std::max(masked_len(b, s), 1.0) : v;
}
inline double seq_ref(const Batch& b, int64_t s, bool avg) {
  const double v = seq_ref_sum(b, s);
  return avg ? v / std::max(masked_len(b, s), 1.0) : v;
}
// dlogp_t += g · m_t (· 1/|y| when averaged): the chain rule through ℓ(y) or ℓ̄(y).
inline void seq_backward(const Batch& b, int64_t s, bool avg, double g, std::vector<double>& dlogp) {
  const double scale = avg ? g / std::max(masked_len(b, s), 1.0) : g;
  for (int64_t t = b.offsets[s]; t < b.offsets[s + 1]; ++t) dlogp[t] += scale * double(b.mask[t]);
}
// Token-mean NLL over every chosen (even-indexed) sequence, as TRL's CPO/ORPO nll_loss; adds weight·grad.
inline double chosen_nll(const Batch& b, double weight, std::vector<double>& dlogp) {
  double n = 0, nll = 0;
  for (int64_t s = 0; s < b.n_seq(); s += 2) {
    n += masked_len(b, s);
    nll -= seq_logp_sum(b, s);
  }
  if (n == 0) return 0.0;
  for (int64_t s = 0; s < b.n_seq(); s += 2) seq_backward(b, s, false, -weight / n, dlogp);
  return nll / n;
}

}  // namespace tandem::objective::detail
