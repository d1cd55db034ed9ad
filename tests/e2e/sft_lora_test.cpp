// `tandem sft` with `lora:` end to end: the loss falls while only adapter files are written (a
// PEFT folder the independent format check accepts, plus merged/ on request, which equals the
// adapter model); checkpoints hold the adapters and an optimizer state whose size is that of the
// adapters (so it scales with r); a run killed with SIGKILL and resumed (adapter dropout on) gives
// the same metrics and adapter bytes as an uninterrupted run.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>

#include "core/file.h"
#include "core/json.h"
#include "core/rng.h"
#include "model/decoder.h"
#include "model/lora_peft.h"
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

struct LoraRun {
  testing::TempDir dir{"sft-lora"};
  std::string model() const { return dir.file("model"); }
  LoraRun() {
    std::string out;
    EXPECT_EQ(testing::run_command(cat(testing::tandem_binary(), " init-model --arch llama --layers 2 --hidden 32 --heads 4 "
                                       "--kv-heads 2 --intermediate 64 --vocab 64 --seed 3 --out ", model()), &out), 0) << out;
    write_data(dir.file("train.jsonl"), 48, 12, 1);
  }
  std::string cmd(const std::string& out_dir, const std::string& extra) const {
    return cat(testing::tandem_binary(), " --threads 1 sft model_name_or_path=", model(), " train_file=", dir.file("train.jsonl"),
               " output_dir=", out_dir, " ", extra);
  }
};

std::vector<Json> metrics(const std::string& dir) { return testing::read_jsonl(dir + "/metrics.jsonl"); }

int64_t optimizer_numel(const std::string& checkpoint) {
  model::SafetensorsFile f(checkpoint + "/optimizer.safetensors");
  const auto* m = f.find("adamw.m");
  return m ? m->shape[0] : -1;
}

TEST(SftLora, LossFallsOnlyAdapterFilesMergedEqualsAdapters) {
  LoraRun r;
  const std::string out_dir = r.dir.file("out");
  std::string out;
  ASSERT_EQ(testing::run_command(r.cmd(out_dir, "max_steps=40 per_device_train_batch_size=8 learning_rate=2e-2 "
                                                "'lora={r: 8, alpha: 16, dropout: 0.0, target_modules: [q_proj, k_proj, v_proj, "
                                                "o_proj, gate_proj, up_proj, down_proj]}' lora_merge=true"),
                                 &out), 0) << out;
  const auto m = metrics(out_dir);
  ASSERT_EQ(m.size(), 40u);
  // Frozen random embeddings and head leave LoRA less to work with than full fine-tuning (which
  // gets below 0.5 nats here): a clear, not a dramatic, fall.
  EXPECT_LT(m.back()["loss"].get<double>(), 0.95 * m.front()["loss"].get<double>());
  EXPECT_TRUE(file_exists(out_dir + "/adapter_config.json"));
  EXPECT_TRUE(file_exists(out_dir + "/adapter_model.safetensors"));
  EXPECT_FALSE(file_exists(out_dir + "/model.safetensors")) << "a LoRA run writes the adapter, not the model";
  const std::string check = cat(testing::debian_python(), " ", testing::source_dir(), "/tests/reference/check_peft.py --adapter ",
                                out_dir, " --model ", r.model(), " --r 8 --alpha 16");
  EXPECT_EQ(testing::run_command(check, &out), 0) << out;
  // The base did not move; the merged model equals base + adapter.
  const std::vector<int32_t> ids = {5, 7, 9, 11, 13, 15, 17, 19};
  const auto batch = model::TokenBatch::padded({ids});
  auto dec = model::Decoder::load(r.model());
  dec->attach_adapters(model::load_peft_adapter(dec->config(), out_dir));
  const auto with = dec->forward(batch, {});
  auto merged = model::Decoder::load(out_dir + "/merged");
  const auto got = merged->forward(batch, {});
  EXPECT_TRUE(testing::all_close(testing::to_vec(got.logp), testing::to_double(testing::to_vec(with.logp)), {1e-5, 0},
                                 "merged vs adapters"));
  // The adapters learned something of the progression: it is likelier than under the base.
  auto base = model::Decoder::load(r.model());
  const auto before = base->forward(batch, {});
  double gain = 0;
  for (int64_t t = 3; t < batch.N(); ++t) gain += (with.logp.f32()[t] - before.logp.f32()[t]) / double(batch.N() - 3);
  EXPECT_GT(gain, 0.1);
}

