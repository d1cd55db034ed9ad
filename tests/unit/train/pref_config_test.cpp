// The preference keys: each command lists only its own TRL keys, starts from its preset's
// defaults, and maps the keys onto the objective; bad values fail naming the key.
#include <gtest/gtest.h>

#include "train/config_fields.h"
#include "train/pref_config.h"

namespace tandem::train {
namespace {

TEST(PrefConfig, EachCommandHasItsOwnKeysAndPresetDefaults) {
  auto dpo = PreferenceKeys::for_algorithm("dpo");
  auto f = fields_of(dpo);
  EXPECT_TRUE(f.count("beta") && f.count("loss_type") && f.count("precompute_ref_log_probs"));
  EXPECT_FALSE(f.count("simpo_gamma") || f.count("center_rewards_coefficient"));
  EXPECT_DOUBLE_EQ(dpo.beta, 0.1);
  auto simpo = PreferenceKeys::for_algorithm("simpo");
  EXPECT_DOUBLE_EQ(simpo.beta, 2.5);
  EXPECT_NEAR(simpo.simpo_gamma, 1.375, 1e-12);
  EXPECT_FALSE(fields_of(simpo).count("precompute_ref_log_probs"));  // reference-free
  auto rm = PreferenceKeys::for_algorithm("rm");
  auto fr = fields_of(rm);
  EXPECT_TRUE(fr.count("center_rewards_coefficient"));
  EXPECT_FALSE(fr.count("beta"));
  EXPECT_EQ(PreferenceKeys::for_algorithm("ipo").loss_type, "ipo");
}

TEST(PrefConfig, KeysReachTheObjective) {
  auto k = PreferenceKeys::for_algorithm("dpo");
  auto f = fields_of(k);
  apply_override(f, "beta=0.3", "argv");
  apply_override(f, "loss_type=hinge", "argv");
  const auto o = k.objective();
  EXPECT_DOUBLE_EQ(o.beta, 0.3);
  EXPECT_EQ(o.dpo_loss, objective::DpoLoss::kHinge);
  auto kto = PreferenceKeys::for_algorithm("kto");
  auto fk = fields_of(kto);
  apply_override(fk, "undesirable_weight=1.33", "argv");
  EXPECT_DOUBLE_EQ(kto.objective().kto_undesirable_weight, 1.33);
}

TEST(PrefConfig, BadValuesNameTheKey) {
  auto k = PreferenceKeys::for_algorithm("dpo");
  auto f = fields_of(k);
  apply_override(f, "loss_type=sigmoidd", "argv");
  try {
    k.objective();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[loss_type]"), std::string::npos) << e.what();
  }
  auto s = PreferenceKeys::for_algorithm("simpo");
  auto fs = fields_of(s);
  EXPECT_THROW(apply_override(fs, "cpo_alpha=1", "argv"), Error);  // not a simpo key
  apply_override(fs, "beta=-1", "argv");
  EXPECT_THROW(s.objective(), Error);
}

}  // namespace
}  // namespace tandem::train
