// PreferenceStep on a tiny random model: the parameter gradient of one DPO micro-batch (policy and
// reference forward, objective, backward through the engine) equals PyTorch autograd of the loss
// written from the formula (tests/reference/torch_dpo_step.py), for padded and packed collation;
// cached (precomputed) reference sums give the same result as per-batch ones; a reward model made
// from a causal LM saves as transformers' *ForSequenceClassification layout and loads back.
#include <gtest/gtest.h>

#include <fstream>

#include "core/file.h"
#include "core/json.h"
#include "model/safetensors.h"
#include "objective/presets.h"
#include "testing/testing.h"
#include "train/pref_step.h"
#include "train/reward_model.h"

namespace tandem {
namespace {

struct Tiny {
  testing::TempDir dir{"pref_step"};
  std::string model() const { return dir.file("model"); }
  Tiny() {
    std::string out;
    EXPECT_EQ(testing::run_command(cat(testing::tandem_binary(), " init-model --arch qwen3 --layers 2 --hidden 32 --heads 4 "
                                       "--kv-heads 2 --intermediate 64 --vocab 64 --seed 5 --out ", model()), &out), 0) << out;
  }
};

std::vector<data::PreferenceExample> pairs() {
  std::vector<data::PreferenceExample> v(3);
  v[0] = {{3, 9, 12}, {40, 7, 21}, {8}, 0, {}};
  v[1] = {{5}, {6, 6, 2, 1}, {33, 34}, 0, {}};
  v[2] = {{1, 2, 3, 4, 5}, {60}, {61, 62, 63}, 0, {}};
  return v;
}

Json pairs_json(const std::vector<data::PreferenceExample>& v) {
  Json a = Json::array();
  for (const auto& e : v) a.push_back({{"prompt", e.prompt}, {"chosen", e.chosen}, {"rejected", e.rejected}});
  return a;
}

std::vector<float> grads_of(model::Decoder& d) { return testing::to_vec(d.grads().flat); }

TEST(PrefStep, DpoGradientMatchesTorch) {
  if (!testing::have_debian_torch()) GTEST_SKIP() << "no /usr/bin/python3 with torch";
  Tiny t;
  const auto exs = pairs();
  const std::vector<int64_t> ids = {0, 1, 2};
  std::ofstream(t.dir.file("pairs.json")) << pairs_json(exs).dump();
  for (const char* loss : {"sigmoid"}) {  // one loss: each PyTorch call costs seconds; ipo is the objective's own test
    std::string out;
    ASSERT_EQ(testing::run_command(cat(testing::debian_python(), " ", testing::source_dir(), "/tests/reference/torch_dpo_step.py --model ",
                                       t.model(), " --pairs ", t.dir.file("pairs.json"), " --beta 0.5 --loss ", loss, " --out ",
                                       t.dir.file("ref.safetensors")), &out), 0) << out;
    model::SafetensorsFile ref(t.dir.file("ref.safetensors"));
    auto obj = objective::find_preset(std::string(loss) == "ipo" ? "ipo" : "dpo");
    obj.beta = 0.5;
    for (bool packing : {false, true}) {
      auto policy = model::Decoder::load(t.model()), frozen = model::Decoder::load(t.model());
      train::CollateOptions co;
      co.packing = packing;
      co.max_length = 16;
      train::PreferenceStep step(obj, co, *policy, frozen.get());
      policy->zero_grad();
      const auto r = step.run_pairs(exs, ids, 1.0, true);
      EXPECT_NEAR(r.loss, ref.view(*ref.find("loss")).data<double>()[0], 1e-5) << loss;
      EXPECT_NEAR(r.stats.at("rewards/margins"), ref.view(*ref.find("rewards_margin")).data<double>()[0], 1e-5);
      int checked = 0;
      for (const auto& np : policy->weights().named) {
        const auto* g = ref.find("grad." + np.name);
        ASSERT_NE(g, nullptr) << np.name;
        const double* gd = ref.view(*g).data<double>();
        const float* got = policy->grads().find(np.name)->tensor.f32();
        std::vector<float> a(got, got + np.tensor.numel());
        std::vector<double> want(gd, gd + np.tensor.numel());
        EXPECT_TRUE(testing::all_close(a, want, {1e-6, 1e-4}, cat(loss, " packing=", packing, " ", np.name)));
        ++checked;
      }
      EXPECT_GT(checked, 10);
    }
  }
}

TEST(PrefStep, CachedReferenceEqualsPerBatch) {
  Tiny t;
  const auto exs = pairs();
  const std::vector<int64_t> ids = {0, 1, 2};
  const auto obj = objective::find_preset("dpo");
  auto p1 = model::Decoder::load(t.model()), p2 = model::Decoder::load(t.model()), frozen = model::Decoder::load(t.model());
  // Perturb both policies the same way so the log-ratio is not zero.
  for (auto* p : {p1.get(), p2.get()})
    for (int64_t i = 0; i < p->weights().flat.numel(); i += 7) p->weights().flat.f32()[i] *= 1.1f;
  train::PreferenceStep a(obj, {}, *p1, frozen.get()), b(obj, {}, *p2, frozen.get());
  b.cache_pairs(exs, ids);
  b.release_ref();
  p1->zero_grad();
  p2->zero_grad();
  const auto ra = a.run_pairs(exs, ids, 1.0, true), rb = b.run_pairs(exs, ids, 1.0, true);
  EXPECT_NEAR(ra.loss, rb.loss, 1e-6);
  EXPECT_NE(ra.stats.at("rewards/margins"), 0.0);
  EXPECT_TRUE(testing::all_close(grads_of(*p2), testing::to_double(grads_of(*p1)), {1e-7, 1e-5}, "cached vs per batch"));
}

TEST(PrefStep, RewardModelSavesAsSequenceClassificationAndLoadsBack) {
  Tiny t;
  auto rm = train::load_reward_model(t.model(), 7);
  EXPECT_TRUE(rm->config().sequence_classification);
  EXPECT_NE(rm->weights().score.f32()[0], 0.f);
  rm->save(t.dir.file("rm"));
  const Json cfg = Json::parse(read_file(t.dir.file("rm/config.json")));
  EXPECT_EQ(cfg["architectures"][0], "Qwen3ForSequenceClassification");
  EXPECT_EQ(cfg["num_labels"], 1);
  EXPECT_TRUE(cfg.contains("pad_token_id"));
  model::SafetensorsFile f(t.dir.file("rm/model.safetensors"));
  ASSERT_NE(f.find("score.weight"), nullptr);
  EXPECT_EQ(f.find("score.weight")->shape, (Shape{1, 32}));
  EXPECT_EQ(f.find("lm_head.weight"), nullptr);
  auto back = train::load_reward_model(t.dir.file("rm"), 99);  // a folder with a head keeps it
  EXPECT_EQ(testing::to_vec(back->weights().flat), testing::to_vec(rm->weights().flat));
}

}  // namespace
}  // namespace tandem
