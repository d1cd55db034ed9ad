#include "train/reference.h"

#include "core/log.h"
#include "train/trainer.h"

namespace tandem::train {

Reference make_reference(const TrainConfig& cfg, model::Decoder& policy, const std::string& ref_dir) {
  Reference r;
  attach_lora(cfg, policy);
  if (ref_dir.empty() && policy.adapters()) {
    r.model = &policy;
    log_info("reference policy: the policy's base with its LoRA adapters switched off (no second copy of the weights)");
    return r;
  }
  const std::string dir = ref_dir.empty() ? cfg.model_name_or_path : ref_dir;
  r.owned = model::Decoder::load(dir);
  r.model = r.owned.get();
  log_info("reference policy: loaded from ", dir, " (", r.owned->weights().num_params(), " parameters)");
  return r;
}

}  // namespace tandem::train
