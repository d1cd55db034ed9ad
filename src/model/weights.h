// The parameters of a decoder, in one flat F32 buffer (so optimisers and all-reduce see a single
// span), with fused views where one GEMM serves several HF projections: wqkv = [q; k; v] rows and
// w_gate_up = [gate; up] rows. `named` lists every tensor under its Hugging Face name as a view
// into the same buffer, which is what load/save and gradient reports use.
// The same class holds gradients (a second ParamSet of the same config, zero-initialised) and,
// in BF16, the rounded copy that bf16 compute multiplies with (Decoder::gemm_weights).
#pragma once
#include <string>
#include <vector>

#include "model/config.h"
#include "tensor/tensor.h"

namespace tandem::model {

struct LayerWeights {
  Tensor attn_norm;        // [C]
  Tensor wqkv;             // [(H + 2K) * D, C]
  Tensor bqkv;             // [(H + 2K) * D] or undefined
  Tensor q_norm, k_norm;   // [D] (Qwen3) or undefined
  Tensor wo;               // [C, H * D]
  Tensor bo;               // [C] or undefined
  Tensor mlp_norm;         // [C]
  Tensor w_gate_up;        // [2I, C]
  Tensor w_down;           // [C, I]
};

struct NamedParam {
  std::string name;  // HF name, e.g. "model.layers.3.self_attn.q_proj.weight"
  Tensor tensor;     // view into ParamSet::flat
  bool is_matrix;    // weight decay applies by default (not norms, biases)
};

class ParamSet {
 public:
  // with_score: allocate a scalar head "score.weight" [1, C] (reward models, critics).
  // dtype: of the buffer and every view (F32; BF16 for a compute copy).
  ParamSet(const ModelConfig& cfg, bool with_score, DType dtype = DType::kF32);
  ParamSet(const ParamSet&) = delete;
  ParamSet& operator=(const ParamSet&) = delete;

  Tensor flat;  // [P], zero-initialised
  Tensor embed;       // [V, C]
  std::vector<LayerWeights> layers;
  Tensor final_norm;  // [C]
  Tensor lm_head;     // [V, C]; undefined when tied or for sequence classification
  Tensor score;       // [1, C] or undefined
  std::vector<NamedParam> named;

  const Tensor& output_embedding() const { return lm_head.defined() ? lm_head : embed; }
  const NamedParam* find(const std::string& name) const;
  int64_t num_params() const { return flat.numel(); }
};

// Reads model.safetensors or the shards of model.safetensors.index.json in dir into p, checking
// every tensor's presence, shape and dtype against the config. Errors name file and tensor.
void load_weights(ParamSet& p, const std::string& dir);
// Writes p as dir/model.safetensors (atomic), in dtype (F32, BF16 or F16).
void save_weights(const ParamSet& p, const std::string& dir, DType dtype);

}  // namespace tandem::model
