// CISPO: clip the importance weight, not the update, and keep it as a detached coefficient.
// Paper: MiniMax-M1, arXiv 2506.13585, Eq. 4 (J_CISPO).
//   rho = exp(clamp(logp - old_logp, ±log_ratio_clamp))
//   psi = -sg(clip(rho, 1 - clip_eps_low, 1 + clip_eps_high)) · A · logp,   c_t = clip(rho)·A (never zero)
// Reduction: token-mean (paper: 1/Σ|o_i|; TRL cispo: global active tokens).
// Defaults (presets.cpp): ε_low 1.0 (no lower bound, Trinity-RFT clip_range_low 1.0), ε_high 5.0 (TRL's
// recommended epsilon_high for cispo, the ScaleRL setting). Parity: verl core_algos.py cispo.
#include <cmath>

#include "objective/terms.h"

namespace tandem::objective::detail {

void cispo_tokens(const ObjectiveConfig& c, const Batch& b, const SeqSel& sel, TokenTerm& out, Stats& st) {
  double n = 0, clipped = 0;
  const double lo = 1.0 - c.clip_eps_low, hi = 1.0 + c.clip_eps_high;
  for (int64_t s = 0; s < b.n_seq(); ++s) {
    if (!sel[s]) continue;
    for (int64_t t = b.offsets[s]; t < b.offsets[s + 1]; ++t) {
      double dlog;
      const double rho = ratio(b, t, c.log_ratio_clamp, &dlog);
      const double w = std::min(std::max(rho, lo), hi);
      const double A = b.advantages[t];
      out.psi[t] = -w * A * b.logp[t];
      out.dlogp[t] = -w * A;
      n += b.mask[t];
      clipped += double(b.mask[t]) * (rho < lo || rho > hi);
    }
  }
  st["clip_frac"] = n > 0 ? clipped / n : 0.0;
}

}  // namespace tandem::objective::detail
