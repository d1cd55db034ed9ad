// The preference keys of `tandem dpo|ipo|simpo|orpo|kto|cpo|rm`, with TRL's names (DPOConfig,
// CPOConfig, ORPOConfig, KTOConfig, RewardConfig). Defaults come from the command's objective preset
// (objective/presets.cpp says where each number is from), so `tandem simpo` starts at the SimPO
// repo's beta 2.5 and `tandem dpo` at TRL's 0.1. The resolved keys become an ObjectiveConfig.
// Not here: keys every trainer shares (the training loop's config), the arithmetic (objective/).
#pragma once
#include <string>

#include "core/error.h"
#include "objective/config.h"
#include "objective/presets.h"

namespace tandem::train {

struct PreferenceKeys {
  std::string algorithm;              // the command: dpo, ipo, simpo, orpo, kto, cpo, rm (not a key)
  double beta = 0.1;
  std::string loss_type = "sigmoid";  // dpo/ipo: sigmoid | hinge | ipo
  double label_smoothing = 0.0;
  double simpo_gamma = 0.5;
  double cpo_alpha = 1.0;
  double desirable_weight = 1.0, undesirable_weight = 1.0;
  double center_rewards_coefficient = 0.0;
  bool precompute_ref_log_probs = false;
  std::string ref_model_name_or_path;  // "": the starting model

  // Defaults of the command's preset.
  static PreferenceKeys for_algorithm(const std::string& algorithm) {
    PreferenceKeys k;
    k.algorithm = algorithm;
    const objective::ObjectiveConfig p = objective::find_preset(algorithm);
    k.beta = p.beta;
    k.loss_type = p.dpo_loss == objective::DpoLoss::kIpo ? "ipo" : p.dpo_loss == objective::DpoLoss::kHinge ? "hinge" : "sigmoid";
    k.label_smoothing = p.label_smoothing;
    k.simpo_gamma = p.simpo_gamma;
    k.cpo_alpha = p.cpo_alpha;
    k.desirable_weight = p.kto_desirable_weight;
    k.undesirable_weight = p.kto_undesirable_weight;
    k.center_rewards_coefficient = p.rm_center_coef;
    return k;
  }

  template <class V> void for_each_field(V&& v) {
    const std::string& a = algorithm;
    const bool dpo = a == "dpo" || a == "ipo";
    if (a != "rm") v("beta", beta, "inverse temperature of the implicit reward (orpo: lambda of the odds-ratio term)");
    if (dpo) v("loss_type", loss_type, "sigmoid | hinge | ipo");
    if (dpo || a == "simpo" || a == "cpo") v("label_smoothing", label_smoothing, "cDPO: probability a label is flipped, [0, 0.5)");
    if (a == "simpo") v("simpo_gamma", simpo_gamma, "target reward margin gamma (absolute, as TRL)");
    if (a == "cpo") v("cpo_alpha", cpo_alpha, "weight of the NLL term on chosen completions");
    if (a == "kto") v("desirable_weight", desirable_weight, "lambda_D, weight of desirable examples");
    if (a == "kto") v("undesirable_weight", undesirable_weight, "lambda_U, weight of undesirable examples");
    if (a == "rm") v("center_rewards_coefficient", center_rewards_coefficient, "eta of eta * mean((r_w + r_l)^2) (0: off)");
    if (dpo || a == "kto") {
      v("precompute_ref_log_probs", precompute_ref_log_probs, "compute reference log-probs once for the dataset, then drop the reference model");
      v("ref_model_name_or_path", ref_model_name_or_path, "frozen reference model folder (default: the starting model)");
    }
  }

  objective::ObjectiveConfig objective() const {
    objective::ObjectiveConfig c = objective::find_preset(algorithm);
    c.beta = beta;
    if (loss_type == "sigmoid") c.dpo_loss = objective::DpoLoss::kSigmoid;
    else if (loss_type == "hinge") c.dpo_loss = objective::DpoLoss::kHinge;
    else if (loss_type == "ipo") c.dpo_loss = objective::DpoLoss::kIpo;
    else throw Error("loss_type", cat("expected sigmoid, hinge or ipo, got '", loss_type, "'"));
    c.label_smoothing = label_smoothing;
    c.simpo_gamma = simpo_gamma;
    c.cpo_alpha = cpo_alpha;
    c.kto_desirable_weight = desirable_weight;
    c.kto_undesirable_weight = undesirable_weight;
    c.rm_center_coef = center_rewards_coefficient;
    try {
      c.validate();
    } catch (const Error& e) {  // the objective names its own fields; say which key the user wrote
      throw Error(algorithm, cat("invalid preference settings: ", e.what()));
    }
    return c;
  }
};

}  // namespace tandem::train
