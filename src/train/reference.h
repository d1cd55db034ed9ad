// The frozen reference policy pi_ref of the DPO family (dpo, ipo, kto) and of KL-regularised online
// RL: which weights it is, and how its forwards run. A folder the user names
// (ref_model_name_or_path) is loaded on its own. Otherwise, when the run trains LoRA adapters (`lora:`
// or a continued `adapter_name_or_path`), the reference is the policy's own base with the adapters
// switched off (model::ForwardOptions::adapters = false): no second copy of the weights (design.md),
// and, as in TRL, a continued adapter is not part of the reference. Without LoRA it is a second,
// forward-only copy of the starting model (the policy's own weights move).
// Not here: what the trainers do with the reference's log-probs (pref_step.cpp, online_update.cpp).
#pragma once
#include <memory>
#include <string>

#include "model/decoder.h"
#include "train/train_config.h"

namespace tandem::train {

struct Reference {
  std::unique_ptr<model::Decoder> owned;  // a separately loaded model; null when the policy's base serves
  model::Decoder* model = nullptr;        // what reference forwards run on: owned, or the policy
};

// ref_dir: the user's reference folder ("" = the default above). With LoRA this attaches the run's
// adapters to policy first (attach_lora, as run_training would later), so the policy's forwards
// and the reference's differ from the start.
Reference make_reference(const TrainConfig& cfg, model::Decoder& policy, const std::string& ref_dir);

// The options of every reference forward: log-probs only, adapters skipped (a no-op on a model
// without them, so the same call serves both kinds of reference).
inline constexpr model::ForwardOptions kReferenceForward{.adapters = false};

}  // namespace tandem::train
