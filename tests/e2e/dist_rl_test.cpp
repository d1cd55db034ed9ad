// Online RL data parallel through `mpirun --allow-run-as-root -np 2`, one thread a rank, against one
// process with the same global batch (train_batch_size prompts x num_generations, split over the
// ranks): GRPO sampling its completions (and evaluating held-out prompts), and the presets whose
// advantages or filter need the whole batch (REINFORCE++ whitening, DAPO's dynamic sampling over
// several generation batches, PPO's GAE whitening with a value head) log the same losses and
// metrics and write the same weights to 1e-6; the hybrids run and agree too; a 2-rank checkpoint
// taken inside a rollout batch resumes bit for bit on 2 ranks and to 1e-6 on 1 rank.
// Why 1e-6 and not bitwise: the ranks' gradients are summed in another order than one process
// accumulates its micro-batches, and a rank's rollout engine decodes fewer sequences together
// (the recorded log-probs may differ in the last bit). Metrics that are differences of nearly
// equal log-probs after an update (ppo_kl, logprob_gap) agree to 1e-6 absolutely.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/file.h"
#include "core/json.h"
#include "model/safetensors.h"
#include "testing/model_weights.h"
#include "testing/testing.h"

namespace tandem {
namespace {

struct RlDistRun {
  testing::TempDir dir{"dist_rl"};
  std::string model = dir.file("model");
  RlDistRun() {
    std::string out;
    EXPECT_EQ(testing::run_command(cat(testing::tandem_binary(), " init-model --arch qwen3 --layers 2 --hidden 32 --heads 4 "
                                       "--kv-heads 2 --intermediate 64 --vocab 64 --seed 9 --out ", model), &out), 0) << out;
    std::ofstream f(dir.file("prompts.jsonl")), e(dir.file("eval.jsonl"));
    for (int i = 0; i < 8; ++i)
      f << Json({{"input_ids", {3 + i, 7, 2 * i}}, {"answer", cat(i, " ", 2 * i + 1)}, {"demonstration_ids", {i, 2 * i + 1}}})
               .dump() << "\n";
    for (int i = 0; i < 3; ++i) e << Json({{"input_ids", {20 + i, 5}}, {"answer", cat(i + 1, " ", i)}}).dump() << "\n";
  }
  // Rollout batches of 4 prompts x 4 samples; 2 epochs x 2 mini-batches of 8 sequences, micro-batches of 4.
  std::string cmd(int ranks, const std::string& algo, const std::string& out, const std::string& extra) const {
    // fuzzy rewards vary continuously, so every group has non-zero advantages to train on.
    return cat(ranks == 2 ? "mpirun --allow-run-as-root --oversubscribe -np 2 " : "", testing::tandem_binary(),
               " --threads 1 ", algo, " model_name_or_path=", model, " train_file=", dir.file("prompts.jsonl"),
               " output_dir=", dir.file(out),
               " num_generations=4 train_batch_size=4 max_new_tokens=3 ppo_epochs=2 num_mini_batches=2 max_steps=6",
               " per_device_train_batch_size=4 learning_rate=5e-3 temperature=1.5 logging_steps=1",
               " 'rewards=[{type: fuzzy, column: answer}]' ", extra, " 2>&1");
  }
  std::vector<Json> metrics(const std::string& out) const { return testing::read_jsonl(dir.file(out) + "/metrics.jsonl"); }
  std::vector<float> weights(const std::string& out) const {
    return testing::all_weights(dir.file(out) + "/model.safetensors");
  }
};

using testing::max_rel_diff;

bool is_clock(const std::string& k) { return k.rfind("time/", 0) == 0 || k == "elapsed" || k == "tokens_per_s"; }

// Every metric of every step of b equals a's: the loss to 1e-6 of the run's largest |loss| (the loss
// of a GRPO batch's first mini-batch is zero up to rounding: -mean(A) at ratio 1), or to loss_floor
// when every step is such a first mini-batch (the whole run's losses are then rounding noise of
// sums of unit-scale terms, whose order differs with the number of ranks), the others to 1e-6
// relative or absolute.
void expect_same_metrics(const std::vector<Json>& a, const std::vector<Json>& b, const std::string& what,
                         double loss_floor = 0) {
  ASSERT_EQ(a.size(), b.size()) << what;
  double loss_scale = 0;
  for (const Json& s : a) loss_scale = std::max(loss_scale, std::fabs(s["loss"].get<double>()));
  for (size_t i = 0; i < a.size(); ++i)
    for (auto it = a[i].begin(); it != a[i].end(); ++it) {
      const std::string& k = it.key();
      if (is_clock(k)) continue;
      ASSERT_TRUE(b[i].contains(k)) << what << " step " << i + 1 << " lacks " << k;
      if (!it.value().is_number()) {
        EXPECT_EQ(it.value(), b[i][k]) << what << " step " << i + 1 << " " << k;
        continue;
      }
      const double x = it.value().get<double>(), y = b[i][k].get<double>();
      const double tol = k == "loss" ? std::max(1e-6 * loss_scale, loss_floor) : std::max(1e-6 * std::fabs(x), 1e-6);
      EXPECT_NEAR(y, x, tol) << what << " step " << i + 1 << " " << k;
    }
}

void expect_two_ranks_equal_one(const RlDistRun& r, const std::string& algo, const std::string& extra,
                                double weight_tol = 1e-6) {
  std::string out;
  ASSERT_EQ(testing::run_command(r.cmd(1, algo, algo + "1", extra), &out), 0) << out;
  ASSERT_EQ(testing::run_command(r.cmd(2, algo, algo + "2", extra), &out), 0) << out;
  const auto m1 = r.metrics(algo + "1"), m2 = r.metrics(algo + "2");
  ASSERT_EQ(m1.size(), 6u) << algo;
  ASSERT_EQ(m2.size(), 6u) << algo << ": rank 0 alone writes metrics";
  expect_same_metrics(m1, m2, algo);
  const auto w1 = r.weights(algo + "1"), w2 = r.weights(algo + "2");
  ASSERT_EQ(w1.size(), w2.size());
  EXPECT_LT(max_rel_diff(w1, w2), weight_tol) << algo;
}

TEST(DistRl, GrpoSamplingTwoRanksEqualOneRank) {
  RlDistRun r;
  expect_two_ranks_equal_one(r, "grpo", cat("eval_file=", r.dir.file("eval.jsonl"), " eval_steps=3"));
  const auto m = r.metrics("grpo2");
  EXPECT_TRUE(m[2].contains("eval_reward")) << "held-out prompts are sampled over the ranks and gathered";
  EXPECT_EQ(m[0]["sequences"].get<int64_t>(), 16) << "the global batch, not a rank's share";
  const auto w0 = r.weights("model"), w = r.weights("grpo2");
  EXPECT_GT(max_rel_diff(w0, w), 1e-3) << "the run must have moved the weights";
}

// Advantages whitened over the whole batch: a rank's share alone would give other numbers.
TEST(DistRl, ReinforcePpWhitensOverTheWholeBatch) {
  RlDistRun r;
  expect_two_ranks_equal_one(r, "reinforce_pp", "");
}

// DAPO's filter decides on the gathered groups: the same groups are dropped and the same number of
// generation batches drawn as by one process.
TEST(DistRl, DapoDynamicSamplingDecidesOnTheWholeBatch) {
  RlDistRun r;
  expect_two_ranks_equal_one(r, "dapo", "success_threshold=0.3");
  bool refilled = false, dropped = false;
  for (const Json& s : r.metrics("dapo2")) {
    refilled |= s.value("filter/num_gen_batches", 0) > 1;
    dropped |= s.value("filter/frac_groups_dropped", 0.0) > 0;
  }
  EXPECT_TRUE(refilled && dropped) << "the filter must have dropped groups and drawn more prompts";
}

// A value head's V_old is computed in shares and gathered; GAE whitens over the whole batch.
TEST(DistRl, PpoValuesAndGaeOverTheWholeBatch) {
  RlDistRun r;
  expect_two_ranks_equal_one(r, "ppo", "");
}

// The hybrids' demonstrations, expert rows, hints and ReLIFT's SFT batches are made on the whole
// batch by every rank. SGD: AdamW's 1/sqrt(v) turns the summation-order noise of near-zero
// gradients into full-size updates (the presets above show AdamW agreement).
TEST(DistRl, HybridsTwoRanksEqualOneRank) {
  RlDistRun r;
  for (const std::string algo : {"luffy", "chord", "srft", "uft", "hpt", "relift", "remax"})
    expect_two_ranks_equal_one(r, algo, cat("optim=sgd learning_rate=0.05", algo == "relift" ? " sft_data_size=2 success_threshold=0.9" : ""));
}

// GRPO with `shape` on 3 ranks against one process: the same metrics (every step a first
// mini-batch, so the losses are compared to an absolute 1e-6) and weights. A collective that a
// rank misses ends the 3-rank job within 60 s instead of hanging the test.
void expect_three_ranks_equal_one(const RlDistRun& r, const std::string& shape, const std::string& what) {
  std::string out;
  ASSERT_EQ(testing::run_command(r.cmd(1, "grpo", "one", shape), &out), 0) << out;
  const std::string three = r.cmd(2, "grpo", "three", shape);
  ASSERT_EQ(testing::run_command(std::string("TANDEM_DIST_TIMEOUT_S=60 mpirun --allow-run-as-root --oversubscribe -np 3 ") +
                                     three.substr(three.find(testing::tandem_binary())), &out), 0) << out;
  expect_same_metrics(r.metrics("one"), r.metrics("three"), what, 1e-6);
  EXPECT_LT(max_rel_diff(r.weights("one"), r.weights("three")), 1e-6) << what;
}

// 3 ranks, 2 prompts of 3 samples in micro-batches of 2: one rank samples nothing and each trains
// one micro-batch; the gathered batch (ranks sending 0 and unequal sizes) still makes the update.
TEST(DistRl, ThreeRanksWithARankWithoutPrompts) {
  RlDistRun r;
  expect_three_ranks_equal_one(
      r, "num_generations=3 train_batch_size=2 ppo_epochs=1 num_mini_batches=1 per_device_train_batch_size=2 "
         "max_steps=3 optim=sgd learning_rate=0.05", "3 ranks");
}

// 3 ranks and a mini-batch of 2 micro-batches: one rank has no backward in a step, yet starts every
// gradient bucket (of 131 floats, reduced during the others' backward) in the same order.
TEST(DistRl, ARankWithoutABackwardStillReducesEveryBucket) {
  RlDistRun r;
  expect_three_ranks_equal_one(
      r, "num_generations=2 train_batch_size=2 ppo_epochs=1 num_mini_batches=1 per_device_train_batch_size=2 "
         "max_steps=3 optim=sgd learning_rate=0.05 ddp_bucket_cap_mb=0.0005", "3 ranks, one without a backward");
}

// Killed after step 3, resumed from checkpoint-2 (inside rollout batch 1, whose batch in flight the
// checkpoint holds): on 2 ranks bit for bit, on 1 rank to 1e-6.
TEST(DistRl, TwoRankCheckpointResumesOnTwoAndOneRanks) {
  RlDistRun r;
  std::string out;
  ASSERT_EQ(testing::run_command(r.cmd(2, "grpo", "full", "save_steps=1"), &out), 0) << out;
  EXPECT_NE(testing::run_command("TANDEM_DEBUG_KILL_AT_STEP=3 " + r.cmd(2, "grpo", "killed", "save_steps=1"), &out), 0);
  ASSERT_TRUE(file_exists(r.dir.file("killed/checkpoint-2/trainer_state.json"))) << out;
  const Json st = Json::parse(read_file(r.dir.file("killed/checkpoint-2/trainer_state.json")));
  ASSERT_GE(st["algorithm"]["inflight"]["batches"].size(), 1u) << "rollout batch 1 is in flight at step 2";
  std::filesystem::create_directories(r.dir.file("one"));
  std::filesystem::copy(r.dir.file("killed/checkpoint-2"), r.dir.file("one/checkpoint-2"), std::filesystem::copy_options::recursive);
  std::filesystem::remove_all(r.dir.file("killed/checkpoint-3"));
  ASSERT_EQ(testing::run_command(r.cmd(2, "grpo", "killed", "save_steps=1 resume_from_checkpoint=latest"), &out), 0) << out;
  ASSERT_EQ(testing::run_command(r.cmd(1, "grpo", "one", "save_steps=1 resume_from_checkpoint=latest"), &out), 0) << out;
  const auto full = r.metrics("full"), two = r.metrics("killed"), one = r.metrics("one");
  ASSERT_EQ(full.size(), 6u);
  ASSERT_EQ(two.size(), 6u);
  for (size_t i = 0; i < full.size(); ++i)
    for (auto it = full[i].begin(); it != full[i].end(); ++it) {
      if (is_clock(it.key())) continue;
      EXPECT_EQ(it.value(), two[i].value(it.key(), Json())) << "step " << i + 1 << " " << it.key();
    }
  EXPECT_EQ(read_file(r.dir.file("full/model.safetensors")), read_file(r.dir.file("killed/model.safetensors")));
  ASSERT_EQ(one.size(), 4u) << "steps 3..6 after the resume";
  expect_same_metrics(std::vector<Json>(full.begin() + 2, full.end()), one, "resumed on 1 rank");
  EXPECT_LT(max_rel_diff(r.weights("full"), r.weights("one")), 1e-6);
}

}  // namespace
}  // namespace tandem
