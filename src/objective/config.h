// Configuration of the unified estimator: which terms, their weights, the normaliser, the advantage
// estimator and every hyper-parameter, as plain structs with defaults plus validate() (style.md E7),
// and the JSON form a user writes (`objective: {terms: [...], loss_agg_mode: ...}`).
// Deliberately not here: the numbers each algorithm uses (presets.cpp) and any arithmetic.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "core/json.h"

namespace tandem::objective {

// algorithms.md §1, with the term's selected sequences (TermSpec::subset) as the batch:
//   token-mean               Σ m ψ / Σ m            (Batch::global_tokens replaces Σ m when set)
//   token-sum                Σ m ψ
//   seq-mean-token-sum       (1/B') Σ_i Σ_t m ψ      B' = sequences with a valid token (or Batch::global_seqs)
//   seq-mean-token-mean      (1/B') Σ_i (Σ_t m ψ / |o_i|)
//   seq-mean-token-sum-norm  (1/B') Σ_i Σ_t m ψ / L_norm   as algorithms.md writes it (= TRL dr_grpo up to B vs B')
//   token-sum-norm           Σ m ψ / L_norm          LUFFY/ReLIFT/HPT `loss_remove_token_mean`. NB: verl's own
//                            `seq-mean-token-sum-norm` code is this one (torch.sum(seq_losses) / loss_scale_factor,
//                            no 1/B); algorithms.md §1's 1/B' follows TRL. Pick token-sum-norm to match verl exactly.
// L_norm = ObjectiveConfig::agg_norm, else Batch::pad_width, else the longest sequence of the micro-batch.
enum class AggMode { kTokenMean, kTokenSum, kSeqMeanTokenSum, kSeqMeanTokenMean, kSeqMeanTokenSumNorm, kTokenSumNorm };

enum class TermType {
  kSft,        // -ℓ                                   (sft, rft, relift/hpt sft phase)
  kDft,        // -sg(p) ℓ                             (dft; chord `sft_is`)
  kChordPhi,   // -sg(p(1-p)) ℓ                        (chord-phi)
  kPolicy,     // PPO clip, asymmetric + dual clip     (ppo, grpo, dr_grpo, dapo, rloo, reinforce_pp, remax)
  kCispo,      // -sg(clip(ρ)) A ℓ
  kGspo,       // sequence-ratio clip (token form)
  kReinforce,  // -A ℓ                                 (REINFORCE, no ratio)
  kLuffy,      // on-policy ratio term + shaped off-policy demo term over one union group
  kSrft,       // SRFT: entropy-weighted demo NLL + shaped demo RL + ±1 self RL
  kValue,      // clipped value loss on `values`
  kKl,         // k(ℓ, ℓ_ref) in the loss
  kEntropy,    // -H (bonus: weight = entropy_coeff)
  kDpo,        // sigmoid / hinge / ipo on pairs
  kSimpo,
  kOrpo,
  kKto,
  kCpo,
  kRm,         // Bradley–Terry on the reward head at each sequence's last valid token
};
enum class Subset { kAll, kDemo, kRollout };  // which sequences a term reads (Batch::is_demo)

enum class AdvantageType { kNone, kGrpo, kGroupMean, kRloo, kReinforcePP, kReinforcePPBaseline, kRemax, kGae };
enum class KlType { kK1, kK2, kK3, kAbs, kK1Plus, kK3Plus };  // verl kl / mse / low_var_kl / abs / k1+ / k3+
enum class DpoLoss { kSigmoid, kHinge, kIpo };

struct TermSpec {
  TermType type = TermType::kSft;
  double weight = 1.0;
  Subset subset = Subset::kAll;
  std::optional<AggMode> agg;  // overrides ObjectiveConfig::agg for this term (CHORD/ReLIFT: per-part token-mean)
  // Scheduled weight: CHORD's mu (kMu) or 1-mu (kOneMinusMu) multiplies `weight`.
  enum class Schedule { kNone, kMu, kOneMinusMu } schedule = Schedule::kNone;
};

struct AdvantageConfig {
  AdvantageType type = AdvantageType::kNone;
  double eps = 1e-6;               // GRPO std epsilon (verl 1e-6; TRL uses 1e-4)
  double gamma = 1.0;              // discount (verl 1.0)
  double lam = 1.0;                // GAE lambda (verl 1.0; TRL 0.95)
  bool whiten = true;              // GAE: whiten advantages over valid tokens (verl and TRL both do)
  // KL placed in the reward (algorithms.md §2 placement A), from old_logp vs ref_logp, detached.
  double kl_in_reward_coef = 0.0;  // 0 = off
  KlType kl_in_reward_type = KlType::kK1;
  void validate(const std::string& where) const;
};

struct ObjectiveConfig {
  std::string name = "custom";
  std::vector<TermSpec> terms;
  AggMode agg = AggMode::kTokenMean;
  double agg_norm = 0;             // L_norm for *-norm modes; 0 = Batch::pad_width (verl loss_scale_factor unset)
  AdvantageConfig advantage;
  // PPO-style clip (verl actor defaults).
  double clip_eps_low = 0.2, clip_eps_high = 0.2;
  double clip_c = 3.0;             // dual clip C (> 1 = on; verl clip_ratio_c 3.0; 0 = off)
  bool clip = true;                // false = `loss_remove_clip` (LUFFY/ReLIFT/HPT scripts): ψ = -ρA
  double log_ratio_clamp = 20.0;   // verl clamps log ρ to ±20 before exp
  double gspo_log_ratio_max = 10.0;  // verl clamps log s_{i,t} <= 10
  // Value loss.
  double value_clip = 0.5;         // ε_v (verl critic 0.5; TRL 0.2); <= 0 = no clipping
  // KL in the loss.
  KlType kl_type = KlType::kK3;    // verl kl_loss_type low_var_kl
  // Preference terms.
  double beta = 0.1;               // TRL DPO/KTO/CPO/ORPO(λ) default; SimPO repo 2.5
  double label_smoothing = 0.0;    // cDPO / CPO
  DpoLoss dpo_loss = DpoLoss::kSigmoid;
  double simpo_gamma = 0.5;        // TRL CPOConfig simpo_gamma (absolute γ)
  double cpo_alpha = 1.0;          // TRL cpo_alpha: NLL(chosen) weight in CPO
  double kto_desirable_weight = 1.0, kto_undesirable_weight = 1.0;  // TRL KTOConfig
  double rm_center_coef = 0.0;     // TRL center_rewards_coefficient (None = 0)
  // Off-policy shaping (LUFFY f(x) = x/(x+γ)) and SRFT weights.
  double luffy_gamma = 0.1;        // LUFFY off_policy_reshape p_div_p_0.1
  double srft_sft_scale = 0.5, srft_rl_scale = 0.1;  // w_SFT = 0.5 e^{-H}, w_RL = 0.1 e^{+H}
  // CHORD mu schedule (Trinity-RFT mix_chord code defaults).
  double mu_peak = 0.1, mu_valley = 0.1;
  int64_t mu_warmup_steps = 0, mu_decay_steps = 0;
  // Loop-level facts the trainer reads; the estimator never uses them (relift interleaving, hpt gate, ...).
  Json loop = Json::object();
  std::string source;              // where the numbers come from

  void validate() const;           // throws Error("objective.<key>")
};

// Parses the user form. Keys mirror the fields; "preset" picks the base, "terms" replaces its terms.
// where is the dotted prefix ("objective"), origin the file. Unknown keys are errors.
ObjectiveConfig objective_from_json(const Json& j, const std::string& where = "objective",
                                    const std::string& origin = "config");

const char* term_name(TermType t);
const char* agg_name(AggMode m);
const char* advantage_name(AdvantageType a);
const char* kl_name(KlType k);
AggMode parse_agg(const std::string& s, const std::string& where);
KlType parse_kl(const std::string& s, const std::string& where);
AdvantageType parse_advantage(const std::string& s, const std::string& where);

// The resolved config in the same JSON form (all fields, terms explicit): printed at startup, stored in
// checkpoints, and what tests hand to the PyTorch reference. objective_from_json(objective_to_json(c)) == c.
Json objective_to_json(const ObjectiveConfig& c);

// CHORD's mu at a step: linear warm-up 0 → peak, cosine peak → valley, then valley.
double chord_mu(const ObjectiveConfig& c, int64_t step);

}  // namespace tandem::objective
