// Advantage estimators as pure functions (algorithms.md §2 placement A, §3 group advantages, §4 PPO,
// REINFORCE++, ReMax). The trainer calls compute_advantages once per rollout batch — group and batch
// statistics need every sequence — and then splits the batch into mini-batches for compute().
// Deliberately not here: rewards themselves (reward layer) and dynamic-sampling filters (trainer).
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "objective/config.h"

namespace tandem::objective {

struct AdvantageInput {
  std::span<const int64_t> offsets;    // [B+1] as Batch
  std::span<const float> mask;         // [N]
  std::span<const float> reward;       // [B] outcome reward R_i, placed at the sequence's last valid token
  std::span<const int64_t> group;      // [B] prompt id; < 0 = in no group (advantage 0); group estimators only
  std::span<const float> old_logp;     // [N] for KL in the reward
  std::span<const float> ref_logp;     // [N] for KL in the reward
  std::span<const float> values;       // [N] critic at rollout time (GAE)
  std::span<const float> baseline;     // [B] ReMax: reward of the greedy decode for the same prompt
};

struct Advantages {
  std::vector<float> advantages;  // [N], 0 on masked tokens
  std::vector<float> returns;     // [N] value targets (GAE: A + V before whitening; others: the advantages)
};

// Dispatches on cfg.type; Error("objective.advantage.<field>") when an input it needs is missing.
Advantages compute_advantages(const AdvantageConfig& cfg, const AdvantageInput& in);

// The pieces, for tests and for trainers that want one directly. All double in, double out.
// Per-sequence group advantages: GRPO (norm_std: (R - mean)/(std + eps), torch's unbiased std; a group of
// one has mean 0, std 1, as verl) or Dr.GRPO (R - mean).
std::vector<double> group_advantages(std::span<const double> R, std::span<const int64_t> group, bool norm_std,
                                     double eps);
// RLOO as verl compute_rloo_vectorized_outcome_advantage: G/(G-1)(R - mean) for G > 1, else 0. (verl's loop
// form compute_rloo_outcome_advantage leaves A = R for a group of one; algorithms.md names the vectorised one.)
std::vector<double> rloo_advantages(std::span<const double> R, std::span<const int64_t> group);
// verl masked_whiten: (x - mean)/sqrt(var + 1e-8) over mask, unbiased var (Bessel when Σm > 1).
std::vector<double> masked_whiten(std::span<const double> x, std::span<const float> mask);

}  // namespace tandem::objective
