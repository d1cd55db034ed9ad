// One GRPO step and one PPO step through `tandem grpo|ppo` in given-completions mode (two epochs over
// the batch = two optimizer steps, SGD, global-norm clipping) give the same updated weights as the independent PyTorch
// reference tests/reference/torch_grpo_step.py, to 1e-5. Bad configs fail naming the key.
#include <gtest/gtest.h>

#include <fstream>

#include "core/file.h"
#include "core/json.h"
#include "model/safetensors.h"
#include "testing/testing.h"

namespace tandem {
namespace {

struct Seq {
  std::vector<int> prompt, completion;
  double reward;
  int group;
};

// Two prompts, four completions each, of different lengths (padding and the normaliser matter).
std::vector<Seq> grpo_batch() {
  return {{{3, 9, 12}, {40, 7, 7, 21}, 1.0, 0},      {{3, 9, 12}, {5, 60}, 0.0, 0},
          {{3, 9, 12}, {8, 8, 8, 8, 2}, 0.5, 0},     {{3, 9, 12}, {33}, 0.0, 0},
          {{17, 2}, {11, 12, 13}, 0.0, 1},           {{17, 2}, {1, 2, 3, 4, 5, 6}, 1.0, 1},
          {{17, 2}, {63, 0}, 1.0, 1},                {{17, 2}, {30, 31, 32}, 0.25, 1}};
}

void write_given(const std::string& path, const std::vector<Seq>& seqs) {
  std::ofstream f(path);
  for (const auto& s : seqs) f << Json({{"input_ids", s.prompt}, {"completion_ids", s.completion}, {"reward", s.reward}}).dump() << "\n";
}

std::string make_model(const testing::TempDir& dir) {
  std::string out;
  const std::string m = dir.file("model");
  EXPECT_EQ(testing::run_command(cat(testing::tandem_binary(), " init-model --arch qwen3 --layers 2 --hidden 32 --heads 4 "
                                     "--kv-heads 2 --intermediate 64 --vocab 64 --seed 5 --out ", m), &out), 0) << out;
  return m;
}

// Runs the reference on the same batch and compares every tensor of the saved model.
void compare_with_reference(const testing::TempDir& dir, const std::string& model, const std::string& algo,
                            const std::vector<Seq>& seqs, double lr, int epochs, double max_grad_norm, const std::string& run) {
  Json job = {{"algorithm", algo}, {"lr", lr}, {"ppo_epochs", epochs}, {"max_grad_norm", max_grad_norm}, {"sequences", Json::array()}};
  for (const auto& s : seqs)
    job["sequences"].push_back({{"prompt", s.prompt}, {"completion", s.completion}, {"reward", s.reward}, {"group", s.group}});
  std::ofstream(dir.file(algo + "_job.json")) << job.dump();
  std::string out;
  ASSERT_EQ(testing::run_command(cat(testing::debian_python(), " ", testing::source_dir(), "/tests/reference/torch_grpo_step.py --model ",
                                     model, " --batch ", dir.file(algo + "_job.json"), " --out ", dir.file(algo + "_ref.safetensors")), &out), 0) << out;
  model::SafetensorsFile ref(dir.file(algo + "_ref.safetensors")), got(run + "/model.safetensors"), w0(model + "/model.safetensors");
  int checked = 0, moved = 0;
  for (const auto& e : ref.entries()) {
    const auto* g = got.find(e.name);
    ASSERT_NE(g, nullptr) << e.name;
    const double* want = ref.view(e).data<double>();
    const float* have = got.view(*g).data<float>();
    const auto n = size_t(ref.view(e).numel());
    std::vector<float> h(have, have + n);
    std::vector<double> w(want, want + n);
    EXPECT_TRUE(testing::all_close(h, w, {1e-5, 1e-5}, algo + " step " + e.name));
    if (const auto* e0 = w0.find(e.name)) {
      const float* a = w0.view(*e0).data<float>();
      for (size_t i = 0; i < n; ++i) moved += std::fabs(double(a[i]) - w[i]) > 1e-4;
    }
    ++checked;
  }
  EXPECT_GT(checked, 10);
  EXPECT_GT(moved, 100) << "the step barely changed the weights: the comparison would prove little";
}

TEST(RlParity, GrpoStepEqualsTorch) {
  if (!testing::have_debian_torch()) GTEST_SKIP() << "no python3-torch";
  testing::TempDir dir("rl_grpo");
  const std::string model = make_model(dir);
  const auto seqs = grpo_batch();
  write_given(dir.file("given.jsonl"), seqs);
  std::string out;
  ASSERT_EQ(testing::run_command(cat(testing::tandem_binary(), " --threads 1 grpo model_name_or_path=", model,
                                     " completions_file=", dir.file("given.jsonl"), " output_dir=", dir.file("run"),
                                     " num_generations=4 train_batch_size=2 ppo_epochs=2 max_steps=2 optim=sgd learning_rate=0.5",
                                     " max_grad_norm=1.0"), &out), 0) << out;
  compare_with_reference(dir, model, "grpo", seqs, 0.5, 2, 1.0, dir.file("run"));
}

TEST(RlParity, PpoStepEqualsTorch) {
  if (!testing::have_debian_torch()) GTEST_SKIP() << "no python3-torch";
  testing::TempDir dir("rl_ppo");
  const std::string model = make_model(dir);
  auto seqs = grpo_batch();
  for (size_t i = 0; i < seqs.size(); ++i) seqs[i].group = int(i);  // PPO: one sample per prompt
  write_given(dir.file("given.jsonl"), seqs);
  std::string out;
  ASSERT_EQ(testing::run_command(cat(testing::tandem_binary(), " --threads 1 ppo model_name_or_path=", model,
                                     " completions_file=", dir.file("given.jsonl"), " output_dir=", dir.file("run"),
                                     " num_generations=1 train_batch_size=8 ppo_epochs=2 max_steps=2 optim=sgd learning_rate=0.5",
                                     " max_grad_norm=0"), &out), 0) << out;
  compare_with_reference(dir, model, "ppo", seqs, 0.5, 2, 0.0, dir.file("run"));
}

// The command with the reward layer's functions: sampled completions are scored by an exact-match
// reward against a dataset column, and every metric of the step is logged.
TEST(RlCli, SamplesScoresAndLogs) {
  testing::TempDir dir("rl_cli");
  const std::string model = make_model(dir);
  {
    std::ofstream f(dir.file("prompts.jsonl"));
    for (int i = 0; i < 8; ++i) f << Json({{"input_ids", {3 * i, 5}}, {"answer", std::to_string(i % 4)}}).dump() << "\n";
  }
  std::string out;
  ASSERT_EQ(testing::run_command(cat(testing::tandem_binary(), " --threads 1 grpo model_name_or_path=", model, " train_file=",
                                     dir.file("prompts.jsonl"), " output_dir=", dir.file("run"),
                                     " num_generations=4 train_batch_size=4 max_new_tokens=3 max_steps=2 learning_rate=1e-3",
                                     " 'rewards=[{type: exact, column: answer, extract: \"^[0-9]+\"}]'"), &out), 0) << out;
  std::ifstream in(dir.file("run") + "/metrics.jsonl");
  std::vector<Json> m;
  for (std::string line; std::getline(in, line);) m.push_back(Json::parse(line));
  ASSERT_EQ(m.size(), 2u) << out;  // one optimizer step per rollout batch here
  for (const char* k : {"reward", "reward_std", "rewards/exact/mean", "accuracy", "completions/mean_length",
                        "completions/clipped_ratio", "kl_ref", "entropy", "objective/clip_frac", "advantages/std",
                        "logprob_gap/max", "time/generate", "time/score", "time/update", "grad_norm"})
    EXPECT_TRUE(m[1].contains(k)) << k << " in " << m[1].dump();
  EXPECT_LE(m[1]["completions/max_length"].get<double>(), 3.0);
  EXPECT_TRUE(file_exists(dir.file("run") + "/model.safetensors"));
}

// `tandem pipeline`: an SFT stage then a GRPO stage, the second starting from the first one's weights.
TEST(RlCli, PipelineSftThenGrpo) {
  testing::TempDir dir("rl_pipe");
  const std::string model = make_model(dir);
  {
    std::ofstream f(dir.file("sft.jsonl"));
    for (int i = 0; i < 8; ++i) f << Json({{"input_ids", {i, i + 1, i + 2, i + 3}}}).dump() << "\n";
  }
  write_given(dir.file("given.jsonl"), grpo_batch());
  std::ofstream(dir.file("pipe.yaml")) << "model_name_or_path: " << model << "\noutput_dir: " << dir.file("runs")
                                       << "\nstages:\n  - sft: {train_file: " << dir.file("sft.jsonl")
                                       << ", max_steps: 2, per_device_train_batch_size: 4, learning_rate: 1.0e-3}\n"
                                       << "  - grpo: {completions_file: " << dir.file("given.jsonl")
                                       << ", num_generations: 4, train_batch_size: 2, max_steps: 1, ppo_epochs: 1}\n";
  std::string out;
  ASSERT_EQ(testing::run_command(cat(testing::tandem_binary(), " --threads 1 pipeline --config ", dir.file("pipe.yaml")), &out), 0) << out;
  EXPECT_TRUE(file_exists(dir.file("runs") + "/stage-1-sft/model.safetensors"));
  EXPECT_TRUE(file_exists(dir.file("runs") + "/stage-2-grpo/model.safetensors"));
  const std::string cfg2 = read_file(dir.file("runs") + "/stage-2-grpo/config.yaml");
  EXPECT_NE(cfg2.find(dir.file("runs") + "/stage-1-sft"), std::string::npos) << cfg2;
  std::ofstream(dir.file("bad.yaml")) << "model_name_or_path: " << model << "\noutput_dir: " << dir.file("x") << "\nstages:\n  - dpo: {}\n";
  EXPECT_NE(testing::run_command(cat(testing::tandem_binary(), " pipeline --config ", dir.file("bad.yaml")), &out), 0);
  EXPECT_NE(out.find("unknown stage command 'dpo'"), std::string::npos) << out;
}

TEST(RlParity, BadConfigsNameTheKey) {
  testing::TempDir dir("rl_bad");
  const std::string model = make_model(dir);
  write_given(dir.file("given.jsonl"), grpo_batch());
  const std::string base = cat(testing::tandem_binary(), " grpo model_name_or_path=", model, " completions_file=",
                               dir.file("given.jsonl"), " output_dir=", dir.file("x"), " ");
  std::string out;
  EXPECT_NE(testing::run_command(base + "num_generation=4", &out), 0);
  EXPECT_NE(out.find("unknown key 'num_generation'"), std::string::npos) << out;
  EXPECT_NE(testing::run_command(base + "loss_type=tokenmean", &out), 0);
  EXPECT_NE(out.find("loss_type"), std::string::npos) << out;
  EXPECT_NE(testing::run_command(base + "algorithm=ppo", &out), 0);
  EXPECT_NE(out.find("[algorithm] is set by the command"), std::string::npos) << out;
  EXPECT_NE(testing::run_command(base + "reward_weights=[1,2]", &out), 0);
  EXPECT_NE(out.find("[reward_weights]"), std::string::npos) << out;
}

}  // namespace
}  // namespace tandem
