// Data parallelism through `mpirun --allow-run-as-root -np 2`, one thread a rank, against one
// process with the doubled batch: the same losses and final weights (1e-6 relative); ZeRO-1 on and
// off give the same weights (1e-6: the sharded norm sums its squares in another order); a 2-rank checkpoint resumes on 1 rank and on 2 ranks and
// continues the same loss curve; a rank that dies ends the job with a message, not a hang.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/file.h"
#include "core/json.h"
#include "core/rng.h"
#include "model/safetensors.h"
#include "testing/model_weights.h"
#include "testing/testing.h"

namespace tandem {
namespace {

const char* kMpirun = "mpirun --allow-run-as-root --oversubscribe -np 2 ";

struct DistRun {
  testing::TempDir dir{"dist"};
  DistRun() {
    std::string out;
    EXPECT_EQ(testing::run_command(cat(testing::tandem_binary(), " init-model --arch qwen3 --layers 2 --hidden 32 --heads 4 "
                                       "--kv-heads 2 --intermediate 64 --vocab 64 --seed 5 --out ", dir.file("model")), &out), 0)
        << out;
    Rng rng(11, 0);
    std::ofstream f(dir.file("train.jsonl"));
    for (int i = 0; i < 64; ++i) {
      const int len = 6 + int(rng.next_bits() % 14), start = int(rng.next_bits() % 64);
      Json ids = Json::array();
      for (int t = 0; t < len; ++t) ids.push_back((start + 3 * t) % 64);
      f << Json({{"input_ids", ids}}).dump() << "\n";
    }
  }
  // ranks 1: one process with batch 4; ranks 2: two processes with batch 2 each.
  std::string cmd(int ranks, const std::string& out, const std::string& extra = "") const {
    return cat(ranks == 2 ? kMpirun : "", testing::tandem_binary(), " --threads 1 sft model_name_or_path=", dir.file("model"),
               " train_file=", dir.file("train.jsonl"), " output_dir=", dir.file(out), " per_device_train_batch_size=",
               ranks == 2 ? 2 : 4, " max_steps=6 learning_rate=3e-3 warmup_steps=0 logging_steps=1 ", extra, " 2>&1");
  }
  std::vector<double> losses(const std::string& out) const {
    std::ifstream in(dir.file(out) + "/metrics.jsonl");
    std::vector<double> l;
    std::string line;
    while (std::getline(in, line)) l.push_back(Json::parse(line)["loss"].get<double>());
    return l;
  }
  std::vector<float> weights(const std::string& out) const {
    return testing::all_weights(dir.file(out) + "/model.safetensors");
  }
};

using testing::max_rel_diff;

TEST(Dist, TwoRanksEqualOneRankWithTheDoubledBatch) {
  DistRun r;
  std::string out;
  ASSERT_EQ(testing::run_command(r.cmd(1, "one"), &out), 0) << out;
  ASSERT_EQ(testing::run_command(r.cmd(2, "two"), &out), 0) << out;
  const auto l1 = r.losses("one"), l2 = r.losses("two");
  ASSERT_EQ(l1.size(), 6u);
  ASSERT_EQ(l2.size(), 6u) << "rank 0 alone writes metrics";
  for (size_t i = 0; i < l1.size(); ++i) EXPECT_NEAR(l2[i], l1[i], 1e-6 * std::fabs(l1[i])) << "step " << i + 1;
  const auto w1 = r.weights("one"), w2 = r.weights("two");
  ASSERT_EQ(w1.size(), w2.size());
  EXPECT_LT(max_rel_diff(w1, w2), 1e-6);
  EXPECT_GT(max_rel_diff(w1, r.weights("model")), 1e-4) << "the run must have moved the weights";
}

TEST(Dist, ZeroStageOneAndZeroGiveTheSameWeights) {
  DistRun r;
  std::string out;
  ASSERT_EQ(testing::run_command(r.cmd(2, "z1", "zero_stage=1"), &out), 0) << out;
  ASSERT_EQ(testing::run_command(r.cmd(2, "z0", "zero_stage=0"), &out), 0) << out;
  EXPECT_LT(max_rel_diff(r.weights("z0"), r.weights("z1")), 1e-6);
}

TEST(Dist, TwoRankCheckpointResumesOnOneAndOnTwoRanks) {
  DistRun r;
  std::string out;
  ASSERT_EQ(testing::run_command(r.cmd(2, "full", "save_steps=3"), &out), 0) << out;
  const auto full = r.losses("full");
  ASSERT_EQ(full.size(), 6u);
  for (int ranks : {1, 2}) {
    const std::string name = cat("resumed", ranks);
    std::filesystem::create_directories(r.dir.file(name));
    std::filesystem::copy(r.dir.file("full/checkpoint-3"), r.dir.file(name + "/checkpoint-3"),
                          std::filesystem::copy_options::recursive);
    ASSERT_EQ(testing::run_command(r.cmd(ranks, name, "save_steps=3 resume_from_checkpoint=latest"), &out), 0) << out;
    const auto l = r.losses(name);
    ASSERT_EQ(l.size(), 3u) << "steps 4..6 after the resume";
    for (size_t i = 0; i < 3; ++i)
      EXPECT_NEAR(l[i], full[3 + i], 1e-6 * std::fabs(full[3 + i])) << ranks << " ranks, step " << 4 + i;
  }
}

// DPO through the shared loop: pairs sharded over ranks, the mean over all pairs of the step. SGD,
// because AdamW divides by sqrt(v) and turns fp32 summation-order noise in near-zero gradients
// into full-size updates (AdamW agreement is the SFT case above).
TEST(Dist, DpoTwoRanksEqualOneRankWithTheDoubledBatch) {
  DistRun r;
  {
    Rng rng(12, 0);
    std::ofstream f(r.dir.file("pairs.jsonl"));
    for (int i = 0; i < 32; ++i) {
      Json prompt = Json::array(), chosen = Json::array(), rejected = Json::array();
      const int start = int(rng.next_bits() % 60);
      for (int t = 0; t < 5; ++t) prompt.push_back(start + t % 3);
      for (int t = 0; t < 4; ++t) chosen.push_back((start + 7 * t) % 64), rejected.push_back((start + 5 * t + 1) % 64);
      f << Json({{"prompt_input_ids", prompt}, {"chosen_input_ids", chosen}, {"rejected_input_ids", rejected}}).dump()
        << "\n";
    }
  }
  auto cmd = [&](int ranks, const std::string& out, const std::string& extra = "") {
    return cat(ranks == 2 ? kMpirun : "", testing::tandem_binary(), " --threads 1 dpo model_name_or_path=",
               r.dir.file("model"), " train_file=", r.dir.file("pairs.jsonl"), " output_dir=", r.dir.file(out),
               " per_device_train_batch_size=", ranks == 2 ? 2 : 4,
               " max_steps=4 optim=sgd learning_rate=0.05 logging_steps=1 ", extra, " 2>&1");
  };
  std::string out;
  ASSERT_EQ(testing::run_command(cmd(1, "dpo1"), &out), 0) << out;
  ASSERT_EQ(testing::run_command(cmd(2, "dpo2"), &out), 0) << out;
  const auto l1 = r.losses("dpo1"), l2 = r.losses("dpo2");
  ASSERT_EQ(l1.size(), 4u);
  ASSERT_EQ(l2.size(), 4u);
  for (size_t i = 0; i < l1.size(); ++i) EXPECT_NEAR(l2[i], l1[i], 1e-6 * std::fabs(l1[i])) << "step " << i + 1;
  EXPECT_LT(max_rel_diff(r.weights("dpo1"), r.weights("dpo2")), 1e-6);
  // The gradient reduced in many small buckets during the backward (with accumulation over two
  // micro-batches) gives the bits of one reduce after it.
  ASSERT_EQ(testing::run_command(cmd(2, "dpo_buckets", "gradient_accumulation_steps=2 ddp_bucket_cap_mb=0.0005"), &out), 0) << out;
  ASSERT_EQ(testing::run_command(cmd(2, "dpo_after", "gradient_accumulation_steps=2 ddp_bucket_cap_mb=0"), &out), 0) << out;
  EXPECT_EQ(r.weights("dpo_buckets"), r.weights("dpo_after"));
  EXPECT_EQ(r.losses("dpo_buckets"), r.losses("dpo_after"));
}

// The overlapped reduce: with buckets of at least 131 floats, every backward stage (layer, and the
// embedding with the head and final norm) closes one, reduced while the rest of the last
// micro-batch's backward runs. That gives bit for bit
// the weights of the reduce after the backward, with ZeRO-1 and without, and those of one process
// with the doubled batch to 1e-6.
TEST(Dist, BucketsReducedDuringTheBackwardEqualOneReduceAfterIt) {
  DistRun r;
  std::string out;
  const std::string accum = "gradient_accumulation_steps=2 ";
  ASSERT_EQ(testing::run_command(r.cmd(1, "one", accum), &out), 0) << out;
  for (const std::string zero : {"zero_stage=1", "zero_stage=0"}) {
    ASSERT_EQ(testing::run_command(r.cmd(2, "buckets", accum + zero + " ddp_bucket_cap_mb=0.0005"), &out), 0) << out;
    ASSERT_EQ(testing::run_command(r.cmd(2, "after", accum + zero + " ddp_bucket_cap_mb=0"), &out), 0) << out;
    EXPECT_EQ(r.weights("buckets"), r.weights("after")) << zero;
    EXPECT_EQ(r.losses("buckets"), r.losses("after")) << zero;
    EXPECT_LT(max_rel_diff(r.weights("one"), r.weights("buckets")), 1e-6) << zero;
    const auto m = testing::read_jsonl(r.dir.file("buckets") + "/metrics.jsonl");
    ASSERT_FALSE(m.empty());
    EXPECT_TRUE(m[0].contains("time/grad_sync"));
    std::filesystem::remove_all(r.dir.file("buckets"));
    std::filesystem::remove_all(r.dir.file("after"));
  }
}

TEST(Dist, ADeadRankEndsTheJobWithAMessage) {
  DistRun r;
  std::string out;
  const auto t0 = std::chrono::steady_clock::now();
  const int rc = testing::run_command(
      cat("TANDEM_DIST_TIMEOUT_S=20 TANDEM_DEBUG_KILL_AT_STEP=2 TANDEM_DEBUG_KILL_RANK=1 ", r.cmd(2, "dead")), &out);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_NE(rc, 0) << out;
  EXPECT_LT(secs, 60) << "the job must end, not hang";
  EXPECT_NE(out.find("rank 1"), std::string::npos) << out;
}

}  // namespace
}  // namespace tandem
