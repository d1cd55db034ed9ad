// RL prompts through the data layer beyond shapes_test: the pre-tokenized shapes online RL has always
// read (input_ids + demonstration_ids) beside TRL's prompt_input_ids + completion_input_ids, and
// max_prompt_length (TRL's key): a prompt keeps its last N tokens (the real Qwen3 tokenizer), counted in
// DataStats once per example even when max_length cuts it too; drop leaves it out; pairs obey it too.
#include <gtest/gtest.h>

#include "unit/data/data_testing.h"

namespace tandem::data {
namespace {

using namespace testing_data;
using tandem::testing::TempDir;

TEST(RlPrompts, PreTokenizedShapes) {
  TempDir dir("data_rl_ids");
  const std::string path = write_jsonl(dir, "p.jsonl", {
      R"({"input_ids": [5, 6], "demonstration_ids": [7, 8, 9], "target": 3})",
      R"({"prompt_input_ids": [1, 2], "completion_input_ids": [4], "answer": "4"})",
      R"({"input_ids": [5, 6], "target": 1})",
      R"({"input_ids": [5, -6]})"});
  Dataset ds(config_for(path), dir.path());  // no tokenizer needed
  const auto a = ds.prompt(0);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->prompt, (std::vector<int32_t>{5, 6}));
  EXPECT_EQ(a->demonstration, (std::vector<int32_t>{7, 8, 9}));
  EXPECT_TRUE(a->prompt_text.empty());
  EXPECT_EQ(a->columns, Json::parse(R"({"demonstration_ids": [7, 8, 9], "target": 3})")) << "the prompt is no column";
  const auto b = ds.prompt(1);
  EXPECT_EQ(b->prompt, (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(b->demonstration, (std::vector<int32_t>{4}));
  EXPECT_EQ(b->columns["answer"], "4");
  EXPECT_TRUE(ds.prompt(2)->demonstration.empty());
  EXPECT_EQ(bad_line_message([&] { ds.prompt(3); }), path + ":4: input_ids[1]: expected a token id in [0, 2^31), found integer -6");
}

TEST(RlPrompts, MaxPromptLengthKeepsTheEndAndCounts) {
  TempDir dir("data_rl_maxp");
  const std::string text = "one two three four five six seven eight nine ten";
  const std::string path = write_jsonl(dir, "p.jsonl", {
      Json{{"prompt", text}}.dump(), Json{{"prompt", "short"}}.dump(), Json{{"prompt", text}, {"completion", " eleven twelve"}}.dump()});
  DataConfig cfg = config_for(path);
  cfg.max_prompt_length = 4;
  Dataset ds(cfg, model_dir("qwen3"));
  const auto& tok = ds.renderer().tokenizer();
  const auto full = tok.encode(text, true);
  ASSERT_GT(full.size(), 4u);
  DataStats st;
  const auto a = ds.get<PromptExample>(0, st);
  EXPECT_EQ(a->prompt, std::vector<int32_t>(full.end() - 4, full.end()));
  EXPECT_EQ(tok.decode(a->prompt), " seven eight nine ten");
  EXPECT_EQ(st.truncated, 1);
  EXPECT_EQ(st.tokens_cut, int64_t(full.size()) - 4);
  const auto b = ds.get<PromptExample>(1, st);
  EXPECT_EQ(b->prompt, tok.encode("short", true));
  EXPECT_EQ(st.truncated, 1) << "a short prompt is untouched";

  // Cut by max_prompt_length, then prompt + demonstration by max_length: one truncated example.
  cfg.max_length = 5;
  Dataset both(cfg, model_dir("qwen3"));
  DataStats s2;
  const auto c = both.get<PromptExample>(2, s2);
  const auto demo = tok.encode(" eleven twelve", false);
  ASSERT_TRUE(c);
  EXPECT_EQ(int64_t(c->prompt.size() + c->demonstration.size()), 5);
  EXPECT_EQ(s2.truncated, 1);
  EXPECT_EQ(s2.tokens_cut, int64_t(full.size() + demo.size() + 1) - 5);  // + the eos after the demonstration

  cfg.max_length = 1024;
  cfg.truncation = "drop";
  Dataset drop(cfg, model_dir("qwen3"));
  DataStats s3;
  EXPECT_FALSE(drop.get<PromptExample>(0, s3));
  EXPECT_TRUE(drop.get<PromptExample>(1, s3));
  EXPECT_EQ(s3.dropped, 1);
  EXPECT_EQ(s3.truncated, 0);
}

TEST(RlPrompts, MaxPromptLengthAppliesToPairs) {
  TempDir dir("data_rl_pairs");
  const std::string path = write_jsonl(dir, "p.jsonl", {
      R"({"prompt_input_ids": [1, 2, 3, 4, 5, 6], "chosen_input_ids": [7], "rejected_input_ids": [8, 9]})"});
  DataConfig cfg = config_for(path);
  cfg.max_prompt_length = 2;
  Dataset ds(cfg, dir.path());
  DataStats st;
  const auto p = ds.get<PreferenceExample>(0, st);
  EXPECT_EQ(p->prompt, (std::vector<int32_t>{5, 6}));
  EXPECT_EQ(p->rejected, (std::vector<int32_t>{8, 9}));
  EXPECT_EQ(st.truncated, 1);
  EXPECT_EQ(st.tokens_cut, 4);
}

}  // namespace
}  // namespace tandem::data
