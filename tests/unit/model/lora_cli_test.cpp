// `tandem logprobs --adapter` and `tandem generate --adapter`: the commands load a PEFT folder onto
// the base model. logprobs must equal the in-process adapter forward; generate (which merges the
// adapter into its copy of the weights) must report the log-probs the unmerged adapter model gives
// its completions; export --to merged equals the adapter model; a bad adapter folder is a clear error.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/file.h"
#include "core/json.h"
#include "core/rng.h"
#include "model/decoder.h"
#include "model/lora_peft.h"
#include "testing/testing.h"

namespace tandem {
namespace {

using model::Decoder;

using testing::read_jsonl;

struct Fixture {
  testing::TempDir dir{"lora-cli"};
  std::string base = dir.file("base"), adapter = dir.file("adapter");
  std::unique_ptr<Decoder> dec;  // base with the adapter attached

  Fixture() {
    std::string out;
    const std::string make = cat(testing::tandem_binary(), " init-model --arch llama --layers 2 --hidden 32 --heads 4 "
                                 "--kv-heads 2 --intermediate 64 --vocab 97 --seed 3 --init-range 0.3 --out ", base);
    EXPECT_EQ(testing::run_command(make, &out), 0) << out;
    dec = Decoder::load(base);
    model::LoraConfig c;
    c.r = 4, c.alpha = 8, c.target_modules = {"q_proj", "v_proj", "o_proj", "up_proj", "down_proj"};
    auto a = std::make_unique<model::LoraAdapters>(dec->config(), c);
    a->init(4);
    const Rng rng(5, 5);
    for (auto& np : a->weights().named)
      if (np.name.find("lora_B") != std::string::npos)
        for (int64_t i = 0; i < np.tensor.numel(); ++i) np.tensor.f32()[i] = 0.5f * rng.normal(uint64_t(i) + 1000u * np.tensor.numel());
    model::save_peft_adapter(*a, dec->config(), adapter, base);
    dec->attach_adapters(std::move(a));
  }
  // Log-probs of each token after the first under the adapter model.
  std::vector<float> logprobs(const std::vector<int32_t>& ids) {
    const auto b = model::TokenBatch::padded({ids});
    const auto o = dec->forward(b, {});
    return std::vector<float>(o.logp.f32() + 1, o.logp.f32() + ids.size());
  }
};

TEST(LoraCli, LogprobsWithAdapterEqualsInProcessAdapterModel) {
  Fixture fx;
  const std::vector<std::vector<int32_t>> seqs = {{1, 2, 3, 4, 5, 6}, {9, 8, 7}, {50, 60, 70, 80, 90, 11, 12, 13}};
  {
    std::ofstream f(fx.dir.file("in.jsonl"));
    for (const auto& s : seqs) f << Json{{"input_ids", s}}.dump() << "\n";
  }
  std::string out;
  const std::string cmd = cat(testing::tandem_binary(), " logprobs --model ", fx.base, " --adapter ", fx.adapter, " --data ",
                              fx.dir.file("in.jsonl"), " --out ", fx.dir.file("out.jsonl"));
  ASSERT_EQ(testing::run_command(cmd, &out), 0) << cmd << "\n" << out;
  const auto lines = read_jsonl(fx.dir.file("out.jsonl"));
  ASSERT_EQ(lines.size(), seqs.size());
  auto base = Decoder::load(fx.base);
  for (size_t i = 0; i < seqs.size(); ++i) {
    const auto got = lines[i]["logprobs"].get<std::vector<float>>();
    EXPECT_TRUE(testing::all_close(got, fx.logprobs(seqs[i]), {1e-6, 1e-6}, cat("logprobs line ", i)));
    const auto b = base->forward(model::TokenBatch::padded({seqs[i]}), {});
    double diff = 0;
    for (size_t t = 0; t < got.size(); ++t) diff = std::max(diff, double(std::fabs(got[t] - b.logp.f32()[t + 1])));
    EXPECT_GT(diff, 1e-3) << "the adapter changed nothing";
  }
}

TEST(LoraCli, GenerateWithAdapterSamplesTheAdapterModel) {
  Fixture fx;
  const std::vector<std::vector<int32_t>> prompts = {{1, 2, 3}, {40, 41, 42, 43, 44}};
  {
    std::ofstream f(fx.dir.file("prompts.jsonl"));
    for (const auto& p : prompts) f << Json{{"input_ids", p}}.dump() << "\n";
  }
  std::string out;
  const std::string cmd = cat(testing::tandem_binary(), " generate --model ", fx.base, " --adapter ", fx.adapter,
                              " --data ", fx.dir.file("prompts.jsonl"), " --max-new-tokens 6 --temperature 0 --ignore-eos --out ",
                              fx.dir.file("gen.jsonl"));
  ASSERT_EQ(testing::run_command(cmd, &out), 0) << cmd << "\n" << out;
  const auto lines = read_jsonl(fx.dir.file("gen.jsonl"));
  ASSERT_EQ(lines.size(), prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    const auto ids = lines[i]["completion_ids"].get<std::vector<int32_t>>();
    const auto lp = lines[i]["logprobs"].get<std::vector<float>>();
    ASSERT_EQ(ids.size(), 6u);
    std::vector<int32_t> all = prompts[i];
    all.insert(all.end(), ids.begin(), ids.end());
    const auto want = fx.logprobs(all);
    const std::vector<float> tail(want.end() - 6, want.end());
    EXPECT_TRUE(testing::all_close(lp, tail, {1e-4, 1e-4}, cat("generate logprobs line ", i)));
  }
  // A folder that is not an adapter for this model.
  const std::string bad = cat(testing::tandem_binary(), " generate --model ", fx.base, " --adapter ", fx.base,
                              " --data ", fx.dir.file("prompts.jsonl"), " --max-new-tokens 2");
  EXPECT_NE(testing::run_command(bad, &out), 0);
  EXPECT_NE(out.find("adapter_config.json"), std::string::npos) << out;
}

// `tandem export --adapter --to merged` writes an ordinary HF folder whose log-probs are the adapter
// model's.
TEST(LoraCli, ExportMergedEqualsTheAdapterModel) {
  Fixture fx;
  std::string out;
  const std::string cmd = cat(testing::tandem_binary(), " export --model ", fx.base, " --adapter ", fx.adapter,
                              " --to merged --out ", fx.dir.file("merged"));
  ASSERT_EQ(testing::run_command(cmd, &out), 0) << cmd << "\n" << out;
  auto merged = Decoder::load(fx.dir.file("merged"));
  EXPECT_EQ(merged->adapters(), nullptr);
  const std::vector<int32_t> ids = {5, 9, 33, 2, 71, 70, 12};
  const auto want = fx.logprobs(ids);
  const auto o = merged->forward(model::TokenBatch::padded({ids}), {});
  const std::vector<float> got(o.logp.f32() + 1, o.logp.f32() + ids.size());
  EXPECT_TRUE(testing::all_close(got, want, {1e-5, 1e-5}, "merged export log-probs"));
}

}  // namespace
}  // namespace tandem
