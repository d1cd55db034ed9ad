// GSPO: sequence-level importance ratio and sequence-level clipping.
// Paper: Zheng et al., arXiv 2507.18071, Eq. 5-7. Token form as in verl compute_policy_loss_gspo / TRL
// importance_sampling_level="sequence":
//   log s_i   = (1/|o_i|) Σ_t m_t (logp_t - old_logp_t)                      (|o_i| clamped to >= 1)
//   log s_i,t = sg(log s_i) + logp_t - sg(logp_t), clamped <= gspo_log_ratio_max (10)
//   psi_t = max(-A s_i,t, -A clip(s_i,t, 1 - clip_eps_low, 1 + clip_eps_high)),  c_t = A s_i 1[s_i unclipped]
// Under seq-mean-token-mean (which verl forces for GSPO, and the gspo preset sets) and a per-sequence A this
// is exactly the paper's sequence objective. Here the configured mode is honoured instead of forced.
// Defaults: ε_low 3e-4, ε_high 4e-4 (paper via TRL docs; algorithms.md marks them [unverified]).
#include <cmath>

#include "objective/terms.h"

namespace tandem::objective::detail {

void gspo_tokens(const ObjectiveConfig& c, const Batch& b, const SeqSel& sel, TokenTerm& out, Stats& st) {
  double ntok = 0, clipped = 0;
  const double lo = 1.0 - c.clip_eps_low, hi = 1.0 + c.clip_eps_high;
  for (int64_t s = 0; s < b.n_seq(); ++s) {
    if (!sel[s]) continue;
    double sum = 0;
    for (int64_t t = b.offsets[s]; t < b.offsets[s + 1]; ++t)
      sum += double(b.mask[t]) * (double(b.logp[t]) - (b.old_logp.empty() ? double(b.logp[t]) : double(b.old_logp[t])));
    const double len = masked_len(b, s);
    const double log_s = sum / std::max(len, 1.0);
    const bool passes = log_s <= c.gspo_log_ratio_max;
    const double si = std::exp(std::min(log_s, c.gspo_log_ratio_max));
    const bool in = si >= lo && si <= hi;
    ntok += len;
    for (int64_t t = b.offsets[s]; t < b.offsets[s + 1]; ++t) {
      const double A = b.advantages[t];
      const double pg1 = -A * si, pg2 = -A * std::min(std::max(si, lo), hi);
      const double d1 = passes ? -A * si : 0.0, d2 = in ? d1 : 0.0;
      out.psi[t] = std::max(pg1, pg2);
      clipped += double(b.mask[t]) * (pg2 > pg1);  // per token, as verl reports GSPO's pg_clipfrac
      out.dlogp[t] = pg1 > pg2 ? d1 : (pg2 > pg1 ? d2 : 0.5 * (d1 + d2));
    }
  }
  st["clip_frac"] = ntok > 0 ? clipped / ntok : 0.0;
}

}  // namespace tandem::objective::detail
