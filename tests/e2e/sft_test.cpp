// `tandem sft` end to end through the command line, on a tiny random model and a synthetic
// learnable set: the loss falls and the held-out loss follows; a run killed with SIGKILL and
// resumed gives the same metrics as an uninterrupted run (bit for bit, one thread); k
// micro-batches equal one batch k times larger; one SGD step with lr = 1 equals w - grad from the
// PyTorch reference; bad configs fail naming the key. bf16=true: the loss falls as under fp32, a
// resumed run is still bit-identical, and a CPU without AVX512_BF16 is refused at startup.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/file.h"
#include "core/json.h"
#include "backend/registry.h"
#include "core/rng.h"
#include "model/safetensors.h"
#include "testing/testing.h"

namespace tandem {
namespace {

// Sequences of an arithmetic progression mod V: after two tokens the rest is predictable.
void write_data(const std::string& path, int n, int len, uint64_t seed) {
  Rng rng(seed, 3);
  std::ofstream f(path);
  for (int i = 0; i < n; ++i) {
    const int start = int(rng.next_bits() % 64), stride = 1 + int(rng.next_bits() % 2);
    Json ids = Json::array(), mask = Json::array();
    for (int t = 0; t < len; ++t) {
      ids.push_back((start + t * stride) % 64);
      mask.push_back(t >= 2 ? 1 : 0);
    }
    f << Json({{"input_ids", ids}, {"completion_mask", mask}}).dump() << "\n";
  }
}

struct SftRun {
  testing::TempDir dir{"sft"};
  std::string model() const { return dir.file("model"); }
  SftRun() {
    std::string out;
    EXPECT_EQ(testing::run_command(cat(testing::tandem_binary(), " init-model --arch qwen3 --layers 2 --hidden 32 --heads 4 "
                                       "--kv-heads 2 --intermediate 64 --vocab 64 --seed 3 --out ", model()), &out), 0) << out;
    write_data(dir.file("train.jsonl"), 48, 12, 1);
    write_data(dir.file("eval.jsonl"), 8, 12, 2);
  }
  std::string cmd(const std::string& out_dir, const std::string& extra) const {
    return cat(testing::tandem_binary(), " --threads 1 sft model_name_or_path=", model(), " train_file=", dir.file("train.jsonl"),
               " output_dir=", out_dir, " ", extra);
  }
};

std::vector<Json> metrics(const std::string& dir) { return testing::read_jsonl(dir + "/metrics.jsonl"); }

TEST(SftE2e, LossFallsAndEvalFollows) {
  SftRun r;
  std::string out;
  ASSERT_EQ(testing::run_command(r.cmd(r.dir.file("out"), cat("eval_file=", r.dir.file("eval.jsonl"),
            " max_steps=60 per_device_train_batch_size=8 learning_rate=1e-2 warmup_steps=2 eval_steps=30 logging_steps=1")), &out), 0) << out;
  const auto m = metrics(r.dir.file("out"));
  ASSERT_EQ(m.size(), 60u);
  EXPECT_LT(m.back()["loss"].get<double>(), 0.5 * m.front()["loss"].get<double>());
  EXPECT_LT(m.back()["eval_loss"].get<double>(), 0.6 * m[29]["eval_loss"].get<double>() + 0.4 * std::log(64.0));
  EXPECT_LT(m.back()["eval_loss"].get<double>(), std::log(64.0) * 0.6);
  for (const char* f : {"config.json", "model.safetensors", "config.yaml", "generation_config.json"})
    EXPECT_TRUE(file_exists(r.dir.file("out") + "/" + f)) << f;
  ASSERT_EQ(testing::run_command(cat(testing::tandem_binary(), " plot ", r.dir.file("out")), &out), 0) << out;
  const std::string png = read_file(r.dir.file("out") + "/plots/loss.png");
  EXPECT_EQ(png.substr(0, 4), "\x89PNG");
}

bool have_bf16() { return ops_for(cpu_device()).bf16_gemm_available(nullptr); }

void check_resume_is_bit_identical(const std::string& extra) {
  SftRun r;
  const std::string args = "max_steps=12 per_device_train_batch_size=4 gradient_accumulation_steps=2 learning_rate=2e-3 "
                           "save_steps=2 logging_steps=1 lr_scheduler_type=cosine warmup_steps=2 weight_decay=0.1 " + extra;
  std::string out;
  ASSERT_EQ(testing::run_command(r.cmd(r.dir.file("full"), args), &out), 0) << out;
  // The second run SIGKILLs itself after logging step 7 (its last checkpoint is step 6, so the
  // resumed run must also drop the metrics line of step 7 and redo it), then resumes.
  const std::string killed = r.dir.file("killed");
  const int rc = testing::run_command("TANDEM_DEBUG_KILL_AT_STEP=7 " + r.cmd(killed, args), &out);
  EXPECT_NE(rc, 0) << "the run should have been killed";
  EXPECT_EQ(metrics(killed).size(), 7u);
  EXPECT_FALSE(file_exists(killed + "/model.safetensors"));
  ASSERT_TRUE(file_exists(killed + "/checkpoint-6/trainer_state.json"));
  ASSERT_EQ(testing::run_command(r.cmd(killed, args + " resume_from_checkpoint=latest"), &out), 0) << out;
  const auto a = metrics(r.dir.file("full")), b = metrics(killed);
  ASSERT_EQ(a.size(), 12u);
  ASSERT_EQ(b.size(), 12u);
  for (size_t i = 0; i < a.size(); ++i)
    for (const char* k : {"step", "loss", "grad_norm", "lr", "epoch", "trained_tokens"})
      EXPECT_EQ(a[i][k], b[i][k]) << "step " << i + 1 << " " << k;
  EXPECT_EQ(read_file(r.dir.file("full") + "/model.safetensors"), read_file(killed + "/model.safetensors"));
}

TEST(SftE2e, ResumeAfterSigkillIsBitIdentical) { check_resume_is_bit_identical(""); }

TEST(SftE2e, ResumeAfterSigkillIsBitIdenticalUnderBf16) {
  if (!have_bf16()) GTEST_SKIP() << "no AVX512_BF16 here";
  check_resume_is_bit_identical("bf16=true");
}

// bf16 compute follows fp32's trajectory to bf16 precision: the first step (same weights) nearly
// equal, then the loss falls as far, while not being bitwise fp32 (bf16 really runs).
TEST(SftE2e, Bf16LossFallsLikeF32) {
  if (!have_bf16()) GTEST_SKIP() << "no AVX512_BF16 here";
  SftRun r;
  const std::string args = cat("eval_file=", r.dir.file("eval.jsonl"),
                               " max_steps=60 per_device_train_batch_size=8 learning_rate=1e-2 warmup_steps=2 eval_steps=30");
  std::string out;
  ASSERT_EQ(testing::run_command(r.cmd(r.dir.file("f32"), args), &out), 0) << out;
  ASSERT_EQ(testing::run_command(r.cmd(r.dir.file("bf16"), args + " bf16=true"), &out), 0) << out;
  EXPECT_NE(out.find("bf16: true"), std::string::npos) << "the resolved config shows the key\n" << out;
  const auto a = metrics(r.dir.file("f32")), b = metrics(r.dir.file("bf16"));
  ASSERT_EQ(a.size(), 60u);
  ASSERT_EQ(b.size(), 60u);
  auto loss = [](const Json& m) { return m["loss"].get<double>(); };
  EXPECT_NEAR(loss(b[0]), loss(a[0]), 1e-3 * loss(a[0]));
  EXPECT_NE(loss(b[0]), loss(a[0])) << "bf16=true gave the fp32 loss bit for bit";
  EXPECT_LT(loss(b.back()), 0.5 * loss(b.front()));
  double gap = 0;
  for (size_t i = 0; i < a.size(); ++i) gap += std::abs(loss(b[i]) - loss(a[i])) / loss(a[i]) / double(a.size());
  EXPECT_LT(gap, 0.05) << "mean relative gap of the two loss curves";
  EXPECT_NEAR(b.back()["eval_loss"].get<double>(), a.back()["eval_loss"].get<double>(), 0.1 * a.back()["eval_loss"].get<double>());
  std::printf("sft bf16 vs f32: first loss %.6f / %.6f, last %.4f / %.4f, eval %.4f / %.4f, mean gap %.4f\n", loss(b[0]),
              loss(a[0]), loss(b.back()), loss(a.back()), b.back()["eval_loss"].get<double>(),
              a.back()["eval_loss"].get<double>(), gap);
}

// Where oneDNN sees no AVX512_BF16 (forced here by ONEDNN_MAX_CPU_ISA), bf16 is an Error at
// startup naming the key, for training and for generation.
TEST(SftE2e, Bf16WithoutAvx512Bf16FailsAtStartup) {
  SftRun r;
  std::string out;
  const std::string no_bf16 = "ONEDNN_MAX_CPU_ISA=AVX512_CORE ";
  EXPECT_NE(testing::run_command(no_bf16 + r.cmd(r.dir.file("x"), "max_steps=1 bf16=true"), &out), 0);
  EXPECT_NE(out.find("[bf16] bf16 compute cannot run on this machine, expected a CPU with AVX512_BF16"), std::string::npos)
      << out;
  EXPECT_NE(out.find("got oneDNN ISA 'avx512_core'"), std::string::npos) << out;
  EXPECT_EQ(out.find("training examples"), std::string::npos) << "refused before the data was read\n" << out;
  EXPECT_FALSE(file_exists(r.dir.file("x") + "/config.yaml"));
  EXPECT_NE(testing::run_command(cat(no_bf16, testing::tandem_binary(), " generate --model ", r.model(),
                                     " --prompt hi --bf16 --max-new-tokens 2"), &out), 0);
  EXPECT_NE(out.find("[bf16] bf16 compute cannot run on this machine"), std::string::npos) << out;
}

TEST(SftE2e, GradAccumulationEqualsLargerBatch) {
  SftRun r;
  std::string out;
  const std::string common = "max_steps=2 learning_rate=1e-2 max_grad_norm=0 logging_steps=1";
  ASSERT_EQ(testing::run_command(r.cmd(r.dir.file("a"), common + " per_device_train_batch_size=8 gradient_accumulation_steps=1"), &out), 0) << out;
  ASSERT_EQ(testing::run_command(r.cmd(r.dir.file("b"), common + " per_device_train_batch_size=2 gradient_accumulation_steps=4"), &out), 0) << out;
  const auto a = metrics(r.dir.file("a")), b = metrics(r.dir.file("b"));
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_NEAR(a[i]["loss"].get<double>(), b[i]["loss"].get<double>(), 1e-5);
    EXPECT_NEAR(a[i]["grad_norm"].get<double>(), b[i]["grad_norm"].get<double>(), 1e-5 * a[i]["grad_norm"].get<double>());
  }
}

TEST(SftE2e, OneSgdStepEqualsWeightsMinusTorchGradient) {
  SftRun r;
  // One example, one step: the gradient of the token-mean NLL over its trained tokens.
  std::ofstream(r.dir.file("one.jsonl")) << "{\"input_ids\": [3, 9, 12, 40, 7, 7, 21], \"completion_mask\": [0, 0, 1, 1, 1, 0, 1]}\n";
  std::string out;
  ASSERT_EQ(testing::run_command(cat(testing::tandem_binary(), " --threads 1 sft model_name_or_path=", r.model(),
                                     " train_file=", r.dir.file("one.jsonl"), " output_dir=", r.dir.file("sgd"),
                                     " optim=sgd learning_rate=1 max_grad_norm=0 weight_decay=0 max_steps=1 per_device_train_batch_size=1"),
                                 &out), 0) << out;
  // Reference: J = -(1/4) sum over trained tokens of logp (mask shifted into the per-token convention).
  Json batch = {{"input_ids", {{3, 9, 12, 40, 7, 7, 21}}},
                {"dlogp", {{0.0, 0.0, -0.25, -0.25, -0.25, 0.0, -0.25}}}};
  std::ofstream(r.dir.file("batch.json")) << batch.dump();
  ASSERT_EQ(testing::run_command(cat(testing::debian_python(), " ", testing::source_dir(), "/tests/reference/torch_decoder.py --model ",
                                     r.model(), " --batch ", r.dir.file("batch.json"), " --out ", r.dir.file("ref.safetensors")), &out), 0) << out;
  model::SafetensorsFile ref(r.dir.file("ref.safetensors")), w0(r.model() + "/model.safetensors"),
      w1(r.dir.file("sgd") + "/model.safetensors");
  int checked = 0;
  for (const auto& e : w0.entries()) {
    const auto* g = ref.find("grad." + e.name);
    ASSERT_NE(g, nullptr) << e.name;
    const auto* e1 = w1.find(e.name);
    ASSERT_NE(e1, nullptr);
    const float* a = w0.view(e).data<float>();
    const float* b = w1.view(*e1).data<float>();
    const double* gd = ref.view(*g).data<double>();
    std::vector<float> got(size_t(w0.view(e).numel()));
    std::vector<double> want(got.size());
    for (size_t i = 0; i < got.size(); ++i) got[i] = b[i], want[i] = double(a[i]) - gd[i];
    EXPECT_TRUE(testing::all_close(got, want, {1e-5, 1e-5}, "sgd step " + e.name));
    ++checked;
  }
  EXPECT_GT(checked, 10);
}

TEST(SftE2e, BadConfigsNameTheKey) {
  SftRun r;
  std::string out;
  EXPECT_NE(testing::run_command(r.cmd(r.dir.file("x"), "learnig_rate=1"), &out), 0);
  EXPECT_NE(out.find("unknown key 'learnig_rate'"), std::string::npos) << out;
  EXPECT_NE(out.find("did you mean 'learning_rate'"), std::string::npos) << out;
  EXPECT_NE(testing::run_command(r.cmd(r.dir.file("x"), "optim=adam"), &out), 0);
  EXPECT_NE(out.find("[optim] expected adamw or sgd"), std::string::npos) << out;
  EXPECT_NE(testing::run_command(r.cmd(r.dir.file("x"), "max_steps=ten"), &out), 0);
  EXPECT_NE(out.find("[max_steps] expected an integer"), std::string::npos) << out;
  std::ofstream(r.dir.file("bad.jsonl")) << "{\"input_ids\": [1, 2, 3]}\n{\"input_ids\": [1, \"x\"]}\n";
  EXPECT_NE(testing::run_command(cat(testing::tandem_binary(), " sft model_name_or_path=", r.model(), " train_file=", r.dir.file("bad.jsonl"),
                                     " output_dir=", r.dir.file("y"), " max_steps=1 per_device_train_batch_size=2"), &out), 0);
  EXPECT_NE(out.find("bad.jsonl:2: input_ids[1]"), std::string::npos) << out;
}

TEST(SftE2e, SigintSavesACheckpointAndExitsCleanly) {
  SftRun r;
  const std::string dir = r.dir.file("int");
  const pid_t pid = fork();
  if (pid == 0) {
    const std::string c = r.cmd(dir, "max_steps=100000 per_device_train_batch_size=4 logging_steps=1");
    execl("/bin/sh", "sh", "-c", ("exec " + c + " >/dev/null 2>&1").c_str(), (char*)nullptr);
    _exit(127);
  }
  for (int i = 0; i < 3000 && metrics(dir).size() < 3; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  const auto m = metrics(dir);
  ASSERT_GE(m.size(), 3u);
  const int64_t last = m.back()["step"].get<int64_t>();
  EXPECT_TRUE(file_exists(cat(dir, "/checkpoint-", last, "/trainer_state.json"))) << "no checkpoint at step " << last;
}

TEST(SftE2e, NonFiniteLossStopsNamingTheStep) {
  SftRun r;
  std::string out;
  const int rc = testing::run_command(r.cmd(r.dir.file("nan"), "max_steps=20 learning_rate=1e30 max_grad_norm=0 save_steps=1 optim=sgd"), &out);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("not finite at step"), std::string::npos) << out;
  EXPECT_NE(out.find("Last good checkpoint"), std::string::npos) << out;
}

}  // namespace
}  // namespace tandem
