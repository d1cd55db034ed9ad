// LUFFY: mixed-policy GRPO, demonstrations inside the group with a shaped probability objective.
// Paper: Yan et al., arXiv 2504.14945, Eq. 6 (J_Mixed) with policy shaping f(x) = x/(x+γ) (§3.3).
//   demo tokens (is_demo):   psi = -A f(p),  p = exp(logp),      c_t = A γ p / (p + γ)²
//     (behaviour probability of the teacher taken as 1, no ratio clip: the fork's off_policy_reshape)
//   rollout tokens:          the PPO kernel (ppo.cpp), or -A rho when clip = false (`loss_remove_clip`)
// Both parts are summed token by token and aggregated together (one union group, one normaliser).
// Advantages over the union group come from advantage.h (group_mean: the script's grpo_use_std=False).
// Defaults (luffy preset): γ 0.1 (off_policy_reshape p_div_p_0.1), clip off, Σ/T_pad (loss_remove_token_mean),
// entropy 0.001 — all from the released train.sh. Known deviation: the paper's std-normalised advantage and
// token-mean are the `luffy_paper` choices a user can set in a mix; the preset follows the script.
#include <cmath>

#include "objective/terms.h"

namespace tandem::objective::detail {

void luffy_tokens(const ObjectiveConfig& c, const Batch& b, const SeqSel& sel, TokenTerm& out, Stats& st) {
  SeqSel on(sel.size(), 0);
  double n_off = 0, p_off = 0;
  for (int64_t s = 0; s < b.n_seq(); ++s) {
    if (!sel[s]) continue;
    if (!b.demo(s)) {
      on[s] = 1;
      continue;
    }
    for (int64_t t = b.offsets[s]; t < b.offsets[s + 1]; ++t) {
      const double p = std::exp(double(b.logp[t])), g = c.luffy_gamma, A = b.advantages[t];
      out.psi[t] = -A * p / (p + g);
      out.dlogp[t] = -A * g * p / ((p + g) * (p + g));
      n_off += b.mask[t];
      p_off += double(b.mask[t]) * p;
    }
  }
  policy_tokens(c, b, on, out, st);
  st["off_policy_prob"] = n_off > 0 ? p_off / n_off : 0.0;
}

}  // namespace tandem::objective::detail
