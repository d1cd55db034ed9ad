// LoRA forward/backward against the independent PyTorch reference (tests/reference/torch_lora.py on
// top of torch_decoder.py, float64 autograd, reading the PEFT folder Tandem wrote): per-token
// log-probs to 1e-5 absolute and every adapter gradient to 1e-4 relative (norm-wise), for GQA models
// with several targets, rsLoRA, recomputation, the fused SFT head and input dropout (whose mask rule
// the reference re-implements from its formula). The base model comes from make_model.py.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "core/json.h"
#include "core/rng.h"
#include "model/decoder.h"
#include "model/lora_peft.h"
#include "model/safetensors.h"
#include "testing/testing.h"

namespace tandem {
namespace {

using model::Decoder;
using model::TokenBatch;

struct Case {
  std::string name, model_args;
  model::LoraConfig lora;
  bool packed = false, recompute = false, fused = false;
  uint64_t dropout_seed = 0, dropout_step = 0;
};

std::vector<double> read_f64(const model::SafetensorsFile& f, const std::string& name) {
  const auto* e = f.find(name);
  if (!e) return {};
  Tensor t = f.view(*e);
  std::vector<double> out(size_t(t.numel()));
  std::memcpy(out.data(), t.raw(), out.size() * 8);
  return out;
}

TokenBatch make_batch(bool packed, int64_t vocab, uint64_t seed) {
  Rng rng(seed, 1);
  auto doc = [&](int n) {
    std::vector<int32_t> d(n);
    for (auto& t : d) t = int32_t(rng.next_bits() % uint32_t(vocab));
    return d;
  };
  if (packed) return TokenBatch::packed({{doc(7), doc(1), doc(9)}, {doc(12), doc(4)}, {doc(3)}}, 19);
  return TokenBatch::padded({doc(13), doc(5), doc(16)});
}

Json rows_json(const TokenBatch& b, const std::function<Json(int64_t)>& get) {
  Json r = Json::array();
  for (int64_t i = 0; i < b.B; ++i) {
    Json row = Json::array();
    for (int64_t t = 0; t < b.T; ++t) row.push_back(get(i * b.T + t));
    r.push_back(row);
  }
  return r;
}

void run_case(const Case& c) {
  if (!testing::have_debian_torch()) GTEST_SKIP() << "no /usr/bin/python3 with torch";
  testing::TempDir dir("lora-parity-" + c.name);
  const std::string mdir = dir.file("model"), adir = dir.file("adapter");
  std::string out;
  const std::string make = cat(testing::debian_python(), " ", testing::source_dir(),
                               "/tests/reference/make_model.py --out ", mdir, " ", c.model_args);
  ASSERT_EQ(testing::run_command(make, &out), 0) << make << "\n" << out;

  auto dec = Decoder::load(mdir);
  auto ad = std::make_unique<model::LoraAdapters>(dec->config(), c.lora);
  ad->init(11);
  // B = 0 after PEFT's init would leave dA = 0 and the test blind to A; random B checks both.
  Rng rb(12, 3);
  for (auto& np : ad->weights().named)
    if (np.name.find("lora_B") != std::string::npos)
      for (int64_t i = 0; i < np.tensor.numel(); ++i) np.tensor.f32()[i] = 0.3f * rb.normal(uint64_t(i) + 7919u * np.tensor.numel());
  ad->dropout_seed = c.dropout_seed;
  ad->dropout_step = c.dropout_step;
  model::save_peft_adapter(*ad, dec->config(), adir, mdir);
  dec->attach_adapters(std::move(ad));

  const TokenBatch batch = make_batch(c.packed, dec->config().vocab_size, 7);
  const int64_t N = batch.N();
  const auto mask = batch.logp_mask();
  Rng rng(99, 2);
  Tensor dl = Tensor::empty({N}), de = Tensor::empty({N});
  for (int64_t n = 0; n < N; ++n) {
    dl.f32()[n] = mask[n] * rng.next_normal();
    de.f32()[n] = mask[n] * 0.5f * rng.next_normal();
  }
  Json bj;
  bj["input_ids"] = rows_json(batch, [&](int64_t n) { return Json(batch.tokens[n]); });
  bj["position_ids"] = rows_json(batch, [&](int64_t n) { return Json(batch.positions[n]); });
  bj["segment_ids"] = rows_json(batch, [&](int64_t n) { return Json(batch.segments[n]); });
  bj["dlogp"] = rows_json(batch, [&](int64_t n) { return Json(double(dl.f32()[n])); });
  bj["dentropy"] = rows_json(batch, [&](int64_t n) { return Json(double(de.f32()[n])); });
  std::ofstream(dir.file("batch.json")) << bj.dump();
  std::string ref_cmd = cat(testing::debian_python(), " ", testing::source_dir(), "/tests/reference/torch_lora.py --model ",
                            mdir, " --adapter ", adir, " --batch ", dir.file("batch.json"), " --out ", dir.file("ref.safetensors"));
  if (c.lora.dropout > 0) ref_cmd += cat(" --dropout-seed ", c.dropout_seed, " --dropout-step ", c.dropout_step);
  ASSERT_EQ(testing::run_command(ref_cmd, &out), 0) << ref_cmd << "\n" << out;
  model::SafetensorsFile ref(dir.file("ref.safetensors"));

  model::ForwardOutputs got;
  if (c.fused) {
    got = dec->forward_backward(batch, dl, de, {.recompute = c.recompute});
  } else {
    got = dec->forward(batch, {.entropy = true, .for_backward = true, .recompute = c.recompute});
    dec->backward(dl, de, Tensor());
  }
  const auto v = [](const Tensor& t) { return std::vector<float>(t.f32(), t.f32() + t.numel()); };
  EXPECT_TRUE(testing::all_close(v(got.logp), read_f64(ref, "logp"), {1e-5, 0}, c.name + " logp"));
  EXPECT_TRUE(testing::all_close(v(got.entropy), read_f64(ref, "entropy"), {1e-5, 0}, c.name + " entropy"));
  int checked = 0;
  for (const auto& np : dec->trainable_grads_named()) {
    const auto want = read_f64(ref, "grad." + np.name);
    ASSERT_FALSE(want.empty()) << c.name << ": reference has no gradient for " << np.name;
    EXPECT_TRUE(testing::norm_close(v(np.tensor), want, 1e-4, c.name + " grad " + np.name));
    ++checked;
  }
  EXPECT_EQ(checked, int64_t(dec->config().num_hidden_layers) * 2 * int64_t(c.lora.target_modules.size()));
}

model::LoraConfig lora(int64_t r, double alpha, std::vector<std::string> targets, double dropout = 0, bool rs = false) {
  model::LoraConfig c;
  c.r = r, c.alpha = alpha, c.dropout = dropout, c.use_rslora = rs, c.target_modules = std::move(targets);
  return c;
}

const std::string kLlamaGqa =
    "--arch llama --layers 2 --hidden 32 --heads 4 --kv-heads 2 --intermediate 64 --vocab 97 --qkv-bias --seed 1 --init-std 0.2";

TEST(LoraParity, LlamaGqaAllSevenTargetsPadded) {
  run_case({"llama_all", kLlamaGqa,
            lora(4, 8, {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"})});
}
TEST(LoraParity, Qwen3RsLoraSomeTargetsPackedRecompute) {
  run_case({"qwen3_rslora",
            "--arch qwen3 --layers 2 --hidden 48 --heads 4 --kv-heads 2 --head-dim 16 --intermediate 64 --vocab 97 "
            "--seed 4 --init-std 0.2",
            lora(3, 5, {"k_proj", "v_proj", "up_proj", "down_proj"}, 0, true), true, true});
}
TEST(LoraParity, MistralDropoutFusedHead) {
  Case c{"mistral_dropout",
         "--arch mistral --layers 2 --hidden 32 --heads 4 --kv-heads 1 --intermediate 48 --vocab 97 --sliding-window 5 "
         "--seed 5 --init-std 0.2",
         lora(4, 16, {"q_proj", "v_proj", "o_proj", "gate_proj", "down_proj"}, 0.3), true, true, true};
  c.dropout_seed = 1234567890123ull;
  c.dropout_step = 5;
  run_case(c);
}

}  // namespace
}  // namespace tandem
