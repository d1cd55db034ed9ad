// LoRA in the decoder without the PyTorch reference (that is tests/parity/lora_parity_test.cpp):
// B = 0 and adapters switched off give the base bit for bit; merging then running equals running
// with adapters; the PEFT folder has the format's keys, shapes and fields (checked by an
// independent json/struct reader) and loads back; bad adapter folders give errors naming file and
// key; the frozen base gets no gradient buffer; dropout masks are a function of (seed, step); the
// reference forward (adapters skipped) equals a separately loaded base bit for bit on padded and
// packed batches, and run between a kept forward and its backward it leaves the gradients as they were.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>

#include "core/file.h"
#include "core/json.h"
#include "core/rng.h"
#include "model/decoder.h"
#include "model/incremental.h"
#include "model/init.h"
#include "model/lora_peft.h"
#include "model/safetensors.h"
#include "testing/testing.h"

namespace tandem {
namespace {

using model::Decoder;
using model::LoraAdapters;
using model::LoraConfig;
using model::ModelConfig;
using model::TokenBatch;

Json small_config(const std::string& arch = "LlamaForCausalLM", int64_t hidden = 32, int64_t layers = 2) {
  return {{"architectures", {arch}}, {"hidden_size", hidden}, {"intermediate_size", 48}, {"num_hidden_layers", layers},
          {"num_attention_heads", 4}, {"num_key_value_heads", 2}, {"vocab_size", 61}, {"rms_norm_eps", 1e-6},
          {"rope_theta", 10000.0}, {"tie_word_embeddings", false}};
}

std::unique_ptr<Decoder> make_decoder(const Json& cfg = small_config(), uint64_t seed = 3) {
  auto d = std::make_unique<Decoder>(ModelConfig::from_json(cfg, "test"));
  model::init_random(d->weights(), 0.3, seed);
  return d;
}

LoraConfig all_targets(int64_t r = 4, double dropout = 0) {
  LoraConfig c;
  c.r = r, c.alpha = 2.0 * double(r), c.dropout = dropout;
  c.target_modules = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
  return c;
}

std::unique_ptr<LoraAdapters> random_adapters(const ModelConfig& m, const LoraConfig& c, uint64_t seed) {
  auto a = std::make_unique<LoraAdapters>(m, c);
  a->init(seed);
  const Rng rng(seed, 77);
  for (auto& np : a->weights().named)
    if (np.name.find("lora_B") != std::string::npos)
      for (int64_t i = 0; i < np.tensor.numel(); ++i) np.tensor.f32()[i] = 0.2f * rng.normal(uint64_t(i) * 131 + np.tensor.numel());
  return a;
}

TokenBatch batch() {
  return TokenBatch::packed({{{1, 5, 9, 2, 7, 7, 3}, {4, 8}}, {{11, 12, 13, 14, 15, 16, 17, 18, 19}}}, 10);
}

std::vector<float> vec(const Tensor& t) { return std::vector<float>(t.f32(), t.f32() + t.numel()); }
bool same_bits(const Tensor& a, const Tensor& b) {
  return a.numel() == b.numel() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

template <class F>
void expect_error(F f, std::initializer_list<std::string> needles) {
  try {
    f();
    ADD_FAILURE() << "no error thrown; expected one mentioning " << *needles.begin();
  } catch (const Error& e) {
    const std::string m = e.what();
    for (const auto& n : needles) EXPECT_NE(m.find(n), std::string::npos) << "message lacks '" << n << "': " << m;
  }
}

TEST(Lora, ZeroBEqualsBaseBitwise) {
  auto d = make_decoder();
  const auto base = d->forward(batch(), {.entropy = true});
  auto a = std::make_unique<LoraAdapters>(d->config(), all_targets(4, 0.2));
  a->init(5);  // PEFT init: B = 0
  d->attach_adapters(std::move(a));
  const auto inf = d->forward(batch(), {.entropy = true});
  EXPECT_TRUE(same_bits(inf.logp, base.logp));
  EXPECT_TRUE(same_bits(inf.entropy, base.entropy));
  const auto train = d->forward(batch(), {.entropy = true, .for_backward = true});  // dropout on, B still 0
  EXPECT_TRUE(same_bits(train.logp, base.logp));
  EXPECT_TRUE(same_bits(train.entropy, base.entropy));
}

TEST(Lora, AdaptersOffEqualsBaseOnDiffers) {
  auto d = make_decoder();
  const auto base = d->forward(batch(), {.entropy = true});
  d->attach_adapters(random_adapters(d->config(), all_targets(), 6));
  d->adapters()->enabled = false;
  const auto off = d->forward(batch(), {.entropy = true});
  EXPECT_TRUE(same_bits(off.logp, base.logp));
  EXPECT_TRUE(same_bits(off.entropy, base.entropy));
  d->adapters()->enabled = true;
  const auto on = d->forward(batch(), {.entropy = true});
  double diff = 0;
  for (int64_t i = 0; i < base.logp.numel(); ++i) diff = std::max(diff, double(std::fabs(on.logp.f32()[i] - base.logp.f32()[i])));
  EXPECT_GT(diff, 1e-3) << "adapters had no effect";
}

TEST(Lora, MergedThenRunEqualsAdapters) {
  for (bool rs : {false, true}) {
    testing::TempDir dir("lora-merge");
    auto d = make_decoder(small_config("Qwen2ForCausalLM"));
    d->save(dir.file("base"));
    LoraConfig c = all_targets(3);
    c.use_rslora = rs;
    d->attach_adapters(random_adapters(d->config(), c, 8));
    const auto with = d->forward(batch(), {.entropy = true});
    model::merge_and_detach(*d);
    EXPECT_EQ(d->adapters(), nullptr);
    const auto merged = d->forward(batch(), {.entropy = true});
    EXPECT_TRUE(testing::all_close(vec(merged.logp), vec(with.logp), {1e-5, 0}, "merged logp"));
    EXPECT_TRUE(testing::all_close(vec(merged.entropy), vec(with.entropy), {1e-5, 0}, "merged entropy"));
    // The merged model is an ordinary HF folder.
    d->save(dir.file("merged"));
    auto back = Decoder::load(dir.file("merged"));
    EXPECT_TRUE(same_bits(back->forward(batch(), {}).logp, merged.logp));
    auto base = Decoder::load(dir.file("base"));
    EXPECT_FALSE(same_bits(base->forward(batch(), {}).logp, merged.logp));
  }
}

TEST(Lora, PeftFolderHasTheFormatAndLoadsBack) {
  testing::TempDir dir("lora-peft");
  auto d = make_decoder();
  d->save(dir.file("base"));
  LoraConfig c = all_targets(4);
  c.target_modules = {"q_proj", "v_proj", "o_proj", "down_proj"};
  c.alpha = 32;
  c.dropout = 0.05;
  auto a = random_adapters(d->config(), c, 9);
  model::save_peft_adapter(*a, d->config(), dir.file("adapter"), dir.file("base"));
  std::string out;
  const std::string check = cat(testing::debian_python(), " ", testing::source_dir(), "/tests/reference/check_peft.py --adapter ",
                                dir.file("adapter"), " --model ", dir.file("base"), " --r 4 --alpha 32");
  EXPECT_EQ(testing::run_command(check, &out), 0) << out;
  const Json cfg = read_json_file(dir.file("adapter/adapter_config.json"), "test");
  EXPECT_EQ(cfg["base_model_name_or_path"], dir.file("base"));
  EXPECT_EQ(cfg["lora_dropout"].get<double>(), 0.05);
  EXPECT_EQ(cfg["use_rslora"], false);
  auto back = model::load_peft_adapter(d->config(), dir.file("adapter"));
  EXPECT_EQ(back->config().r, 4);
  EXPECT_EQ(back->config().target_modules, c.target_modules);
  EXPECT_FLOAT_EQ(back->scale(), 8.f);
  EXPECT_TRUE(same_bits(back->weights().flat, a->weights().flat));
  // A deliberately broken folder fails the independent check (the check can fail).
  Json bad = cfg;
  bad["bias"] = "all";
  std::ofstream(dir.file("adapter/adapter_config.json")) << bad.dump();
  EXPECT_NE(testing::run_command(check, &out), 0) << out;
}

TEST(Lora, LoadErrorsNameFileAndKey) {
  testing::TempDir dir("lora-errors");
  auto d = make_decoder();
  const ModelConfig& m = d->config();
  const LoraConfig c = all_targets(4);
  auto save = [&](const std::string& name, const ModelConfig& for_model) {
    auto a = random_adapters(for_model, c, 10);
    model::save_peft_adapter(*a, for_model, dir.file(name), "base");
    return dir.file(name);
  };
  // Adapters of other models: the recorded architecture, hidden size, layer count.
  const auto other_arch = ModelConfig::from_json(small_config("Qwen3ForCausalLM"), "t");
  expect_error([&] { model::load_peft_adapter(m, save("arch", other_arch)); },
               {"tandem.architecture", "adapter_model.safetensors", "Qwen3ForCausalLM"});
  const auto wide = ModelConfig::from_json(small_config("LlamaForCausalLM", 48), "t");
  expect_error([&] { model::load_peft_adapter(m, save("wide", wide)); }, {"hidden_size", "48"});
  const auto deep = ModelConfig::from_json(small_config("LlamaForCausalLM", 32, 3), "t");
  expect_error([&] { model::load_peft_adapter(m, save("deep", deep)); }, {"num_hidden_layers", "3"});
  // Without the metadata (a folder PEFT wrote), the shapes and key names catch the same mistakes.
  auto strip = [&](const std::string& folder, const ModelConfig& for_model) {
    auto a = random_adapters(for_model, c, 10);
    std::vector<model::NamedTensor> ts;
    for (const auto& np : a->weights().named) ts.push_back({np.name, np.tensor, DType::kF32});
    model::write_safetensors(join_path(folder, "adapter_model.safetensors"), ts);
  };
  strip(dir.file("wide"), wide);
  expect_error([&] { model::load_peft_adapter(m, dir.file("wide")); },
               {"lora.load.base_model.model.model.layers.", "shape", "for this model", "adapter_model.safetensors"});
  strip(dir.file("deep"), deep);
  expect_error([&] { model::load_peft_adapter(m, dir.file("deep")); }, {"model.layers.2.", "beyond", "2 layers"});
  // Rank in the config vs the shapes.
  const std::string rank = save("rank", m);
  Json j = read_json_file(join_path(rank, "adapter_config.json"), "t");
  j["r"] = 8;
  write_file_atomic(join_path(rank, "adapter_config.json"), j.dump());
  expect_error([&] { model::load_peft_adapter(m, rank); }, {"rank 4", "r = 8", "adapter_config.json", "lora_", ".weight"});
  // Unknown module, a module not in target_modules, a targeted module without tensors.
  const std::string unk = save("unknown", m);
  j = read_json_file(join_path(unk, "adapter_config.json"), "t");
  j["target_modules"] = {"q_proj", "lm_head"};
  write_file_atomic(join_path(unk, "adapter_config.json"), j.dump());
  expect_error([&] { model::load_peft_adapter(m, unk); }, {"lm_head", "unknown module", "adapter_config.json"});
  j["target_modules"] = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj"};
  write_file_atomic(join_path(unk, "adapter_config.json"), j.dump());
  expect_error([&] { model::load_peft_adapter(m, unk); }, {"down_proj", "not in target_modules"});
  LoraConfig qv = c;
  qv.target_modules = {"q_proj"};
  auto a = random_adapters(m, qv, 10);
  std::vector<model::NamedTensor> ts;
  for (const auto& np : a->weights().named) ts.push_back({np.name, np.tensor, DType::kF32});
  model::write_safetensors(join_path(unk, "adapter_model.safetensors"), ts);
  expect_error([&] { model::load_peft_adapter(m, unk); },
               {"base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight", "missing"});
  // Not LoRA, unsupported options, no folder.
  j["peft_type"] = "IA3";
  write_file_atomic(join_path(unk, "adapter_config.json"), j.dump());
  expect_error([&] { model::load_peft_adapter(m, unk); }, {"peft_type", "LORA", "IA3"});
  j["peft_type"] = "LORA";
  j["use_dora"] = true;
  write_file_atomic(join_path(unk, "adapter_config.json"), j.dump());
  expect_error([&] { model::load_peft_adapter(m, unk); }, {"use_dora", "not supported"});
  expect_error([&] { model::load_peft_adapter(m, dir.file("nowhere")); }, {"not a directory"});
}

TEST(Lora, FrozenBaseHasNoGradientBuffer) {
  auto d = make_decoder();
  const Tensor before = d->weights().flat.clone();
  d->attach_adapters(random_adapters(d->config(), all_targets(2), 4));
  const TokenBatch b = batch();
  Tensor dl = Tensor::empty({b.N()});
  const auto mask = b.logp_mask();
  for (int64_t n = 0; n < b.N(); ++n) dl.f32()[n] = mask[n];
  d->forward_backward(b, dl, Tensor());
  EXPECT_EQ(d->trainable_grads().numel(), d->adapters()->weights().num_params());
  EXPECT_LT(d->trainable_grads().numel() * 5, d->weights().num_params());
  double g2 = 0;
  for (float g : vec(d->trainable_grads())) g2 += double(g) * g;
  EXPECT_GT(g2, 0.0);
  expect_error([&] { d->grads(); }, {"frozen"});
  EXPECT_TRUE(same_bits(d->weights().flat, before));
  // Adapters off: a forward for the reference is fine, a backward has nothing to train.
  d->adapters()->enabled = false;
  d->forward(b, {.for_backward = true});
  expect_error([&] { d->backward(dl, Tensor(), Tensor()); }, {"switched off"});
}

TEST(Lora, DropoutMaskIsAFunctionOfSeedAndStep) {
  Tensor x = Tensor::empty({64, 33});
  for (int64_t i = 0; i < x.numel(); ++i) x.f32()[i] = 1.f;
  auto apply = [&](uint64_t seed, uint64_t stream) {
    Tensor y = Tensor::empty(x.shape());
    model::lora_dropout_apply({0.25f, seed, stream}, x, y);
    return y;
  };
  const Tensor a = apply(1, 5), b = apply(1, 5), c = apply(1, 6), e = apply(2, 5);
  EXPECT_TRUE(same_bits(a, b));
  EXPECT_FALSE(same_bits(a, c));
  EXPECT_FALSE(same_bits(a, e));
  int64_t kept = 0;
  for (float v : vec(a)) {
    EXPECT_TRUE(v == 0.f || std::fabs(v - 1.f / 0.75f) < 1e-6f) << v;
    kept += v != 0.f;
  }
  EXPECT_NEAR(double(kept) / double(x.numel()), 0.75, 0.03);
  // Training forwards advance the step; a gradient step's forward and backward share one mask.
  auto d = make_decoder();
  d->attach_adapters(random_adapters(d->config(), all_targets(2, 0.3), 4));
  const auto f1 = d->forward(batch(), {.for_backward = true});
  const auto f2 = d->forward(batch(), {.for_backward = true});
  EXPECT_EQ(d->adapters()->dropout_step, 2u);
  EXPECT_FALSE(same_bits(f1.logp, f2.logp));
  d->adapters()->dropout_step = 0;
  EXPECT_TRUE(same_bits(d->forward(batch(), {.for_backward = true}).logp, f1.logp));
  const auto inf = d->forward(batch(), {});  // inference: no dropout, no step
  EXPECT_EQ(d->adapters()->dropout_step, 1u);
  EXPECT_FALSE(same_bits(inf.logp, f1.logp));
}

// Generation's KV-cached decoder runs the adapters too (RL samples from the policy it trains):
// prefill then decode steps give the full forward's log-probs of the adapter model.
TEST(Lora, IncrementalDecoderRunsAdapters) {
  auto d = make_decoder();
  d->attach_adapters(random_adapters(d->config(), all_targets(3, 0.5), 12));  // dropout: never at inference
  const std::vector<int32_t> seq = {3, 14, 15, 9, 26, 5, 35};
  const auto full = d->forward(TokenBatch::padded({seq}), {});
  model::KvCache cache(d->config(), 1, 16);
  model::IncrementalDecoder inc(*d, cache);
  auto logp_of = [](const Tensor& logits, int32_t tok) {  // log-softmax of row 0
    const int64_t V = logits.dim(1);
    double mx = -1e30, s = 0;
    for (int64_t j = 0; j < V; ++j) mx = std::max(mx, double(logits.f32()[j]));
    for (int64_t j = 0; j < V; ++j) s += std::exp(double(logits.f32()[j]) - mx);
    return float(double(logits.f32()[tok]) - mx - std::log(s));
  };
  std::vector<float> got, want;
  Tensor logits = inc.prefill({0}, {std::vector<int32_t>(seq.begin(), seq.begin() + 3)});
  for (size_t t = 3; t < seq.size(); ++t) {
    got.push_back(logp_of(logits, seq[t]));
    want.push_back(full.logp.f32()[t]);
    logits = inc.decode({0}, {seq[t]});
  }
  EXPECT_TRUE(testing::all_close(got, want, {2e-5, 1e-5}, "incremental with adapters"));
  d->adapters()->enabled = false;
  const auto base = d->forward(TokenBatch::padded({seq}), {});
  EXPECT_GT(std::fabs(base.logp.f32()[4] - full.logp.f32()[4]), 1e-4f);
}

TEST(Lora, ConfigValidation) {
  expect_error([] { LoraConfig::from_json(Json{{"r", 0}}, "sft.lora", "cfg.yaml"); }, {"sft.lora.r", "> 0", "cfg.yaml"});
  expect_error([] { LoraConfig::from_json(Json{{"r", 4}, {"target_modules", {"q_proj", "qkv"}}}, "sft.lora", "cfg.yaml"); },
               {"sft.lora.target_modules.1", "unknown module 'qkv'"});
  expect_error([] { LoraConfig::from_json(Json{{"rank", 4}}, "sft.lora", "cfg.yaml"); }, {"sft.lora.rank", "unknown key"});
  expect_error([] { LoraConfig::from_json(Json{{"dropout", 1.0}}, "sft.lora", "cfg.yaml"); }, {"sft.lora.dropout"});
  const auto c = LoraConfig::from_json(Json{{"r", 16}, {"alpha", 32}, {"use_rslora", true}}, "sft.lora", "cfg.yaml");
  EXPECT_FLOAT_EQ(c.scale(), 8.f);
  EXPECT_EQ(c.target_modules, (std::vector<std::string>{"q_proj", "v_proj"}));
}

// The reference policy under LoRA is the policy's own base: a forward with the adapters skipped must
// give exactly what a second, separately loaded copy of the base gives (same kernels, same weights).
TEST(Lora, ReferenceForwardEqualsSeparatelyLoadedBaseBitwise) {
  testing::TempDir dir("lora-ref");
  make_decoder(small_config("Qwen3ForCausalLM"))->save(dir.file("base"));
  auto policy = Decoder::load(dir.file("base"));
  policy->attach_adapters(random_adapters(policy->config(), all_targets(4, 0.3), 21));
  auto second_copy = Decoder::load(dir.file("base"));
  const TokenBatch padded = TokenBatch::padded({{1, 5, 9, 2, 7, 7, 3}, {4, 8}, {11, 12, 13, 14}});
  const std::pair<const char*, TokenBatch> cases[] = {{"padded", padded}, {"packed", batch()}};
  for (const auto& [name, b] : cases) {
    const auto want = second_copy->forward(b, {.entropy = true});
    const auto got = policy->forward(b, {.entropy = true, .adapters = false});
    EXPECT_TRUE(same_bits(got.logp, want.logp)) << name;
    EXPECT_TRUE(same_bits(got.entropy, want.entropy)) << name;
    const auto on = policy->forward(b, {.entropy = true});
    EXPECT_FALSE(same_bits(on.logp, want.logp)) << name << ": the adapters had no effect, the check proves nothing";
  }
  EXPECT_EQ(policy->adapters()->dropout_step, 0u) << "a reference forward draws no dropout masks";
}

// The preference step runs the reference before the policy's kept forward, the online step before
// any update; the decoder nevertheless keeps an inference forward (the reference's or any other) off
// the activations kept for backward, so the order cannot silently corrupt gradients.
TEST(Lora, ReferenceForwardBetweenForwardAndBackwardLeavesGradients) {
  for (bool recompute : {false, true}) {
    auto d = make_decoder(small_config("Qwen3ForCausalLM"));
    d->attach_adapters(random_adapters(d->config(), all_targets(3, 0.25), 22));
    const TokenBatch b = batch();
    Tensor dl = Tensor::empty({b.N()});
    const auto mask = b.logp_mask();
    for (int64_t n = 0; n < b.N(); ++n) dl.f32()[n] = mask[n] * (1.f + 0.1f * float(n % 7));
    auto grads_of = [&](bool interleave) {
      d->zero_grad();
      d->adapters()->dropout_step = 0;
      const auto kept = d->forward(b, {.for_backward = true, .recompute = recompute});
      if (interleave) {  // longer positions than the kept batch: the RoPE table grows in between
        std::vector<int32_t> longer(40);
        for (size_t i = 0; i < longer.size(); ++i) longer[i] = int32_t((7 * i + 3) % 61);
        d->forward(TokenBatch::padded({longer, {1, 2, 3}}), {.entropy = true, .adapters = false});
        d->forward(TokenBatch::padded({longer}), {});  // and a policy inference forward
      }
      d->backward(dl, Tensor(), Tensor());
      return std::make_pair(kept.logp.clone(), d->trainable_grads().clone());
    };
    const auto plain = grads_of(false), interleaved = grads_of(true);
    EXPECT_TRUE(same_bits(interleaved.first, plain.first)) << "recompute=" << recompute;
    EXPECT_TRUE(same_bits(interleaved.second, plain.second)) << "recompute=" << recompute;
    double g2 = 0;
    for (float g : vec(plain.second)) g2 += double(g) * g;
    EXPECT_GT(g2, 0.0);
    // A kept forward with the adapters skipped has nothing to train.
    d->forward(b, {.for_backward = true, .adapters = false});
    expect_error([&] { d->backward(dl, Tensor(), Tensor()); }, {"switched off"});
    expect_error([&] { d->forward_backward(b, dl, Tensor(), {.adapters = false}); }, {"switched off"});
  }
}

}  // namespace
}  // namespace tandem
