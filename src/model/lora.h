// LoRA adapters (Hu et al. 2021, arXiv:2106.09685) on the decoder's projections, as PEFT defines
// them: for a targeted projection W [out, in], y = x W^T + scale * drop(x) A^T B^T with
// A [r, in], B [out, r], scale = alpha / r (alpha / sqrt(r) with rsLoRA, arXiv:2312.03732).
// Owns: the config, the adapter tensors of every targeted projection of every layer in one flat
// buffer (so optimisers see one span, as with ParamSet), PEFT's init (A kaiming-uniform with
// a = sqrt(5), i.e. U(-1/sqrt(in), 1/sqrt(in)); B = 0), the deterministic dropout, and the
// forward/backward of one adapter. The decoder (decoder.cpp) calls these next to each base GEMM.
// Deliberately not here: the PEFT folder format and merging (lora_peft.h), the training loop.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/config.h"
#include "model/weights.h"
#include "tensor/ops.h"

namespace tandem::model {

// The projections an adapter can sit on, in PEFT's module names. Order is the flat layout order.
enum class LoraTarget : int { kQ, kK, kV, kO, kGate, kUp, kDown };
constexpr int kNumLoraTargets = 7;
const char* lora_target_name(LoraTarget t);      // "q_proj", ..., "down_proj"
const char* lora_target_block(LoraTarget t);     // "self_attn" or "mlp"
// "model.layers.3.self_attn.q_proj": the module path under the base model (PEFT's key stem).
std::string lora_module_path(int64_t layer, LoraTarget t);

struct LoraConfig {
  int64_t r = 8;
  double alpha = 8.0;
  double dropout = 0.0;  // on the adapter's input, training forwards only
  bool use_rslora = false;
  std::vector<std::string> target_modules{"q_proj", "v_proj"};  // PEFT's default for Llama-family models

  float scale() const;
  bool targets(LoraTarget t) const;
  // where: dotted prefix for errors ("lora", "sft.lora"); origin: the file the values came from.
  void validate(const std::string& where, const std::string& origin = "") const;
  // {r, alpha, dropout, use_rslora, target_modules} from a JSON/YAML subtree (unknown keys are errors).
  static LoraConfig from_json(const Json& j, const std::string& where, const std::string& origin);
  Json to_json() const;
};

// One projection's pair as shapes of the model: in/out features and, for projections fused in
// one GEMM (q/k/v in wqkv, gate/up in w_gate_up), the column offset of its part of the output.
struct LoraDims {
  int64_t in = 0, out = 0, col0 = 0;
};
LoraDims lora_dims(const ModelConfig& cfg, LoraTarget t);

struct LoraPair {
  Tensor a;  // [r, in]; undefined when the projection is not targeted
  Tensor b;  // [out, r]
};
struct LoraLayer {
  std::array<LoraPair, kNumLoraTargets> t;
};

// The adapter tensors (or their gradients) in one zero-initialised flat F32 buffer, with PEFT
// names: "base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight" [r, in], ".lora_B.weight" [out, r].
class LoraSet {
 public:
  LoraSet(const ModelConfig& mcfg, const LoraConfig& cfg);
  LoraSet(const LoraSet&) = delete;
  LoraSet& operator=(const LoraSet&) = delete;

  Tensor flat;  // [P]
  std::vector<LoraLayer> layers;
  std::vector<NamedParam> named;  // is_matrix true for all (weight decay applies, as PEFT/TRL do)
  const NamedParam* find(const std::string& name) const;
  int64_t num_params() const { return flat.numel(); }
};

// Input dropout of one adapter at one training forward: element e of x [N, in] is kept iff
// u(e) >= p, kept ones scaled by 1 / (1 - p). u(e) = (word >> 8) * 2^-24 where word is word e % 4
// of philox4x32({e / 4 low, e / 4 high, stream low, stream high}, {seed low, seed high}), and
// stream = (step << 20) | (layer << 3) | target. A pure function of (seed, step, layer, target,
// e): backward and recomputation regenerate the forward's mask, and thread count never matters.
struct LoraDropout {
  float p = 0.f;
  uint64_t seed = 0, stream = 0;
  bool active() const { return p > 0.f; }
};
// out = mask(x) / (1 - p) elementwise; out may be x itself.
void lora_dropout_apply(const LoraDropout& d, const Tensor& x, Tensor& out);

// y[:, col0 : col0 + out] += scale * drop(x) A^T B^T.   x [N, in], y [N, W] (W >= out).
void lora_forward(const Ops& ops, const LoraPair& p, const LoraDims& d, float scale, const LoraDropout& drop,
                  const Tensor& x, Tensor& y);
// From dy [N, W] (its columns col0 .. col0 + out): dA, dB += ; dx [N, in] += the input gradient.
void lora_backward(const Ops& ops, const LoraPair& p, LoraPair& g, const LoraDims& d, float scale,
                   const LoraDropout& drop, const Tensor& x, const Tensor& dy, Tensor& dx);

// The adapters of one decoder: config, weights, gradients (allocated on first use), the switch,
// and the dropout seed and counter. Attach with Decoder::attach_adapters.
class LoraAdapters {
 public:
  LoraAdapters(const ModelConfig& mcfg, LoraConfig cfg);
  const LoraConfig& config() const { return cfg_; }
  float scale() const { return scale_; }
  LoraSet& weights() { return *w_; }
  const LoraSet& weights() const { return *w_; }
  LoraSet& grads();
  bool has_grads() const { return g_ != nullptr; }
  // PEFT's initialisation from our Rng: A ~ U(-1/sqrt(in), 1/sqrt(in)), B = 0.
  void init(uint64_t seed);

  bool enabled = true;        // off: the model is exactly the base (the reference policy of DPO/RL)
  uint64_t dropout_seed = 0;  // dropout masks are a function of (dropout_seed, dropout_step, ...)
  uint64_t dropout_step = 0;  // the Decoder advances it after each training forward

 private:
  LoraConfig cfg_;
  ModelConfig mcfg_;
  float scale_;
  std::unique_ptr<LoraSet> w_, g_;
};

}  // namespace tandem::model
