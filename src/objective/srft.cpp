// SRFT: single-stage SFT + RL with entropy-aware weights. Paper: Fu et al., arXiv 2506.19767, Eq. 5-9.
// No official code was found; this follows HPT's re-implementation (offline_loss_type="srft"), see
// algorithms.md §4 SRFT and §6 item 5 (sign/exponent of w_RL and the demo-RL ratio are [unverified]).
//   H_i   = masked mean of entropy over sequence i, detached
//   demo:     psi_t = -w_sft ℓ_t - A_t f(p_t),  w_sft = srft_sft_scale · exp(-H_i),  f(x) = x/(x+luffy_gamma)
//   rollout:  reward > 0: psi_t = -w_rl ℓ_t,  w_rl = srft_rl_scale · exp(+H_i);  reward <= 0: psi_t = +ℓ_t
// Reduction: the preset's Σ/T_pad (HPT), no clipping. Defaults 0.5 / 0.1 / γ 0.1 from the same source.
#include <cmath>

#include "objective/terms.h"

namespace tandem::objective::detail {

void srft_tokens(const ObjectiveConfig& c, const Batch& b, const SeqSel& sel, TokenTerm& out, Stats& st) {
  double wsft_sum = 0, wrl_sum = 0, ndemo = 0, npos = 0;
  for (int64_t s = 0; s < b.n_seq(); ++s) {
    if (!sel[s]) continue;
    double hs = 0;
    const double len = masked_len(b, s);
    for (int64_t t = b.offsets[s]; t < b.offsets[s + 1]; ++t) hs += double(b.mask[t]) * b.entropy[t];
    const double H = len > 0 ? hs / len : 0.0;
    if (b.demo(s)) {
      const double w = c.srft_sft_scale * std::exp(-H);
      wsft_sum += w;
      ndemo += 1;
      for (int64_t t = b.offsets[s]; t < b.offsets[s + 1]; ++t) {
        const double l = b.logp[t], p = std::exp(l), g = c.luffy_gamma, A = b.advantages[t];
        out.psi[t] = -w * l - A * p / (p + g);
        out.dlogp[t] = -w - A * g * p / ((p + g) * (p + g));
      }
    } else {
      const bool pos = b.reward[s] > 0;
      const double w = pos ? c.srft_rl_scale * std::exp(H) : -1.0;
      if (pos) {
        wrl_sum += w;
        npos += 1;
      }
      for (int64_t t = b.offsets[s]; t < b.offsets[s + 1]; ++t) {
        out.psi[t] = -w * b.logp[t];
        out.dlogp[t] = -w;
      }
    }
  }
  st["srft/w_sft"] = ndemo > 0 ? wsft_sum / ndemo : 0.0;
  st["srft/w_rl"] = npos > 0 ? wrl_sum / npos : 0.0;
}

}  // namespace tandem::objective::detail
