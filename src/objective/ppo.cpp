// PPO clipped surrogate (asymmetric + dual clip), plain REINFORCE, and the clipped value loss.
// Paper: Schulman et al. 2017, arXiv 1707.06347, Eq. 7 (clip); dual clip: Ye et al. 2020, arXiv 1912.09729.
// Used by the ppo, grpo, dr_grpo, dapo, rloo, reinforce_pp, reinforce_pp_baseline, remax, chord, relift,
// uft and hpt presets: they differ only in advantages, normaliser and ε (presets.cpp), never in this math.
//   x_t = clamp(logp - old_logp, ±log_ratio_clamp),  rho = exp(x_t)
//   pg1 = -A rho,  pg2 = -A clip(rho, 1 - clip_eps_low, 1 + clip_eps_high),  psi = max(pg1, pg2)
//   if A < 0 and clip_c > 1:  psi = min(psi, -A clip_c)                           (verl clip_ratio_c)
//   clip = false (`loss_remove_clip`):  psi = -A rho
//   dpsi/dlogp = -A rho on the branch taken when rho is inside the clip range, 0 on a clipped branch
//   (ties split half/half, as torch.maximum does).
// REINFORCE: psi = -A logp, c_t = A (RLOO paper form; GPG).
// Value loss (verl compute_value_loss): vc = old_values + clip(values - old_values, ±value_clip)
//   psi = ½ max((values - returns)², (vc - returns)²)
// Reduction: the term's aggregation mode (verl default token-mean). Defaults: ε 0.2/0.2, C = 3, clamp 20
// (verl actor config); ε_v 0.5 (verl critic cliprange_value). Parity: verl core_algos.py compute_policy_loss
// (vanilla), compute_value_loss. Known deviation: none.
#include <cmath>

#include "objective/terms.h"

namespace tandem::objective::detail {

namespace {
// d/dv of max(a, b) given da, db, with torch's tie rule.
double dmax(double a, double b, double da, double db) { return a > b ? da : (b > a ? db : 0.5 * (da + db)); }
}  // namespace

void policy_tokens(const ObjectiveConfig& c, const Batch& b, const SeqSel& sel, TokenTerm& out, Stats& st) {
  double n = 0, clipped = 0, dual = 0, kl = 0;
  const double lo = 1.0 - c.clip_eps_low, hi = 1.0 + c.clip_eps_high;
  for (int64_t s = 0; s < b.n_seq(); ++s) {
    if (!sel[s]) continue;
    for (int64_t t = b.offsets[s]; t < b.offsets[s + 1]; ++t) {
      double dlog;
      const double rho = ratio(b, t, c.log_ratio_clamp, &dlog);
      const double A = b.advantages[t];
      const double m = b.mask[t];
      n += m;
      kl += m * (b.old_logp.empty() ? 0.0 : double(b.old_logp[t]) - b.logp[t]);
      const double pg1 = -A * rho, d1 = -A * rho * dlog;
      if (!c.clip) {
        out.psi[t] = pg1;
        out.dlogp[t] = d1;
        continue;
      }
      const double rc = std::min(std::max(rho, lo), hi);
      const double pg2 = -A * rc, d2 = (rho >= lo && rho <= hi) ? d1 : 0.0;
      double psi = std::max(pg1, pg2), d = dmax(pg1, pg2, d1, d2);
      clipped += m * (pg2 > pg1);
      if (A < 0 && c.clip_c > 1.0) {
        const double pg3 = -A * c.clip_c;
        dual += m * (psi > pg3);
        d = dmax(-psi, -pg3, d, 0.0);  // min(psi, pg3) = -max(-psi, -pg3)
        psi = std::min(psi, pg3);
      }
      out.psi[t] = psi;
      out.dlogp[t] = d;
    }
  }
  st["clip_frac"] = n > 0 ? clipped / n : 0.0;
  st["clip_frac_lower"] = n > 0 ? dual / n : 0.0;
  st["ppo_kl"] = n > 0 ? kl / n : 0.0;
}

void reinforce_tokens(const Batch& b, const SeqSel& sel, TokenTerm& out, Stats& st) {
  for (int64_t s = 0; s < b.n_seq(); ++s) {
    if (!sel[s]) continue;
    for (int64_t t = b.offsets[s]; t < b.offsets[s + 1]; ++t) {
      out.psi[t] = -double(b.advantages[t]) * b.logp[t];
      out.dlogp[t] = -double(b.advantages[t]);
    }
  }
}

void value_tokens(const ObjectiveConfig& c, const Batch& b, const SeqSel& sel, TokenTerm& out, Stats& st) {
  double n = 0, clipped = 0, err = 0;
  for (int64_t s = 0; s < b.n_seq(); ++s) {
    if (!sel[s]) continue;
    for (int64_t t = b.offsets[s]; t < b.offsets[s + 1]; ++t) {
      const double v = b.values[t], R = b.returns[t], m = b.mask[t];
      const double e1 = v - R, l1 = 0.5 * e1 * e1;
      n += m;
      err += m * e1 * e1;
      if (c.value_clip <= 0) {
        out.psi[t] = l1;
        out.dvalue[t] = e1;
        continue;
      }
      const double vo = b.old_values[t], eps = c.value_clip;
      const double dv = v - vo, in = (dv >= -eps && dv <= eps) ? 1.0 : 0.0;
      const double vc = vo + std::min(std::max(dv, -eps), eps);
      const double e2 = vc - R, l2 = 0.5 * e2 * e2;
      out.psi[t] = std::max(l1, l2);
      out.dvalue[t] = dmax(l1, l2, e1, e2 * in);
      clipped += m * (l2 > l1);
    }
  }
  st["vf_clipfrac"] = n > 0 ? clipped / n : 0.0;
  st["vf_mse"] = n > 0 ? err / n : 0.0;
}

}  // namespace tandem::objective::detail
