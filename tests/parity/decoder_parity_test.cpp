// The decoder engine against the independent PyTorch reference (tests/reference/torch_decoder.py,
// float64, autograd), for each family and each config quirk that changes the math, on padded and
// packed batches: per-token log-probs and entropies to 1e-5 absolute, every parameter's gradient
// to 1e-4 relative (norm-wise). Models come from two independent writers: the reference's
// make_model.py (so our loader reads what another implementation writes: BF16, F16, shards) and
// `tandem init-model` (so the reference reads what we write).
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "core/json.h"
#include "core/rng.h"
#include "model/decoder.h"
#include "model/safetensors.h"
#include "testing/testing.h"

namespace tandem {
namespace {

using model::Decoder;
using model::TokenBatch;

struct Case {
  std::string name;
  std::string maker;  // "py" (make_model.py) or "tandem" (init-model)
  std::string model_args;
  bool packed;
  bool value = false;  // a reward model (*ForSequenceClassification): value head only, no LM head
};

std::vector<double> read_f64(const model::SafetensorsFile& f, const std::string& name) {
  const auto* e = f.find(name);
  if (!e) return {};
  Tensor t = f.view(*e);
  std::vector<double> out(size_t(t.numel()));
  if (t.dtype() == DType::kF64) {
    std::memcpy(out.data(), t.raw(), out.size() * 8);
  } else {
    for (size_t i = 0; i < out.size(); ++i) out[i] = t.data<float>()[i];
  }
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

void run_case(const Case& c) {
  testing::TempDir dir("parity-" + c.name);
  const std::string mdir = dir.file("model");
  std::string out;
  const std::string make = c.maker == "py"
      ? cat(testing::debian_python(), " ", testing::source_dir(), "/tests/reference/make_model.py --out ", mdir, " ", c.model_args)
      : cat(testing::tandem_binary(), " init-model --out ", mdir, " ", c.model_args);
  ASSERT_EQ(testing::run_command(make, &out), 0) << make << "\n" << out;

  auto dec = Decoder::load(mdir, c.value);
  const auto& cfg = dec->config();
  const TokenBatch batch = make_batch(c.packed, cfg.vocab_size, 7);
  const int64_t N = batch.N();
  const auto mask = batch.logp_mask();
  Rng rng(99, 2);
  std::vector<float> dl(N), de(N), dv(N);
  for (int64_t n = 0; n < N; ++n) {
    dl[n] = mask[n] * rng.next_normal();
    de[n] = mask[n] * 0.5f * rng.next_normal();
    dv[n] = batch.segments[n] >= 0 ? rng.next_normal() : 0.f;
  }
  // The reference's batch file: rows of T with explicit positions and segments.
  Json bj;
  auto rows = [&](auto get) {
    Json r = Json::array();
    for (int64_t b = 0; b < batch.B; ++b) {
      Json row = Json::array();
      for (int64_t t = 0; t < batch.T; ++t) row.push_back(get(b * batch.T + t));
      r.push_back(row);
    }
    return r;
  };
  bj["input_ids"] = rows([&](int64_t n) { return batch.tokens[n]; });
  bj["position_ids"] = rows([&](int64_t n) { return batch.positions[n]; });
  bj["segment_ids"] = rows([&](int64_t n) { return batch.segments[n]; });
  if (c.value) {
    bj["dvalue"] = rows([&](int64_t n) { return double(dv[n]); });
  } else {
    bj["dlogp"] = rows([&](int64_t n) { return double(dl[n]); });
    bj["dentropy"] = rows([&](int64_t n) { return double(de[n]); });
  }
  std::ofstream(dir.file("batch.json")) << bj.dump();
  const std::string ref_cmd = cat(testing::debian_python(), " ", testing::source_dir(),
                                  "/tests/reference/torch_decoder.py --model ", mdir, " --batch ", dir.file("batch.json"),
                                  " --out ", dir.file("ref.safetensors"));
  ASSERT_EQ(testing::run_command(ref_cmd, &out), 0) << ref_cmd << "\n" << out;
  model::SafetensorsFile ref(dir.file("ref.safetensors"));

  model::ForwardOptions fo;
  fo.entropy = !c.value;
  fo.for_backward = true;
  fo.value = c.value;
  const auto got = dec->forward(batch, fo);
  const testing::Tol tol{1e-5, 0};
  if (c.value) {
    EXPECT_TRUE(read_f64(ref, "logp").empty()) << "a reward model has no LM head";
    EXPECT_TRUE(testing::all_close(std::vector<float>(got.value.f32(), got.value.f32() + N), read_f64(ref, "value"), tol, c.name + " value"));
  } else {
    EXPECT_TRUE(testing::all_close(std::vector<float>(got.logp.f32(), got.logp.f32() + N), read_f64(ref, "logp"), tol, c.name + " logp"));
    EXPECT_TRUE(testing::all_close(std::vector<float>(got.entropy.f32(), got.entropy.f32() + N), read_f64(ref, "entropy"), tol, c.name + " entropy"));
  }
  auto as_tensor = [&](const std::vector<float>& v) {
    Tensor t = Tensor::empty({N});
    std::memcpy(t.f32(), v.data(), v.size() * 4);
    return t;
  };
  if (c.value) dec->backward(Tensor(), Tensor(), as_tensor(dv));
  else dec->backward(as_tensor(dl), as_tensor(de), Tensor());
  int checked = 0;
  for (const auto& np : dec->grads().named) {
    const auto want = read_f64(ref, "grad." + np.name);
    ASSERT_FALSE(want.empty()) << c.name << ": reference has no gradient for " << np.name;
    EXPECT_TRUE(testing::norm_close(std::vector<float>(np.tensor.f32(), np.tensor.f32() + np.tensor.numel()), want, 1e-4,
                                    c.name + " grad " + np.name));
    ++checked;
  }
  EXPECT_GT(checked, 10);
}

TEST(DecoderParity, LlamaGqaPadded) {
  run_case({"llama_gqa_padded", "py", "--arch llama --layers 2 --hidden 32 --heads 4 --kv-heads 2 --intermediate 64 --vocab 97 --seed 1", false});
}
TEST(DecoderParity, LlamaTiedBiasLlama3RopePacked) {
  run_case({"llama_tied_bias_llama3_packed", "tandem",
            "--arch llama --layers 2 --hidden 32 --heads 4 --kv-heads 1 --intermediate 48 --vocab 97 --tie --bias --seed 2 "
            "--rope-scaling '{\"rope_type\":\"llama3\",\"factor\":8.0,\"low_freq_factor\":1.0,\"high_freq_factor\":4.0,"
            "\"original_max_position_embeddings\":8}' --init-range 0.2",
            true});
}
TEST(DecoderParity, Qwen2BiasSlidingWindowBf16ShardsPacked) {
  run_case({"qwen2_window_bf16_shards", "py",
            "--arch qwen2 --layers 3 --hidden 32 --heads 4 --kv-heads 2 --intermediate 64 --vocab 97 --qkv-bias "
            "--sliding-window 4 --max-window-layers 1 --dtype BF16 --shards 3 --seed 3 --init-std 0.2",
            true});
}
TEST(DecoderParity, Qwen3QkNormHeadDimLinearRopeF16Padded) {
  run_case({"qwen3_headdim_linear_f16", "py",
            "--arch qwen3 --layers 2 --hidden 48 --heads 4 --kv-heads 2 --head-dim 16 --intermediate 64 --vocab 97 "
            "--rope-scaling '{\"rope_type\":\"linear\",\"factor\":2.0}' --dtype F16 --seed 4 --init-std 0.2",
            false});
}
TEST(DecoderParity, MistralWindowYarnPacked) {
  run_case({"mistral_window_yarn_packed", "tandem",
            "--arch mistral --layers 2 --hidden 32 --heads 4 --kv-heads 2 --intermediate 64 --vocab 97 --sliding-window 3 "
            "--rope-scaling '{\"rope_type\":\"yarn\",\"factor\":4.0,\"original_max_position_embeddings\":8}' --seed 5 --init-range 0.2",
            true});
}
TEST(DecoderParity, Qwen3RewardModelValuePadded) {
  run_case({"qwen3_score_value", "py",
            "--arch qwen3 --layers 2 --hidden 32 --heads 4 --kv-heads 2 --head-dim 8 --intermediate 64 --vocab 97 "
            "--score-head --seed 6 --init-std 0.2",
            false, true});
}

// Recomputation changes memory, never results: the same kernels run on the same inputs.
TEST(DecoderRecompute, GradientsBitIdenticalAndLessMemory) {
  testing::TempDir dir("recompute");
  std::string out;
  ASSERT_EQ(testing::run_command(cat(testing::tandem_binary(), " init-model --arch qwen3 --layers 3 --hidden 32 --heads 4 "
                                     "--kv-heads 2 --intermediate 64 --vocab 97 --seed 8 --out ", dir.file("m")), &out), 0) << out;
  auto a = Decoder::load(dir.file("m")), b = Decoder::load(dir.file("m"));
  const TokenBatch batch = make_batch(true, 97, 3);
  Tensor dl = Tensor::empty({batch.N()});
  const auto mask = batch.logp_mask();
  for (int64_t n = 0; n < batch.N(); ++n) dl.f32()[n] = mask[n] * float(n % 5 - 2);
  model::ForwardOptions keep{.for_backward = true}, rec{.for_backward = true, .recompute = true};
  a->forward(batch, keep);
  const size_t keep_bytes = a->activation_bytes();
  a->backward(dl, Tensor(), Tensor());
  b->forward(batch, rec);
  const size_t rec_bytes = b->activation_bytes();
  b->backward(dl, Tensor(), Tensor());
  EXPECT_LT(rec_bytes, keep_bytes);
  EXPECT_EQ(0, std::memcmp(a->grads().flat.raw(), b->grads().flat.raw(), a->grads().flat.nbytes()));
}

// The fused head (one logits pass) gives what forward + backward give, up to summation order.
TEST(DecoderFusedHead, ForwardBackwardEqualsForwardThenBackward) {
  testing::TempDir dir("fused");
  std::string out;
  ASSERT_EQ(testing::run_command(cat(testing::tandem_binary(), " init-model --arch llama --layers 2 --hidden 32 --heads 4 "
                                     "--kv-heads 2 --intermediate 64 --vocab 5000 --tie --init-range 0.3 --seed 9 --out ",
                                     dir.file("m")), &out), 0) << out;
  auto a = Decoder::load(dir.file("m")), b = Decoder::load(dir.file("m"));
  const TokenBatch batch = make_batch(true, 5000, 4);
  const int64_t N = batch.N();
  Tensor dl = Tensor::empty({N}), de = Tensor::empty({N});
  const auto mask = batch.logp_mask();
  Rng rng(5, 5);
  for (int64_t n = 0; n < N; ++n) dl.f32()[n] = mask[n] * rng.next_normal(), de.f32()[n] = mask[n] * rng.next_normal();
  const auto fa = a->forward(batch, {.entropy = true, .for_backward = true});
  a->backward(dl, de, Tensor());
  const auto fb = b->forward_backward(batch, dl, de);
  auto v = [&](const Tensor& t) { return std::vector<float>(t.f32(), t.f32() + t.numel()); };
  EXPECT_TRUE(testing::all_close(v(fb.logp), v(fa.logp), {1e-6, 1e-6}, "fused logp"));
  EXPECT_TRUE(testing::all_close(v(fb.entropy), v(fa.entropy), {1e-6, 1e-6}, "fused entropy"));
  for (size_t i = 0; i < a->grads().named.size(); ++i) {
    const auto& ga = a->grads().named[i];
    const auto& gb = b->grads().named[i];
    EXPECT_TRUE(testing::norm_close(v(gb.tensor), testing::to_double(v(ga.tensor)), 1e-5, "fused grad " + ga.name));
  }
}

}  // namespace
}  // namespace tandem