TEST(SftLora, OptimizerStateScalesWithRank) {
  LoraRun r;
  std::string out;
  int64_t numel[2];
  const int ranks[2] = {2, 8};
  for (int i = 0; i < 2; ++i) {
    const std::string d = r.dir.file(cat("r", ranks[i]));
    ASSERT_EQ(testing::run_command(r.cmd(d, cat("max_steps=1 per_device_train_batch_size=4 'lora={r: ", ranks[i],
                                                ", alpha: 16, target_modules: [q_proj, v_proj, down_proj]}'")),
                                   &out), 0) << out;
    numel[i] = optimizer_numel(d + "/checkpoint-1");
    // The adapter's own parameters, counted from the config: per layer r*(in+out) per target.
    const int64_t C = 32, kv = 16, I = 64, L = 2;
    EXPECT_EQ(numel[i] > 0, true);
    EXPECT_GE(numel[i], L * ranks[i] * ((C + C) + (C + kv) + (I + C)));
    EXPECT_LT(numel[i], L * ranks[i] * ((C + C) + (C + kv) + (I + C)) + 16 * 6 * L) << "only alignment padding on top";
    EXPECT_FALSE(file_exists(d + "/checkpoint-1/model.safetensors"));
    EXPECT_TRUE(file_exists(d + "/checkpoint-1/adapter_model.safetensors"));
  }
  EXPECT_NEAR(double(numel[1]) / double(numel[0]), 4.0, 0.1);
}

TEST(SftLora, ResumeAfterSigkillIsBitIdentical) {
  LoraRun r;
  const std::string args = "max_steps=8 per_device_train_batch_size=4 gradient_accumulation_steps=2 learning_rate=1e-2 "
                           "save_steps=2 logging_steps=1 weight_decay=0.1 "
                           "'lora={r: 4, alpha: 8, dropout: 0.2, target_modules: [q_proj, o_proj, up_proj]}'";
  std::string out;
  ASSERT_EQ(testing::run_command(r.cmd(r.dir.file("full"), args), &out), 0) << out;
  const std::string killed = r.dir.file("killed");
  EXPECT_NE(testing::run_command("TANDEM_DEBUG_KILL_AT_STEP=5 " + r.cmd(killed, args), &out), 0);
  ASSERT_TRUE(file_exists(killed + "/checkpoint-4/trainer_state.json"));
  ASSERT_EQ(testing::run_command(r.cmd(killed, args + " resume_from_checkpoint=latest"), &out), 0) << out;
  const auto a = metrics(r.dir.file("full")), b = metrics(killed);
  ASSERT_EQ(a.size(), 8u);
  ASSERT_EQ(b.size(), 8u);
  for (size_t i = 0; i < a.size(); ++i)
    for (const char* k : {"step", "loss", "grad_norm", "lr"}) EXPECT_EQ(a[i][k], b[i][k]) << "step " << i + 1 << " " << k;
  EXPECT_EQ(read_file(r.dir.file("full") + "/adapter_model.safetensors"), read_file(killed + "/adapter_model.safetensors"));
}

// adapter_name_or_path continues a PEFT folder: with learning_rate 0 the adapter comes out as it went in.
TEST(SftLora, ContinuesAnExistingAdapter) {
  LoraRun r;
  std::string out;
  const std::string first = r.dir.file("first"), second = r.dir.file("second");
  ASSERT_EQ(testing::run_command(r.cmd(first, "max_steps=3 per_device_train_batch_size=4 learning_rate=1e-2 "
                                              "'lora={r: 4, alpha: 8, target_modules: [q_proj, down_proj]}'"), &out), 0) << out;
  ASSERT_EQ(testing::run_command(r.cmd(second, cat("max_steps=1 per_device_train_batch_size=4 learning_rate=0 adapter_name_or_path=",
                                                   first)), &out), 0) << out;
  model::SafetensorsFile a(first + "/adapter_model.safetensors"), b(second + "/adapter_model.safetensors");
  ASSERT_EQ(a.entries().size(), 8u);  // 2 layers x 2 modules x (A, B)
  ASSERT_EQ(b.entries().size(), a.entries().size());
  for (const auto& e : a.entries()) {
    const auto* f = b.find(e.name);
    ASSERT_NE(f, nullptr) << e.name;
    EXPECT_EQ(0, std::memcmp(a.view(e).raw(), b.view(*f).raw(), e.end - e.begin)) << e.name;
  }
  EXPECT_NE(testing::run_command(r.cmd(r.dir.file("both"), cat("max_steps=1 adapter_name_or_path=", first, " 'lora={r: 4}'")), &out), 0);
  EXPECT_NE(out.find("adapter_name_or_path"), std::string::npos) << out;
}

TEST(SftLora, BadLoraKeyNamesIt) {
  LoraRun r;
  std::string out;
  EXPECT_NE(testing::run_command(r.cmd(r.dir.file("bad"), "max_steps=1 'lora={r: 4, target_modules: [q_proj, qkv_proj]}'"), &out), 0);
  EXPECT_NE(out.find("lora.target_modules"), std::string::npos) << out;
  EXPECT_NE(out.find("qkv_proj"), std::string::npos) << out;
}

}  // namespace
}  // namespace tandem
