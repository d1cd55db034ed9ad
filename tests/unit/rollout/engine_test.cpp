// The rollout engine on a small random model: a sample's tokens depend on its seed and stream,
// not on which requests share the batch or how many slots there are; n samples per prompt;
// max_new_tokens and stop ids; the KV cache budget (slots it allows, Error when one sequence does
// not fit); the `tandem generate` command's output format and its errors.
#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "core/file.h"
#include "core/json.h"
#include "model/decoder.h"
#include "model/kv_cache.h"
#include "rollout/engine.h"
#include "testing/testing.h"

namespace tandem {
namespace {

using rollout::Engine;
using rollout::Request;

class EngineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir("rollout-engine");
    std::string out;
    ASSERT_EQ(testing::run_command(cat(testing::tandem_binary(), " init-model --arch qwen3 --layers 2 --hidden 32 --heads 4 "
                                       "--kv-heads 2 --intermediate 64 --vocab 97 --seed 21 --init-range 0.3 --max-pos 64 --out ",
                                       dir_->file("m")), &out), 0) << out;
    dec_ = model::Decoder::load(dir_->file("m")).release();
  }
  static void TearDownTestSuite() {
    delete dec_;
    delete dir_;
  }
  static Request req(std::vector<int32_t> prompt, uint64_t seed, int64_t n = 1, int64_t max_new = 10) {
    Request r{std::move(prompt), {}};
    r.params.temperature = 1.5f;
    r.params.top_k = 40;
    r.params.seed = seed;
    r.params.n = n;
    r.params.max_new_tokens = max_new;
    return r;
  }
  static testing::TempDir* dir_;
  static model::Decoder* dec_;
};
testing::TempDir* EngineTest::dir_ = nullptr;
model::Decoder* EngineTest::dec_ = nullptr;

TEST_F(EngineTest, SeedGivesSameTokensWhateverTheBatch) {
  const Request a = req({5, 17, 3, 88}, 7, 2);
  const auto alone = Engine(*dec_, {.max_batch = 1}).generate({a});
  for (int64_t mb : {2, 3, 16}) {
    const auto mixed = Engine(*dec_, {.max_batch = mb}).generate({req({1, 2}, 1, 3), a, req({9, 9, 9, 9, 9, 9, 9}, 2, 1, 4)});
    ASSERT_EQ(mixed[1].size(), 2u);
    for (size_t j = 0; j < 2; ++j) {
      EXPECT_EQ(mixed[1][j].ids, alone[0][j].ids) << "max_batch " << mb << " sample " << j;
      EXPECT_EQ(mixed[1][j].behaviour_logprobs.size(), alone[0][j].ids.size());
    }
  }
}

TEST_F(EngineTest, NSamplesAreIndependentStreams) {
  const auto three = Engine(*dec_).generate({req({4, 8, 15, 16, 23, 42}, 99, 3, 12)});
  const auto two = Engine(*dec_).generate({req({4, 8, 15, 16, 23, 42}, 99, 2, 12)});
  ASSERT_EQ(three[0].size(), 3u);
  EXPECT_NE(three[0][0].ids, three[0][1].ids);
  EXPECT_NE(three[0][1].ids, three[0][2].ids);
  // Sample j draws from stream j: it does not depend on how many samples were asked for.
  EXPECT_EQ(two[0][0].ids, three[0][0].ids);
  EXPECT_EQ(two[0][1].ids, three[0][1].ids);
  // The three samples share one prefill of the prompt (its cache rows are copied).
  Engine eng(*dec_);
  eng.generate({req({4, 8, 15, 16, 23, 42}, 99, 3, 12)});
  EXPECT_EQ(eng.stats().prefill_tokens, 6);
}

TEST_F(EngineTest, MaxNewTokensAndStopIds) {
  Request g = req({3, 1, 4, 1, 5}, 0, 1, 9);
  g.params.temperature = 0.f;
  const auto full = Engine(*dec_).generate({g})[0][0];
  ASSERT_EQ(full.ids.size(), 9u);
  EXPECT_EQ(full.finish, rollout::FinishReason::kLength);
  EXPECT_EQ(full.logprobs.size(), 9u);
  const int32_t stop = full.ids[4];
  const size_t first = size_t(std::find(full.ids.begin(), full.ids.end(), stop) - full.ids.begin());
  g.params.stop_ids = {stop};
  const auto stopped = Engine(*dec_).generate({g})[0][0];
  EXPECT_EQ(stopped.finish, rollout::FinishReason::kStop);
  ASSERT_EQ(stopped.ids.size(), first + 1);
  EXPECT_EQ(stopped.ids, std::vector<int32_t>(full.ids.begin(), full.ids.begin() + first + 1));
  g.params.max_new_tokens = 1;
  g.params.stop_ids = {};
  const auto one = Engine(*dec_).generate({g})[0][0];
  EXPECT_EQ(one.ids, std::vector<int32_t>{full.ids[0]});
}

