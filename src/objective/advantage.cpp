// Advantage estimators (see advantage.h). Each formula is verl core_algos.py's, named per function:
//   grpo / group_mean  compute_grpo_outcome_advantage (norm_adv_by_std_in_grpo true / false), eps 1e-6
//   rloo               compute_rloo_outcome_advantage
//   reinforce_pp       compute_reinforce_plus_plus_outcome_advantage: G_t = r̃_t + γ G_{t+1} per sequence, whiten
//   reinforce_pp_baseline  ..._baseline_outcome_advantage: R - mean_g, broadcast, whiten over the batch
//   remax              compute_remax_outcome_advantage: Σ_{s>=t} r̃_s - baseline
//   gae                compute_gae_advantage_return: δ_t = r̃_t + γV_{t+1} - V_t, A_t = δ_t + γλA_{t+1},
//                      masked tokens carry the recursion unchanged; returns = A + V; whiten A
// KL in the reward (kl_in_reward_coef > 0) uses k(old_logp - ref_logp), detached: outcome estimators
// subtract β Σ_t m_t k_t from R_i (TRL legacy RLOO's sequence-level KL), token estimators add -β k_t to r̃_t.
#include "objective/advantage.h"

#include <cmath>
#include <map>

#include "core/error.h"
#include "objective/terms.h"

