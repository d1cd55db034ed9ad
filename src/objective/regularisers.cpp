// Regularisers in the loss (algorithms.md §2, placement B): the KL estimator term and the entropy bonus.
//   kl:       psi_t = k(x_t), x_t = logp_t - ref_logp_t;  k1 x, k2 ½x², k3 e^{-x} - 1 + x (x clamped ±20,
//             value clamped ±10, verl low_var_kl), abs |x|, k1+/k3+ value of k1/k3 with the k2 gradient.
//             Weight = kl_loss_coef (verl 0.001; GRPO paper 0.04 [unverified]; TRL beta 0.0).
//   entropy:  psi_t = -H_t, d/dH = -1; weight = entropy_coeff (verl 0; LUFFY/ReLIFT/HPT/SRFT scripts 0.001).
// Both use the same aggregation as the policy term unless the TermSpec overrides it (verl does the same).
// KL in the reward (placement A) is advantage.cpp's job, not a loss term.
#include "objective/terms.h"

namespace tandem::objective::detail {

void kl_tokens(const ObjectiveConfig& c, const Batch& b, const SeqSel& sel, TokenTerm& out, Stats& st) {
  double n = 0, kl = 0;
  for (int64_t s = 0; s < b.n_seq(); ++s) {
    if (!sel[s]) continue;
    for (int64_t t = b.offsets[s]; t < b.offsets[s + 1]; ++t) {
      double dx;
      out.psi[t] = kl_value(c.kl_type, double(b.logp[t]) - double(b.ref_logp[t]), &dx);
      out.dlogp[t] = dx;
      n += b.mask[t];
      kl += double(b.mask[t]) * out.psi[t];
    }
  }
  st["kl"] = n > 0 ? kl / n : 0.0;
}

void entropy_tokens(const Batch& b, const SeqSel& sel, TokenTerm& out, Stats& st) {
  double n = 0, h = 0;
  for (int64_t s = 0; s < b.n_seq(); ++s) {
    if (!sel[s]) continue;
    for (int64_t t = b.offsets[s]; t < b.offsets[s + 1]; ++t) {
      out.psi[t] = -double(b.entropy[t]);
      out.dentropy[t] = -1.0;
      n += b.mask[t];
      h += double(b.mask[t]) * b.entropy[t];
    }
  }
  st["entropy"] = n > 0 ? h / n : 0.0;
}

}  // namespace tandem::objective::detail
