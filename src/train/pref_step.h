// One micro-batch of preference training: collate (pref_collate.h), reference log-prob sums from the
// frozen reference (reference.h; per batch, or cached per dataset index when precomputed), the
// policy forward, the objective (objective/objective.h: dpo, ipo, simpo, orpo, cpo, kto, rm), and
// its per-token gradient fed to the engine's backward. Gradients accumulate in the policy's grads()
// scaled by grad_scale, so k micro-batches with grad_scale 1/k average the k pair-means, as TRL does.
// Not here: the optimizer, schedules, data order, checkpoints (the training loop), reading files.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "data/example.h"
#include "model/decoder.h"
#include "objective/config.h"
#include "train/pref_collate.h"

namespace tandem::train {

struct PrefResult {
  double loss = 0;
  std::map<std::string, double> stats;  // TRL names: rewards/chosen, rewards/accuracies, logps/chosen, ...
  int64_t n_examples = 0;               // pairs (paired objectives) or examples (kto)
  int64_t n_tokens = 0;                 // real tokens through the policy forward
};

// Which objective family a config is: pairs of sequences or unpaired labelled sequences, with or
// without a reference model, on log-probs or on a scalar head.
bool objective_needs_ref(const objective::ObjectiveConfig& c);
bool objective_is_unpaired(const objective::ObjectiveConfig& c);   // kto
bool objective_is_reward_model(const objective::ObjectiveConfig& c);  // rm

class PreferenceStep {
 public:
  // policy: the model trained (a sequence-classification decoder for rm). ref: the frozen
  // reference (may be the policy itself, whose base it then runs: kReferenceForward), or null when
  // the objective needs none or every sum is cached.
  PreferenceStep(objective::ObjectiveConfig obj, CollateOptions opts, model::Decoder& policy, model::Decoder* ref);

  // Pairs (dpo, ipo, simpo, orpo, cpo, rm). ids[i] = dataset index of exs[i] (keys of the cache).
  // train: forward for backward and accumulate grad_scale * dL/dtheta; otherwise forward only.
  PrefResult run_pairs(std::span<const data::PreferenceExample> exs, std::span<const int64_t> ids, double grad_scale,
                       bool train);
  // kto: kl_completions[i] is the completion paired with exs[i].prompt for the KL baseline z0
  // (TRL: the completion of the previous example of the micro-batch).
  PrefResult run_unpaired(std::span<const data::UnpairedExample> exs, std::span<const std::vector<int32_t>* const> kl_completions,
                          std::span<const int64_t> ids, double grad_scale, bool train);

  // Fills the reference cache for these examples (precompute_ref_log_probs), using the ref model.
  void cache_pairs(std::span<const data::PreferenceExample> exs, std::span<const int64_t> ids);
  void cache_unpaired(std::span<const data::UnpairedExample> exs, std::span<const std::vector<int32_t>* const> kl_completions,
                      std::span<const int64_t> ids);
  // Drops the reference model once every sum the run needs is cached.
  void release_ref() { ref_ = nullptr; }
  size_t cached() const { return cache_.size(); }

  // Σ_t m_t log pi(o_t) per sequence under dec (completion tokens), in double.
  static std::vector<double> sequence_logp_sums(model::Decoder& dec, const PrefBatch& pb, const model::ForwardOptions& opt = {});

 private:
  std::array<double, 2> ref_pair(int64_t id) const;
  PrefResult finish(const PrefBatch& pb, std::span<const float> ref_logp, std::span<const float> label,
                    std::span<const float> margin, double kto_kl, double grad_scale, bool train, int64_t n_examples,
                    std::vector<double>* seq_logp = nullptr);  // out: Σ m logp per sequence

  objective::ObjectiveConfig obj_;
  CollateOptions opts_;
  model::Decoder& policy_;
  model::Decoder* ref_;
  // id -> (chosen, rejected) sums for pairs, (completion, KL completion) sums for kto.
  std::unordered_map<int64_t, std::array<double, 2>> cache_;
};

}  // namespace tandem::train
