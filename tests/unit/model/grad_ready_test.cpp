// Where a backward completes the trainable gradients (Decoder::grad_ready_offsets and the
// GradReadyObserver stages that the data-parallel reduce overlaps with): at every stage, the
// gradients from that stage's offset to the end of the buffer already hold, bit for bit, the values
// they have when the backward ends; the offsets are tight (the stretch each stage adds was not yet
// final before it); stages come once each, in order. Base weights with tied and untied heads, a
// score head, Qwen3's q/k norms, LoRA adapters, a second (accumulating) backward, and recompute.
#include <gtest/gtest.h>

#include <cstring>

#include "core/json.h"
#include "model/decoder.h"
#include "model/init.h"
#include "model/lora.h"

namespace tandem {
namespace {

using model::Decoder;
using model::TokenBatch;

struct Snapshots final : model::GradReadyObserver {
  Decoder* d = nullptr;
  std::vector<std::vector<float>> at_stage;
  int last_next = 0, complete = 0;
  void last_backward_next() override { ++last_next; }
  void gradients_complete() override { ++complete; }
  void stage_done(size_t stage) override {
    EXPECT_EQ(stage, at_stage.size()) << "stages come once each, in order";
    const Tensor& g = d->trainable_grads();
    at_stage.emplace_back(g.f32(), g.f32() + g.numel());
  }
};

Json config(const std::string& arch, bool tied) {
  return {{"architectures", {arch}}, {"hidden_size", 32}, {"intermediate_size", 48}, {"num_hidden_layers", 3},
          {"num_attention_heads", 4}, {"num_key_value_heads", 2}, {"head_dim", 8}, {"vocab_size", 61},
          {"rms_norm_eps", 1e-6}, {"rope_theta", 10000.0}, {"tie_word_embeddings", tied}};
}

void check_stages(Decoder& d, bool value, bool recompute, int backwards) {
  const TokenBatch b = TokenBatch::packed({{{1, 5, 9, 2, 7, 7, 3}, {4, 8}}, {{11, 12, 13, 14, 15, 16, 17, 18, 19}}}, 10);
  Tensor dl = Tensor::empty({b.N()}), dv;
  for (int64_t i = 0; i < b.N(); ++i) dl.f32()[i] = 0.1f * float((i * 7) % 5) - 0.2f;
  if (value) {
    dv = Tensor::empty({b.N()});
    for (int64_t i = 0; i < b.N(); ++i) dv.f32()[i] = 0.05f * float((i * 3) % 7) - 0.1f;
  }
  d.zero_grad();
  Snapshots obs;
  obs.d = &d;
  for (int k = 0; k < backwards; ++k) {
    if (k == backwards - 1) d.set_grad_observer(&obs);
    d.forward(b, {.value = value, .for_backward = true, .recompute = recompute});
    d.backward(dl, Tensor(), dv);
  }
  d.set_grad_observer(nullptr);
  const auto off = d.grad_ready_offsets();
  const int64_t L = d.config().num_hidden_layers;
  ASSERT_EQ(off.size(), size_t(L + 2));
  ASSERT_EQ(obs.at_stage.size(), off.size());
  EXPECT_EQ(off.back(), 0);
  const Tensor& g = d.trainable_grads();
  const int64_t P = g.numel();
  for (size_t s = 0; s < off.size(); ++s) {
    ASSERT_LE(off[s], s ? off[s - 1] : P);
    const auto& snap = obs.at_stage[s];
    EXPECT_EQ(std::memcmp(snap.data() + off[s], g.f32() + off[s], size_t(P - off[s]) * sizeof(float)), 0)
        << "stage " << s << ": gradients past offset " << off[s] << " not yet final";
    // Tight: the stretch this stage completes was still changing before it.
    const int64_t hi = s ? off[s - 1] : P;
    if (s > 0 && off[s] < hi) {
      const auto& before = obs.at_stage[s - 1];
      bool changed = false;
      for (int64_t i = off[s]; i < hi && !changed; ++i) changed = before[size_t(i)] != g.f32()[i];
      EXPECT_TRUE(changed) << "stage " << s << " completes [" << off[s] << ", " << hi << ") but it was final before";
    }
  }
  EXPECT_EQ(obs.last_next, 0);
  EXPECT_EQ(obs.complete, 0);
}

TEST(GradReady, UntiedLlamaHead) {
  Decoder d(model::ModelConfig::from_json(config("LlamaForCausalLM", false), "test"));
  model::init_random(d.weights(), 0.3, 3);
  check_stages(d, false, false, 1);
  EXPECT_GT(d.grad_ready_offsets()[0], d.grad_ready_offsets()[1]);
}

TEST(GradReady, TiedQwen3WithScoreHeadAccumulatingAndRecomputing) {
  Decoder d(model::ModelConfig::from_json(config("Qwen3ForCausalLM", true), "test"), /*with_score=*/true);
  model::init_random(d.weights(), 0.3, 4);
  check_stages(d, true, false, 2);
  check_stages(d, false, true, 1);
}

TEST(GradReady, LoraAdapters) {
  Decoder d(model::ModelConfig::from_json(config("LlamaForCausalLM", false), "test"));
  model::init_random(d.weights(), 0.3, 5);
  model::LoraConfig c;
  c.r = 4, c.alpha = 8;
  c.target_modules = {"q_proj", "v_proj", "down_proj"};
  auto a = std::make_unique<model::LoraAdapters>(d.config(), c);
  a->init(7);
  // Non-zero B, so that every adapter gets a gradient in A as well.
  for (auto& np : a->weights().named)
    for (int64_t i = 0; i < np.tensor.numel(); ++i) np.tensor.f32()[i] = 0.01f * float((i * 13) % 11) - 0.05f;
  d.attach_adapters(std::move(a));
  check_stages(d, false, false, 1);
  EXPECT_EQ(d.grad_ready_offsets()[0], d.trainable_grads().numel()) << "no adapter is completed by the head";
}

}  // namespace
}  // namespace tandem
