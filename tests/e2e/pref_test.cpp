// The preference trainers end to end through the command line on a tiny random model and a
// synthetic set where chosen and rejected differ learnably (chosen completions end with token A,
// rejected with token B, after a shared random middle): held-out preference accuracy ends well
// above chance for dpo, simpo, orpo, kto and rm (fixed seeds); one SGD step (lr 1, no clipping) of
// dpo equals w - grad from the PyTorch reference; the reward model folder has transformers'
// layout and `tandem score` agrees with the PyTorch reference score; a killed dpo run with
// precomputed reference log-probs resumes to the same metrics.
#include <gtest/gtest.h>

#include <fstream>

#include "core/file.h"
#include "core/json.h"
#include "core/rng.h"
#include "model/safetensors.h"
#include "testing/testing.h"

namespace tandem {
namespace {

constexpr int kA = 5, kB = 6;  // not the eos id 1, which the reward model also takes as pad_token_id

// Pairs: prompt of 2-4 tokens, shared middle of 1-3 tokens, then A (chosen) or B (rejected).
void write_pairs(const std::string& path, int n, uint64_t seed, bool unpaired) {
  Rng rng(seed, 11);
  std::ofstream f(path);
  for (int i = 0; i < n; ++i) {
    Json prompt = Json::array(), mid = Json::array();
    const int lp = 2 + int(rng.next_bits() % 3), lm = 1 + int(rng.next_bits() % 3);
    for (int t = 0; t < lp; ++t) prompt.push_back(8 + int(rng.next_bits() % 56));
    for (int t = 0; t < lm; ++t) mid.push_back(8 + int(rng.next_bits() % 56));
    Json chosen = mid, rejected = mid;
    chosen.push_back(kA);
    rejected.push_back(kB);
    if (unpaired) {
      f << Json({{"prompt_input_ids", prompt}, {"completion_input_ids", chosen}, {"label", true}}).dump() << "\n";
      f << Json({{"prompt_input_ids", prompt}, {"completion_input_ids", rejected}, {"label", false}}).dump() << "\n";
    } else {
      f << Json({{"prompt_input_ids", prompt}, {"chosen_input_ids", chosen}, {"rejected_input_ids", rejected}}).dump() << "\n";
    }
  }
}

struct PrefRun {
  testing::TempDir dir{"pref"};
  std::string model() const { return dir.file("model"); }
  PrefRun() {
    std::string out;
    EXPECT_EQ(testing::run_command(cat(testing::tandem_binary(), " init-model --arch qwen3 --layers 2 --hidden 32 --heads 4 "
                                       "--kv-heads 2 --intermediate 64 --vocab 64 --seed 3 --out ", model()), &out), 0) << out;
    write_pairs(dir.file("train.jsonl"), 64, 1, false);
    write_pairs(dir.file("eval.jsonl"), 16, 2, false);
    write_pairs(dir.file("train_u.jsonl"), 64, 1, true);
    write_pairs(dir.file("eval_u.jsonl"), 16, 2, true);
  }
  std::string cmd(const std::string& algo, const std::string& out_dir, const std::string& extra) const {
    const bool u = algo == "kto";
    return cat(testing::tandem_binary(), " --threads 1 ", algo, " model_name_or_path=", model(), " train_file=",
               dir.file(u ? "train_u.jsonl" : "train.jsonl"), " eval_file=", dir.file(u ? "eval_u.jsonl" : "eval.jsonl"),
               " output_dir=", out_dir, " ", extra);
  }
};

std::vector<Json> metrics(const std::string& dir) { return testing::read_jsonl(dir + "/metrics.jsonl"); }

struct Case {
  const char* algo;
  const char* extra;
  const char* acc;  // held-out accuracy metric
};

TEST(PrefE2e, HeldOutAccuracyRisesWellAboveChance) {
  PrefRun r;
  const Case cases[] = {
      {"dpo", "beta=0.5", "eval_rewards/accuracies"},
      {"simpo", "", "eval_rewards/accuracies"},
      {"orpo", "", "eval_rewards/accuracies"},
      {"kto", "beta=0.5", "eval_rewards/accuracies"},
      {"rm", "", "eval_accuracy"},
  };
  for (const Case& c : cases) {
    const std::string out_dir = r.dir.file(std::string("run_") + c.algo);
    std::string out;
    ASSERT_EQ(testing::run_command(r.cmd(c.algo, out_dir, cat("max_steps=40 per_device_train_batch_size=8 learning_rate=3e-3 "
                                                                 "warmup_steps=2 eval_steps=40 logging_steps=1 ", c.extra)), &out), 0)
        << c.algo << "\n" << out;
    const auto m = metrics(out_dir);
    ASSERT_EQ(m.size(), 40u) << c.algo;
    ASSERT_TRUE(m.back().contains(c.acc)) << c.algo << " " << m.back().dump();
    EXPECT_GE(m.back()[c.acc].get<double>(), 0.9) << c.algo << " " << m.back().dump();
    EXPECT_LT(m.back()["loss"].get<double>(), m.front()["loss"].get<double>()) << c.algo;
    for (const char* k : {"rewards/chosen", "rewards/rejected", "rewards/margins"})
      EXPECT_TRUE(m.back().contains(k)) << c.algo << " " << k;
    EXPECT_TRUE(file_exists(out_dir + "/model.safetensors")) << c.algo;
  }
  // TRL's metric names hold '/': tandem plot draws them as flat files.
  std::string out;
  ASSERT_EQ(testing::run_command(cat(testing::tandem_binary(), " plot ", r.dir.file("run_dpo")), &out), 0) << out;
  EXPECT_EQ(read_file(r.dir.file("run_dpo") + "/plots/eval_rewards_accuracies.png").substr(0, 4), "\x89PNG");
}

TEST(PrefE2e, OneDpoSgdStepEqualsWeightsMinusTorchGradient) {
  if (!testing::have_debian_torch()) GTEST_SKIP() << "no /usr/bin/python3 with torch";
  PrefRun r;
  const Json pairs = Json::array({{{"prompt", {3, 9, 12}}, {"chosen", {40, 7, 21}}, {"rejected", {8}}},
                                  {{"prompt", {5}}, {"chosen", {6, 6, 2, 1}}, {"rejected", {33, 34}}},
                                  {{"prompt", {1, 2, 3, 4, 5}}, {"chosen", {60}}, {"rejected", {61, 62, 63}}}});
  {
    std::ofstream f(r.dir.file("three.jsonl"));
    for (const auto& p : pairs)
      f << Json({{"prompt_input_ids", p["prompt"]}, {"chosen_input_ids", p["chosen"]}, {"rejected_input_ids", p["rejected"]}}).dump() << "\n";
  }
  std::ofstream(r.dir.file("pairs.json")) << pairs.dump();
  std::string out;
  // The policy starts equal to the reference, so h = 0 and the gradient is beta/2 (d logp_w - d logp_l) per pair:
  // perturbing nothing keeps the check simple yet every parameter moves.
  ASSERT_EQ(testing::run_command(cat(testing::tandem_binary(), " --threads 1 dpo model_name_or_path=", r.model(), " train_file=",
                                     r.dir.file("three.jsonl"), " output_dir=", r.dir.file("sgd"),
                                     " optim=sgd learning_rate=1 max_grad_norm=0 weight_decay=0 max_steps=1 "
                                     "per_device_train_batch_size=3 beta=0.5"), &out), 0) << out;
  ASSERT_EQ(testing::run_command(cat(testing::debian_python(), " ", testing::source_dir(), "/tests/reference/torch_dpo_step.py --model ",
                                     r.model(), " --pairs ", r.dir.file("pairs.json"), " --beta 0.5 --out ", r.dir.file("ref.safetensors")),
                                 &out), 0) << out;
  model::SafetensorsFile ref(r.dir.file("ref.safetensors")), w0(r.model() + "/model.safetensors"), w1(r.dir.file("sgd") + "/model.safetensors");
  int checked = 0;
  for (const auto& e : w0.entries()) {
    const auto* g = ref.find("grad." + e.name);
    ASSERT_NE(g, nullptr) << e.name;
    const auto* e1 = w1.find(e.name);
    ASSERT_NE(e1, nullptr) << e.name;
    const float* a = w0.view(e).data<float>();
    const float* b = w1.view(*e1).data<float>();
    const double* gd = ref.view(*g).data<double>();
    std::vector<float> got(size_t(w0.view(e).numel()));
    std::vector<double> want(got.size());
    for (size_t i = 0; i < got.size(); ++i) got[i] = b[i], want[i] = double(a[i]) - gd[i];
    EXPECT_TRUE(testing::all_close(got, want, {1e-5, 1e-5}, "dpo sgd step " + e.name));
    ++checked;
  }
  EXPECT_GT(checked, 10);
  const auto m = metrics(r.dir.file("sgd"));
  ASSERT_EQ(m.size(), 1u);
  EXPECT_NEAR(m[0]["loss"].get<double>(), ref.view(*ref.find("loss")).data<double>()[0], 1e-6);
}

TEST(PrefE2e, RewardModelFolderAndScoreMatchTorch) {
  PrefRun r;
  const std::string rm = r.dir.file("rm");
  std::string out;
  ASSERT_EQ(testing::run_command(r.cmd("rm", rm, "max_steps=3 per_device_train_batch_size=4 learning_rate=1e-3"), &out), 0) << out;
  const Json cfg = Json::parse(read_file(rm + "/config.json"));
  EXPECT_EQ(cfg["architectures"][0], "Qwen3ForSequenceClassification");
  EXPECT_EQ(cfg["num_labels"], 1);
  model::SafetensorsFile f(rm + "/model.safetensors");
  ASSERT_NE(f.find("score.weight"), nullptr);
  EXPECT_EQ(f.find("score.weight")->shape, (Shape{1, 32}));
  EXPECT_EQ(f.find("lm_head.weight"), nullptr);
  // Score sequences with tandem score and with the PyTorch reference, read where transformers reads a
  // sequence-classification head: the last token that is not pad_token_id (the third ends with it).
  const int64_t pad = cfg["pad_token_id"].get<int64_t>();
  ASSERT_EQ(pad, 1);  // the eos id of init-model's config, taken as pad because it had none
  const std::vector<std::vector<int>> seqs = {{3, 9, 12, 40, 7, kA}, {5, 6, 33, kB}, {7, 8, 9, int(pad)}};
  {
    std::ofstream in(r.dir.file("score_in.jsonl"));
    for (const auto& s : seqs) in << Json({{"input_ids", s}}).dump() << "\n";
  }
  ASSERT_EQ(testing::run_command(cat(testing::tandem_binary(), " score --model ", rm, " --data ", r.dir.file("score_in.jsonl"),
                                     " --out ", r.dir.file("scores.jsonl")), &out), 0) << out;
  std::vector<double> got;
  {
    std::ifstream in(r.dir.file("scores.jsonl"));
    std::string line;
    while (std::getline(in, line)) got.push_back(Json::parse(line)["score"].get<double>());
  }
  ASSERT_EQ(got.size(), seqs.size());
  if (!testing::have_debian_torch()) GTEST_SKIP() << "no /usr/bin/python3 with torch";
  // One padded batch (segment -1 marks padding), one PyTorch call.
  const size_t T = 6;
  Json ids = Json::array(), segs = Json::array();
  for (const auto& q : seqs) {
    Json row = Json::array(), seg = Json::array();
    for (size_t t = 0; t < T; ++t) row.push_back(t < q.size() ? q[t] : 0), seg.push_back(t < q.size() ? 0 : -1);
    ids.push_back(row);
    segs.push_back(seg);
  }
  std::ofstream(r.dir.file("b.json")) << Json({{"input_ids", ids}, {"segment_ids", segs}}).dump();
  ASSERT_EQ(testing::run_command(cat(testing::debian_python(), " ", testing::source_dir(), "/tests/reference/torch_decoder.py --model ",
                                     rm, " --batch ", r.dir.file("b.json"), " --no-grad --out ", r.dir.file("v.safetensors")), &out), 0) << out;
  model::SafetensorsFile v(r.dir.file("v.safetensors"));
  const double* val = v.view(*v.find("value")).data<double>();  // [B, T]
  for (size_t i = 0; i < seqs.size(); ++i) {
    size_t at = 0;
    for (size_t t = 0; t < seqs[i].size(); ++t)
      if (seqs[i][t] != pad) at = t;
    EXPECT_NEAR(got[i], val[i * T + at], 1e-4 * (1 + std::abs(val[i * T + at]))) << i;
  }
}

TEST(PrefE2e, KilledDpoRunWithPrecomputedRefResumesToTheSameMetrics) {
  PrefRun r;
  const std::string args = "max_steps=8 per_device_train_batch_size=4 gradient_accumulation_steps=2 learning_rate=2e-3 "
                           "save_steps=2 logging_steps=1 precompute_ref_log_probs=true";
  std::string out;
  ASSERT_EQ(testing::run_command(r.cmd("dpo", r.dir.file("full"), args), &out), 0) << out;
  const std::string killed = r.dir.file("killed");
  EXPECT_NE(testing::run_command("TANDEM_DEBUG_KILL_AT_STEP=5 " + r.cmd("dpo", killed, args), &out), 0);
  ASSERT_EQ(testing::run_command(r.cmd("dpo", killed, args + " resume_from_checkpoint=latest"), &out), 0) << out;
  const auto a = metrics(r.dir.file("full")), b = metrics(killed);
  ASSERT_EQ(a.size(), 8u);
  ASSERT_EQ(b.size(), 8u);
  for (size_t i = 0; i < a.size(); ++i)
    for (const char* k : {"loss", "grad_norm", "rewards/margins", "epoch"}) EXPECT_EQ(a[i][k], b[i][k]) << "step " << i + 1 << " " << k;
  EXPECT_EQ(read_file(r.dir.file("full") + "/model.safetensors"), read_file(killed + "/model.safetensors"));
}

}  // namespace
}  // namespace tandem