TEST_F(EngineTest, KvBudgetSetsSlotsAndRejectsWhatCannotFit) {
  const auto& cfg = dec_->config();
  std::vector<Request> reqs = {req({1, 2, 3}, 1, 2, 6), req({7, 7}, 2, 1, 6), req({50, 60, 70, 80}, 3, 2, 6)};
  const int64_t max_len = 4 + 6 - 1;
  const size_t per = model::KvCache::bytes_per_slot(cfg, max_len);
  Engine small(*dec_, {.kv_cache_bytes = 2 * per + per / 2});
  const auto a = small.generate(reqs);
  EXPECT_EQ(small.stats().slots, 2);
  EXPECT_EQ(small.stats().kv_cache_bytes, 2 * per);
  const auto b = Engine(*dec_).generate(reqs);
  for (size_t i = 0; i < reqs.size(); ++i)
    for (size_t j = 0; j < a[i].size(); ++j) EXPECT_EQ(a[i][j].ids, b[i][j].ids) << i << "/" << j;
  try {
    Engine(*dec_, {.kv_cache_bytes = per - 1}).generate(reqs);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), "rollout.kv_cache_bytes");
    EXPECT_NE(std::string(e.what()).find(std::to_string(per)), std::string::npos) << e.what();
  }
  // Longer than the model's positions (max-pos 64).
  EXPECT_THROW(Engine(*dec_).generate({req(std::vector<int32_t>(60, 1), 0, 1, 10)}), Error);
  EXPECT_THROW(Engine(*dec_).generate({req({}, 0)}), Error);
  EXPECT_THROW(Engine(*dec_).generate({req({1, 97}, 0)}), Error);
}

TEST_F(EngineTest, GenerateCommandWritesOneLinePerSample) {
  std::ofstream(dir_->file("p.jsonl")) << "{\"input_ids\": [1, 2, 3]}\n\n{\"input_ids\": [40, 41]}\n";
  std::string out;
  const std::string cmd = cat(testing::tandem_binary(), " generate --model ", dir_->file("m"), " --data ", dir_->file("p.jsonl"),
                              " --out ", dir_->file("o.jsonl"), " --n 2 --max-new-tokens 5 --temperature 0.9 --top-p 0.9 --seed 3 --ignore-eos");
  ASSERT_EQ(testing::run_command(cmd, &out), 0) << out;
  const std::string text = read_file(dir_->file("o.jsonl"));
  std::vector<Json> lines;
  size_t at = 0;
  while (at < text.size()) {
    const size_t nl = text.find('\n', at);
    lines.push_back(Json::parse(text.substr(at, nl - at)));
    at = nl + 1;
  }
  ASSERT_EQ(lines.size(), 4u);
  for (const auto& j : lines) {
    EXPECT_EQ(j["completion_ids"].size(), 5u);
    EXPECT_EQ(j["logprobs"].size(), 5u);
    EXPECT_EQ(j["behaviour_logprobs"].size(), 5u);
    EXPECT_EQ(j["finish_reason"], "length");
  }
  std::ofstream(dir_->file("t.jsonl")) << "{\"prompt\": \"hello\"}\n";
  EXPECT_NE(testing::run_command(cat(testing::tandem_binary(), " generate --model ", dir_->file("m"), " --data ",
                                     dir_->file("t.jsonl")), &out), 0);
  EXPECT_NE(out.find("tokenizer"), std::string::npos) << out;
}

// generation_config.json's eos ids stop generation unless --ignore-eos.
TEST_F(EngineTest, GenerateCommandStopsAtGenerationConfigEos) {
  Request g = req({40, 41, 42}, 0, 1, 6);
  g.params.temperature = 0.f;
  const auto greedy = Engine(*dec_).generate({g})[0][0];
  testing::TempDir d("rollout-genconfig");
  std::string out;
  ASSERT_EQ(testing::run_command(cat("cp -r ", dir_->file("m"), " ", d.file("m")), &out), 0) << out;
  std::ofstream(d.file("m/generation_config.json")) << "{\"eos_token_id\": [" << greedy.ids[2] << "]}\n";
  std::ofstream(d.file("p.jsonl")) << "{\"input_ids\": [40, 41, 42]}\n";
  // config.json's eos ids (init-model writes one) stop too.
  std::vector<int32_t> stops = {greedy.ids[2]};
  for (int64_t e : dec_->config().eos_token_ids) stops.push_back(int32_t(e));
  size_t first = 0;
  while (std::find(stops.begin(), stops.end(), greedy.ids[first]) == stops.end()) ++first;
  for (bool ignore : {false, true}) {
    const std::string cmd = cat(testing::tandem_binary(), " generate --model ", d.file("m"), " --data ", d.file("p.jsonl"),
                                " --out ", d.file("o.jsonl"), " --temperature 0 --max-new-tokens 6", ignore ? " --ignore-eos" : "");
    ASSERT_EQ(testing::run_command(cmd, &out), 0) << out;
    const Json j = Json::parse(read_file(d.file("o.jsonl")));
    if (ignore) {
      EXPECT_EQ(j["finish_reason"], "length");
      EXPECT_EQ(j["completion_ids"].get<std::vector<int32_t>>(), greedy.ids);
    } else {
      EXPECT_EQ(j["finish_reason"], "stop");
      EXPECT_EQ(j["completion_ids"].get<std::vector<int32_t>>(),
                std::vector<int32_t>(greedy.ids.begin(), greedy.ids.begin() + first + 1));
    }
  }
}

}  // namespace
}  // namespace tandem
