// The reference policy under LoRA is the policy's own base with the adapters switched off, not a
// second copy of the weights. DPO (padded with adapter dropout; packed with precomputed reference
// log-probs), KTO, DPO continuing a PEFT adapter, and GRPO (sampling, KL to the reference) with
// `lora:` give the same metrics and adapters (1e-6) as the same runs forced to load a second copy
// (ref_model_name_or_path naming the starting model), which is what every LoRA run did before; the
// log says which reference ran, and the reference of a continued adapter is the base without it.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "core/file.h"
#include "core/json.h"
#include "core/rng.h"
#include "model/safetensors.h"
#include "testing/testing.h"

namespace tandem {
namespace {

constexpr const char* kShared = "the policy's base with its LoRA adapters switched off";
constexpr const char* kLoaded = "reference policy: loaded from";

// Chosen completions end with token 5, rejected ones with 6, after a shared random middle.
void write_pairs(const std::string& path, int n, uint64_t seed, bool unpaired) {
  Rng rng(seed, 11);
  std::ofstream f(path);
  for (int i = 0; i < n; ++i) {
    Json prompt = Json::array(), mid = Json::array();
    const int lp = 2 + int(rng.next_bits() % 3), lm = 1 + int(rng.next_bits() % 3);
    for (int t = 0; t < lp; ++t) prompt.push_back(8 + int(rng.next_bits() % 56));
    for (int t = 0; t < lm; ++t) mid.push_back(8 + int(rng.next_bits() % 56));
    Json chosen = mid, rejected = mid;
    chosen.push_back(5);
    rejected.push_back(6);
    if (unpaired) {
      f << Json({{"prompt_input_ids", prompt}, {"completion_input_ids", chosen}, {"label", true}}).dump() << "\n";
      f << Json({{"prompt_input_ids", prompt}, {"completion_input_ids", rejected}, {"label", false}}).dump() << "\n";
    } else {
      f << Json({{"prompt_input_ids", prompt}, {"chosen_input_ids", chosen}, {"rejected_input_ids", rejected}}).dump() << "\n";
    }
  }
}

struct Runs {
  testing::TempDir dir{"lora-ref"};
  std::string model() const { return dir.file("model"); }
  Runs() {
    std::string out;
    EXPECT_EQ(testing::run_command(cat(testing::tandem_binary(), " init-model --arch qwen3 --layers 2 --hidden 32 --heads 4 "
                                       "--kv-heads 2 --intermediate 64 --vocab 64 --seed 3 --out ", model()), &out), 0) << out;
    write_pairs(dir.file("train.jsonl"), 32, 1, false);
    write_pairs(dir.file("eval.jsonl"), 8, 2, false);
    write_pairs(dir.file("train_u.jsonl"), 32, 1, true);
    write_pairs(dir.file("eval_u.jsonl"), 8, 2, true);
    std::ofstream f(dir.file("prompts.jsonl"));
    for (int i = 0; i < 8; ++i) f << Json({{"input_ids", {3 * i, 5}}}).dump() << "\n";
  }
  // Runs `tandem <cmd> <args>` into output_dir=name twice: with the default reference and with a
  // second copy forced; returns both output folders.
  std::pair<std::string, std::string> both(const std::string& cmd, const std::string& name, const std::string& args) const {
    const std::string shared = dir.file(name + "_shared"), copy = dir.file(name + "_copy");
    std::string out;
    const std::string base = cat(testing::tandem_binary(), " --threads 1 ", cmd, " model_name_or_path=", model(), " ", args);
    EXPECT_EQ(testing::run_command(cat(base, " output_dir=", shared), &out), 0) << out;
    EXPECT_NE(out.find(kShared), std::string::npos) << name << ": the reference was not the policy's base\n" << out;
    EXPECT_EQ(out.find(kLoaded), std::string::npos) << name << "\n" << out;
    EXPECT_EQ(testing::run_command(cat(base, " output_dir=", copy, " ref_model_name_or_path=", model()), &out), 0) << out;
    EXPECT_NE(out.find(kLoaded), std::string::npos) << name << ": no second copy was loaded\n" << out;
    return {shared, copy};
  }
};

constexpr const char* kLora = " 'lora={r: 4, alpha: 8, dropout: 0.1, target_modules: [q_proj, v_proj, o_proj, down_proj]}'";

// Every logged number but the clocks agrees to 1e-6; returns how many were compared.
int expect_same_metrics(const std::string& a, const std::string& b, const std::string& what) {
  const auto ma = testing::read_jsonl(a + "/metrics.jsonl"), mb = testing::read_jsonl(b + "/metrics.jsonl");
  EXPECT_EQ(ma.size(), mb.size()) << what;
  int n = 0;
  for (size_t i = 0; i < std::min(ma.size(), mb.size()); ++i)
    for (auto it = ma[i].begin(); it != ma[i].end(); ++it) {
      const std::string& k = it.key();
      if (!it->is_number() || k == "tokens_per_s" || k == "elapsed" || k.rfind("time/", 0) == 0) continue;
      EXPECT_TRUE(mb[i].contains(k)) << what << " row " << i << " " << k;
      if (!mb[i].contains(k)) continue;
      EXPECT_NEAR(it->get<double>(), mb[i][k].get<double>(), 1e-6) << what << " row " << i << " " << k;
      ++n;
    }
  return n;
}

// The adapters agree to 1e-6; returns the largest |B| so callers can check that they trained.
double expect_same_adapters(const std::string& a, const std::string& b, const std::string& what) {
  model::SafetensorsFile fa(a + "/adapter_model.safetensors"), fb(b + "/adapter_model.safetensors");
  EXPECT_EQ(fa.entries().size(), fb.entries().size()) << what;
  double max_b = 0;
  for (const auto& e : fa.entries()) {
    const auto* eb = fb.find(e.name);
    EXPECT_NE(eb, nullptr) << what << " " << e.name;
    if (!eb) continue;
    const float* x = fa.view(e).data<float>();
    const float* y = fb.view(*eb).data<float>();
    const int64_t n = fa.view(e).numel();
    double diff = 0;
    for (int64_t i = 0; i < n; ++i) {
      diff = std::max(diff, double(std::fabs(x[i] - y[i])));
      if (e.name.find("lora_B") != std::string::npos) max_b = std::max(max_b, double(std::fabs(x[i])));
    }
    EXPECT_LE(diff, 1e-6) << what << " " << e.name;
  }
  return max_b;
}

TEST(LoraReference, PreferenceRunsEqualSecondCopyRuns) {
  Runs r;
  const std::string common = cat(" max_steps=6 per_device_train_batch_size=4 gradient_accumulation_steps=2 learning_rate=2e-2",
                                 " eval_steps=3 logging_steps=1 beta=0.5 seed=4");
  const std::string pairs = cat(" train_file=", r.dir.file("train.jsonl"), " eval_file=", r.dir.file("eval.jsonl"));
  struct Case {
    const char *cmd, *name;
    std::string args;
  } cases[] = {
      {"dpo", "dpo_padded", pairs + common + kLora},
      {"dpo", "dpo_packed_precomputed",
       pairs + common + " packing=true max_length=24 precompute_ref_log_probs=true 'lora={r: 4, alpha: 8, target_modules: [q_proj, k_proj, v_proj, gate_proj, up_proj]}'"},
      {"kto", "kto", cat(" train_file=", r.dir.file("train_u.jsonl"), " eval_file=", r.dir.file("eval_u.jsonl")) + common + kLora},
  };
  for (const Case& c : cases) {
    const auto [shared, copy] = r.both(c.cmd, c.name, c.args);
    EXPECT_GT(expect_same_metrics(shared, copy, c.name), 50) << c.name;
    EXPECT_GT(expect_same_adapters(shared, copy, c.name), 1e-3) << c.name << ": the adapters did not train";
    const auto m = testing::read_jsonl(shared + "/metrics.jsonl");
    ASSERT_FALSE(m.empty());
    EXPECT_GT(std::fabs(m.back()["rewards/margins"].get<double>()), 1e-4) << c.name << ": policy still equals reference";
  }
  // Continuing a PEFT adapter: the reference is the base without it (as TRL's), so at the first
  // step (no dropout in this adapter) the trained adapter already separates policy and reference.
  const auto [shared, copy] =
      r.both("dpo", "dpo_continued", pairs + common + " adapter_name_or_path=" + r.dir.file("dpo_packed_precomputed_shared"));
  expect_same_metrics(shared, copy, "continued");
  expect_same_adapters(shared, copy, "continued");
  const auto m = testing::read_jsonl(shared + "/metrics.jsonl");
  ASSERT_FALSE(m.empty());
  EXPECT_GT(std::fabs(m.front()["rewards/chosen"].get<double>()), 1e-4) << m.front().dump();
}

TEST(LoraReference, GrpoRunEqualsSecondCopyRun) {
  Runs r;
  const auto [shared, copy] =
      r.both("grpo", "grpo", cat(" train_file=", r.dir.file("prompts.jsonl"), " num_generations=8 train_batch_size=4 max_new_tokens=3",
                                 " max_steps=4 learning_rate=5e-2 beta=0.1 seed=2",
                                 " 'rewards=[{type: format, pattern: \"^[0-9]*[02468]( |$)\"}]'", kLora));
  EXPECT_GT(expect_same_metrics(shared, copy, "grpo"), 40);
  EXPECT_GT(expect_same_adapters(shared, copy, "grpo"), 1e-3) << "the adapters did not train";
  // Rewarded: an even first token (about half the samples). The KL to the reference is 0 while the
  // adapters are still B = 0 and grows once they train.
  const auto m = testing::read_jsonl(shared + "/metrics.jsonl");
  ASSERT_EQ(m.size(), 4u);
  EXPECT_NEAR(m.front()["kl_ref"].get<double>(), 0.0, 1e-9);
  EXPECT_GT(m.back()["kl_ref"].get<double>(), 1e-7) << m.back().dump();
}

}  // namespace
}  // namespace tandem
