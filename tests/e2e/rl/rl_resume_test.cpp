// Exact resume of `tandem grpo`, `tandem relift` and `tandem chord_mu` with its own expert data
// (expert_file) from a checkpoint taken inside a rollout batch: the batch in flight (sequences,
// behaviour and reference log-probs, advantages, mini-batch order), ReLIFT's buffer and the expert
// data's position are saved, so a run SIGKILLed after step 3 and resumed from checkpoint-2 (rollout
// batch 1 of 2, optimizer steps 1-4 of 4 per batch) logs the same steps and writes the same weights
// as the uninterrupted run, bit for bit (one thread).
#include <gtest/gtest.h>

#include <fstream>

#include "core/file.h"
#include "core/json.h"
#include "testing/testing.h"

namespace tandem {
namespace {

struct ResumeRun {
  testing::TempDir dir{"rl_resume"};
  std::string model = dir.file("model");
  ResumeRun() {
    std::string out;
    EXPECT_EQ(testing::run_command(cat(testing::tandem_binary(), " init-model --arch qwen3 --layers 2 --hidden 32 --heads 4 "
                                       "--kv-heads 2 --intermediate 64 --vocab 64 --seed 9 --out ", model), &out), 0) << out;
    std::ofstream f(dir.file("prompts.jsonl"));
    for (int i = 0; i < 8; ++i)
      f << Json({{"input_ids", {3 + i, 7, 2 * i}}, {"answer", cat(i, " ", 2 * i + 1)}, {"demonstration_ids", {i, 2 * i + 1}}})
               .dump() << "\n";
    std::ofstream e(dir.file("expert.jsonl"));  // CHORD's own expert data: other prompts, other solutions
    for (int i = 0; i < 5; ++i)
      e << Json({{"input_ids", {40 + i, 9}}, {"demonstration_ids", {50 + i, 11, 12 + i}}}).dump() << "\n";
  }
  std::string cmd(const std::string& algo, const std::string& out_dir, const std::string& extra) const {
    // fuzzy rewards vary continuously, so every group has non-zero advantages to train on.
    return cat(testing::tandem_binary(), " --threads 1 ", algo, " model_name_or_path=", model, " train_file=",
               dir.file("prompts.jsonl"), " output_dir=", out_dir,
               " num_generations=4 train_batch_size=4 max_new_tokens=3 ppo_epochs=2 num_mini_batches=2 max_steps=6",
               " learning_rate=5e-3 save_steps=1 temperature=1.5 'rewards=[{type: fuzzy, column: answer}]' ", extra);
  }
};

void expect_same_run(const ResumeRun& r, const std::string& algo, const std::string& extra) {
  const std::string full = r.dir.file(algo + "_full"), killed = r.dir.file(algo + "_killed");
  std::string out;
  ASSERT_EQ(testing::run_command(r.cmd(algo, full, extra), &out), 0) << out;
  EXPECT_NE(testing::run_command("TANDEM_DEBUG_KILL_AT_STEP=3 " + r.cmd(algo, killed, extra), &out), 0) << "should be killed";
  ASSERT_TRUE(file_exists(killed + "/checkpoint-2/trainer_state.json"));
  EXPECT_FALSE(file_exists(killed + "/checkpoint-3"));
  const Json st = Json::parse(read_file(killed + "/checkpoint-2/trainer_state.json"));
  ASSERT_GE(st["algorithm"]["inflight"]["batches"].size(), 1u) << "rollout batch 1 is in flight at step 2";
  EXPECT_EQ(st["algorithm"]["inflight"]["batches"][0]["next"].get<int64_t>(), 2);
  ASSERT_EQ(testing::run_command(r.cmd(algo, killed, extra + " resume_from_checkpoint=latest"), &out), 0) << out;
  const auto a = testing::read_jsonl(full + "/metrics.jsonl"), b = testing::read_jsonl(killed + "/metrics.jsonl");
  ASSERT_EQ(a.size(), 6u);
  ASSERT_EQ(b.size(), 6u);
  for (size_t i = 0; i < a.size(); ++i)  // every metric but the clocks
    for (auto it = a[i].begin(); it != a[i].end(); ++it) {
      const std::string& k = it.key();
      if (k.rfind("time/", 0) == 0 || k == "elapsed" || k == "tokens_per_s") continue;
      EXPECT_EQ(it.value(), b[i].value(k, Json())) << algo << " step " << i + 1 << " " << k;
    }
  EXPECT_EQ(read_file(full + "/model.safetensors"), read_file(killed + "/model.safetensors")) << algo;
}

TEST(RlResume, GrpoInsideARolloutBatchIsBitIdentical) {
  ResumeRun r;
  expect_same_run(r, "grpo", "");
}

// ReLIFT with a buffer of 2 prompts: fuzzy rewards above 0.5 are rare here, so prompts enter the
// buffer, and its SFT batches are in flight beside the RL batches.
TEST(RlResume, ReliftBufferAndSftBatchResume) {
  ResumeRun r;
  expect_same_run(r, "relift", "sft_data_size=2 success_threshold=0.9");
}

// CHORD-mu drawing its expert sub-batch from expert_file: the rollout batch after the resume takes
// the expert rows that follow the ones already used, so the expert data's position must be restored.
TEST(RlResume, ChordExpertFilePositionResumes) {
  ResumeRun r;
  expect_same_run(r, "chord_mu", "expert_data_ratio=0.25 expert_file=" + r.dir.file("expert.jsonl"));
}

TEST(RlResume, ExpertFileNeedsAnExpertSubBatch) {
  ResumeRun r;
  std::string out;
  EXPECT_NE(testing::run_command(r.cmd("grpo", r.dir.file("grpo_expert"), "expert_file=" + r.dir.file("expert.jsonl")), &out), 0);
  EXPECT_NE(out.find("[expert_file]"), std::string::npos) << out;
  EXPECT_NE(out.find("expert_data_ratio > 0"), std::string::npos) << out;
}

}  // namespace
}  // namespace tandem
