// The preference trainers (`tandem dpo|ipo|simpo|orpo|kto|cpo|rm`) as an Algorithm of the shared
// training loop (train/trainer.h): the data order, micro-batches through PreferenceStep, the
// reference (reference.h: a frozen model, the policy's base under LoRA, or precomputed sums), evaluation on the
// held-out split with TRL's metric names prefixed eval_, and the data position for exact resume.
// Not here: the optimizer, checkpoints, logging (the loop), the loss (objective/), files (data/).
#pragma once
#include <functional>
#include <memory>
#include <optional>

#include "train/pref_config.h"
#include "train/pref_step.h"
#include "train/reference.h"
#include "train/trainer.h"

namespace tandem::train {

// One split of preference data, by example index: pairs for every algorithm but kto, unpaired
// examples for kto (the other function is unused); nullopt = an example the data layer dropped
// (truncation: drop, skip_bad_lines). plan(epoch) is the order of one training epoch.
struct PrefSplit {
  size_t size = 0;
  std::function<std::vector<uint32_t>(int64_t epoch)> plan;
  std::function<std::optional<data::PreferenceExample>(size_t)> pair;
  std::function<std::optional<data::UnpairedExample>(size_t)> unpaired;
};

// The train and eval splits of cfg.data (data/dataset.h), rendered with the model folder's
// tokenizer and chat template; the train order is the dataset's seeded epoch plan.
struct PrefSplits {
  PrefSplit train, eval;
};
PrefSplits load_preference_splits(const TrainConfig& cfg, bool unpaired);

struct PrefTrainConfig : TrainConfig {
  PreferenceKeys pref;
  explicit PrefTrainConfig(const std::string& algorithm) : pref(PreferenceKeys::for_algorithm(algorithm)) {}
  template <class V> void for_each_field(V&& v) {
    TrainConfig::for_each_field(v);
    pref.for_each_field(v);
  }
};

class PreferenceAlgorithm : public Algorithm {
 public:
  // ref: the frozen reference (make_reference; empty when the objective needs none). With
  // precompute_ref_log_probs the sums of both splits are computed here and a loaded ref is released.
  PreferenceAlgorithm(const PrefTrainConfig& cfg, model::Decoder& policy, Reference ref, PrefSplit train, PrefSplit eval);

  std::string name() const override { return cfg_.pref.algorithm; }
  int64_t steps_per_epoch() const override;
  StepResult compute_gradients(int64_t step) override;
  Json evaluate() override;
  bool has_eval() const override { return eval_.size > 0; }
  double epoch() const override;
  Json state() const override;
  void restore(const Json& state) override;

  // kto's mismatched completion for example i (TRL: within consecutive chunks of the dataset of
  // per_device_train_batch_size examples, example k takes the completion of example k-1, the first
  // that of the last). Eval example ids are offset by the train size in the cache.
  static size_t kl_partner(size_t i, size_t n, size_t chunk);

 private:
  // Examples of one batch as loaded (dropped ones left out), with their cache ids.
  struct Loaded {
    std::vector<int64_t> ids;
    std::vector<data::PreferenceExample> pairs;
    std::vector<data::UnpairedExample> unpaired;
    std::vector<std::vector<int32_t>> partners;  // kto: the mismatched completion of each example
  };
  void add_example(const PrefSplit& split, size_t i, int64_t id_offset, Loaded& out) const;
  PrefResult run_loaded(const Loaded& l, double grad_scale, bool train);
  void precompute(const PrefSplit& split, int64_t id_offset);
  size_t next_index();

  PrefTrainConfig cfg_;
  objective::ObjectiveConfig obj_;
  Reference ref_;
  PrefSplit train_, eval_;
  std::unique_ptr<PreferenceStep> step_;
  int64_t epoch_ = 0, position_ = 0;
  std::vector<uint32_t> order_;
};

}  // namespace tandem::train