namespace tandem::objective {

namespace {

struct GroupStats {
  double sum = 0, sq = 0, n = 0;
};
std::map<int64_t, GroupStats> group_stats(std::span<const double> R, std::span<const int64_t> group) {
  std::map<int64_t, GroupStats> g;
  for (size_t i = 0; i < R.size(); ++i) {
    if (group[i] < 0) continue;
    auto& s = g[group[i]];
    s.sum += R[i];
    s.n += 1;
  }
  for (size_t i = 0; i < R.size(); ++i) {
    if (group[i] < 0) continue;
    auto& s = g[group[i]];
    const double d = R[i] - s.sum / s.n;
    s.sq += d * d;
  }
  return g;
}

}  // namespace

std::vector<double> group_advantages(std::span<const double> R, std::span<const int64_t> group, bool norm_std,
                                     double eps) {
  auto g = group_stats(R, group);
  std::vector<double> A(R.size(), 0.0);
  for (size_t i = 0; i < R.size(); ++i) {
    if (group[i] < 0) continue;
    const GroupStats& s = g[group[i]];
    const double mean = s.n > 1 ? s.sum / s.n : 0.0;
    const double std = s.n > 1 ? std::sqrt(s.sq / (s.n - 1)) : 1.0;
    A[i] = norm_std ? (R[i] - mean) / (std + eps) : R[i] - mean;
  }
  return A;
}

std::vector<double> rloo_advantages(std::span<const double> R, std::span<const int64_t> group) {
  auto g = group_stats(R, group);
  std::vector<double> A(R.size(), 0.0);
  for (size_t i = 0; i < R.size(); ++i) {
    if (group[i] < 0) continue;
    const GroupStats& s = g[group[i]];
    if (s.n > 1) A[i] = s.n / (s.n - 1) * (R[i] - s.sum / s.n);
  }
  return A;
}

std::vector<double> masked_whiten(std::span<const double> x, std::span<const float> mask) {
  double n = 0, sum = 0;
  for (size_t t = 0; t < x.size(); ++t) {
    n += mask[t];
    sum += mask[t] * x[t];
  }
  std::vector<double> out(x.size(), 0.0);
  if (n == 0) return out;
  const double mean = sum / n;
  double var = 0;
  for (size_t t = 0; t < x.size(); ++t) var += mask[t] * (x[t] - mean) * (x[t] - mean);
  var /= n;
  if (n > 1) var *= n / (n - 1);
  const double inv = 1.0 / std::sqrt(var + 1e-8);
  for (size_t t = 0; t < x.size(); ++t) out[t] = (x[t] - mean) * inv;
  return out;
}

Advantages compute_advantages(const AdvantageConfig& cfg, const AdvantageInput& in) {
  if (in.offsets.empty()) throw Error("objective.advantage.offsets", "expected B+1 offsets, got none");
  const int64_t B = int64_t(in.offsets.size()) - 1, N = in.offsets.back();
  auto need = [&](size_t got, size_t want, const char* name) {
    if (got != want)
      throw Error(cat("objective.advantage.", name),
                  cat("estimator '", advantage_name(cfg.type), "' needs ", want, " values, got ", got));
  };
  need(in.mask.size(), size_t(N), "mask");
  Advantages out;
  out.advantages.assign(size_t(N), 0.f);
  out.returns.assign(size_t(N), 0.f);
  if (cfg.type == AdvantageType::kNone) return out;
  need(in.reward.size(), size_t(B), "reward");

  // Detached KL per token, k(old - ref).
  std::vector<double> k(size_t(N), 0.0);
  if (cfg.kl_in_reward_coef > 0) {
    need(in.old_logp.size(), size_t(N), "old_logp");
    need(in.ref_logp.size(), size_t(N), "ref_logp");
    for (int64_t t = 0; t < N; ++t) {
      double dx;
      k[t] = in.mask[t] * detail::kl_value(cfg.kl_in_reward_type, double(in.old_logp[t]) - in.ref_logp[t], &dx);
    }
  }
  const double beta = cfg.kl_in_reward_coef;
  std::vector<double> A(size_t(N), 0.0), ret(size_t(N), 0.0);
  const bool outcome = cfg.type == AdvantageType::kGrpo || cfg.type == AdvantageType::kGroupMean ||
                       cfg.type == AdvantageType::kRloo || cfg.type == AdvantageType::kReinforcePPBaseline;
  if (outcome) {
    need(in.group.size(), size_t(B), "group");
    std::vector<double> R(static_cast<size_t>(B), 0.0);
    for (int64_t s = 0; s < B; ++s) {
      R[s] = in.reward[s];
      for (int64_t t = in.offsets[s]; t < in.offsets[s + 1]; ++t) R[s] -= beta * k[t];
    }
    std::vector<double> a;
    if (cfg.type == AdvantageType::kRloo) a = rloo_advantages(R, in.group);
    else a = group_advantages(R, in.group, cfg.type == AdvantageType::kGrpo, cfg.eps);
    for (int64_t s = 0; s < B; ++s)
      for (int64_t t = in.offsets[s]; t < in.offsets[s + 1]; ++t) A[t] = a[s] * in.mask[t];
    if (cfg.type == AdvantageType::kReinforcePPBaseline) A = masked_whiten(A, in.mask);
    ret = A;
  } else {
    // Token rewards r̃_t = -β k_t + 1[t = last valid] R.
    std::vector<double> r(size_t(N), 0.0);
    for (int64_t s = 0; s < B; ++s) {
      for (int64_t t = in.offsets[s]; t < in.offsets[s + 1]; ++t) r[t] = -beta * k[t];
      for (int64_t t = in.offsets[s + 1] - 1; t >= in.offsets[s]; --t)
        if (in.mask[t] > 0) {
          r[t] += in.reward[s];
          break;
        }
    }
    if (cfg.type == AdvantageType::kGae) need(in.values.size(), size_t(N), "values");
    if (cfg.type == AdvantageType::kRemax) need(in.baseline.size(), size_t(B), "baseline");
    for (int64_t s = 0; s < B; ++s) {
      double run = 0, next_v = 0, last = 0;
      for (int64_t t = in.offsets[s + 1] - 1; t >= in.offsets[s]; --t) {
        const double m = in.mask[t];
        switch (cfg.type) {
          case AdvantageType::kReinforcePP:
            run = r[t] + cfg.gamma * run;
            A[t] = run;
            run *= m;
            break;
          case AdvantageType::kRemax:
            run += r[t] * m;
            A[t] = run - in.baseline[s] * m;
            break;
          case AdvantageType::kGae: {
            const double v = in.values[t];
            const double delta = r[t] + cfg.gamma * next_v - v;
            const double lg = delta + cfg.gamma * cfg.lam * last;
            next_v = v * m + (1 - m) * next_v;
            last = lg * m + (1 - m) * last;
            A[t] = last;
            ret[t] = last + v;
            break;
          }
          default: TD_ASSERT(false, "unhandled estimator");
        }
      }
    }
    if (cfg.type != AdvantageType::kGae) ret = A;
    if (cfg.type == AdvantageType::kReinforcePP || (cfg.type == AdvantageType::kGae && cfg.whiten))
      A = masked_whiten(A, in.mask);
  }
  for (int64_t t = 0; t < N; ++t) {
    out.advantages[t] = float(A[t] * in.mask[t]);
    out.returns[t] = float(ret[t] * in.mask[t]);
  }
  return out;
}

}  // namespace tandem::objective
