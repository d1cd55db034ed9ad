// Model hyperparameters and tensors into GGUF under llama.cpp's names (see gguf_export.h).
#include "model/gguf_export.h"

#include <cmath>
#include <numbers>

#include "core/error.h"
#include "core/log.h"

namespace tandem::model {
namespace {

// Q/K rows of one projection, HF halves layout -> llama.cpp adjacent pairs, per head.
// w: [n_head * D, cols] row-major.
std::vector<float> permute_rope_rows(const float* w, int64_t n_head, int64_t D, int64_t cols) {
  std::vector<float> out(size_t(n_head * D * cols));
  const int64_t half = D / 2;
  for (int64_t h = 0; h < n_head; ++h)
    for (int64_t j = 0; j < half; ++j)
      for (int64_t s = 0; s < 2; ++s) {
        const float* src = w + (h * D + s * half + j) * cols;
        std::copy(src, src + cols, out.data() + (h * D + 2 * j + s) * cols);
      }
  return out;
}

// llama.cpp's per-frequency divisors for Llama 3 rope scaling (its rope_freqs tensor):
// HF multiplies inv_freq by 1/factor (long wavelengths), 1 (short) or a blend in between.
std::vector<float> llama3_rope_factors(const ModelConfig& cfg) {
  const RopeScaling& rs = cfg.rope_scaling;
  const int64_t D = cfg.head_dim;
  const double old_ctx = double(rs.original_max_position_embeddings > 0 ? rs.original_max_position_embeddings
                                                                         : cfg.max_position_embeddings);
  const double low_wavelen = old_ctx / rs.low_freq_factor, high_wavelen = old_ctx / rs.high_freq_factor;
  std::vector<float> f;
  for (int64_t i = 0; i < D; i += 2) {
    const double freq = 1.0 / std::pow(cfg.rope_theta, double(i) / double(D));
    const double wavelen = 2 * std::numbers::pi / freq;
    if (wavelen < high_wavelen) {
      f.push_back(1.f);
    } else if (wavelen > low_wavelen) {
      f.push_back(float(rs.factor));
    } else {
      const double smooth = (old_ctx / wavelen - rs.low_freq_factor) / (rs.high_freq_factor - rs.low_freq_factor);
      f.push_back(float(1.0 / ((1 - smooth) / rs.factor + smooth)));
    }
  }
  return f;
}

class TensorAdder {
 public:
  TensorAdder(GgufWriter& w, const ParamSet& p, GgmlType dtype) : w_(w), p_(p), dtype_(dtype) {}

  const Tensor* find(const std::string& hf) const {
    const NamedParam* np = p_.find(hf);
    return np ? &np->tensor : nullptr;
  }
  const Tensor& need(const std::string& hf) const {
    const Tensor* t = find(hf);
    TD_ASSERT(t, "ParamSet has no ", hf);
    return *t;
  }
  // Adds t ([rows, cols] or [n]) as name; permute_heads > 0 applies the RoPE row permutation.
  void add(const std::string& name, const Tensor& t, int64_t permute_heads = 0) {
    const bool matrix = t.ndim() == 2;
    const int64_t cols = matrix ? t.dim(1) : t.dim(0), rows = matrix ? t.dim(0) : 1;
    GgmlType type = matrix ? dtype_ : GgmlType::kF32;
    if (cols % ggml_block_size(type) != 0) {
      log_info("export: ", name, " has rows of ", cols, " values, not a whole number of ", ggml_type_name(type),
               " blocks: written as f16");
      type = GgmlType::kF16;
    }
    std::vector<int64_t> ne = matrix ? std::vector<int64_t>{cols, rows} : std::vector<int64_t>{cols};
    Tensor src = t;
    const int64_t n = t.numel();
    w_.add_tensor(name, type, ne, [src, type, n, permute_heads, rows, cols](uint8_t* out) {
      const float* x = src.f32();
      std::vector<float> permuted;
      if (permute_heads > 0) {
        const int64_t D = (rows == 1 ? cols : rows) / permute_heads;
        permuted = rows == 1 ? permute_rope_rows(x, permute_heads, D, 1) : permute_rope_rows(x, permute_heads, D, cols);
        x = permuted.data();
      }
      f32_to_ggml(type, x, n, out);
    });
  }
  void add_f32(const std::string& name, std::vector<float> v) {
    const int64_t n = int64_t(v.size());
    w_.add_tensor(name, GgmlType::kF32, {n}, [v = std::move(v)](uint8_t* out) {
      f32_to_ggml(GgmlType::kF32, v.data(), int64_t(v.size()), out);
    });
  }

 private:
  GgufWriter& w_;
  const ParamSet& p_;
  GgmlType dtype_;
};

}  // namespace

std::string gguf_arch(const ModelConfig& cfg) {
  const std::string where = "export.gguf";
  if (cfg.sequence_classification)
    throw Error(where, cat(cfg.architecture, ": GGUF export covers causal LMs, not score heads"));
  switch (cfg.arch) {
    case Arch::kLlama:
    case Arch::kMistral: return "llama";
    case Arch::kQwen2:
      if (cfg.q_dim() != cfg.hidden_size)
        throw Error(where, cat("llama.cpp's qwen2 needs num_attention_heads * head_dim == hidden_size, got ",
                               cfg.num_attention_heads, " * ", cfg.head_dim, " != ", cfg.hidden_size));
      return "qwen2";
    case Arch::kQwen3:
      if (cfg.has_o_bias())
        throw Error(where, "llama.cpp's qwen3 has no o_proj bias, and this model has attention_bias: true");
      return "qwen3";
  }
  throw Error(where, "unknown architecture");
}

uint32_t gguf_file_type(GgmlType dtype) {
  switch (dtype) {
    case GgmlType::kF32: return 0;
    case GgmlType::kF16: return 1;
    case GgmlType::kQ8_0: return 7;
    case GgmlType::kBF16: return 32;
  }
  return 0;
}

GgmlType gguf_dtype_from_name(const std::string& name) {
  if (name == "f32") return GgmlType::kF32;
  if (name == "f16") return GgmlType::kF16;
  if (name == "bf16") return GgmlType::kBF16;
  if (name == "q8_0") return GgmlType::kQ8_0;
  throw Error("export.dtype", cat("GGUF export supports f32, f16, bf16 or q8_0, got '", name, "'"));
}

void add_model_to_gguf(GgufWriter& w, const ModelConfig& cfg, const ParamSet& p, GgmlType dtype, const std::string& name) {
  const std::string arch = gguf_arch(cfg);
  const std::string where = "export.gguf";
  w.set("general.architecture", GgufValue::string(arch));
  if (!name.empty()) w.set("general.name", GgufValue::string(name));
  w.set("general.file_type", GgufValue::u32(gguf_file_type(dtype)));
  w.set("general.quantization_version", GgufValue::u32(2));
  w.set("general.alignment", GgufValue::u32(kGgufAlignment));
  auto u32 = [](int64_t v) { return GgufValue::u32(uint32_t(v)); };
  const std::string a = arch + ".";
  w.set(a + "vocab_size", u32(cfg.vocab_size));
  w.set(a + "context_length", u32(cfg.max_position_embeddings));
  w.set(a + "embedding_length", u32(cfg.hidden_size));
  w.set(a + "block_count", u32(cfg.num_hidden_layers));
  w.set(a + "feed_forward_length", u32(cfg.intermediate_size));
  w.set(a + "attention.head_count", u32(cfg.num_attention_heads));
  w.set(a + "attention.head_count_kv", u32(cfg.num_key_value_heads));
  if (cfg.head_dim * cfg.num_attention_heads != cfg.hidden_size) {
    w.set(a + "attention.key_length", u32(cfg.head_dim));
    w.set(a + "attention.value_length", u32(cfg.head_dim));
  }
  w.set(a + "attention.layer_norm_rms_epsilon", GgufValue::f32(float(cfg.rms_norm_eps)));
  w.set(a + "rope.freq_base", GgufValue::f32(float(cfg.rope_theta)));
  w.set(a + "rope.dimension_count", u32(cfg.head_dim));

  const RopeScaling& rs = cfg.rope_scaling;
  bool rope_freqs = false;
  switch (rs.type) {
    case RopeType::kDefault: break;
    case RopeType::kLinear:
      w.set(a + "rope.scaling.type", GgufValue::string("linear"));
      w.set(a + "rope.scaling.factor", GgufValue::f32(float(rs.factor)));
      break;
    case RopeType::kYarn:
      // llama.cpp derives the attention scale from the factor (0.1 ln s + 1, as HF's default);
      // an explicit attention_factor or DeepSeek-style mscale has no key it honours for these archs.
      if (rs.attention_factor != 0.0 || rs.mscale != 0.0 || rs.mscale_all_dim != 0.0 || !rs.truncate)
        throw Error(where, "yarn rope scaling with attention_factor, mscale or truncate: false is not representable "
                           "in llama.cpp's qwen2/qwen3/llama loaders");
      w.set(a + "rope.scaling.type", GgufValue::string("yarn"));
      w.set(a + "rope.scaling.factor", GgufValue::f32(float(rs.factor)));
      w.set(a + "rope.scaling.original_context_length",
            u32(rs.original_max_position_embeddings > 0 ? rs.original_max_position_embeddings : cfg.max_position_embeddings));
      w.set(a + "rope.scaling.yarn_beta_fast", GgufValue::f32(float(rs.beta_fast)));
      w.set(a + "rope.scaling.yarn_beta_slow", GgufValue::f32(float(rs.beta_slow)));
      break;
    case RopeType::kLlama3:
      if (arch != "llama") throw Error(where, cat("llama3 rope scaling is only read by llama.cpp's llama loader, not ", arch));
      rope_freqs = true;
      break;
  }
  if (cfg.sliding_window > 0 && !cfg.layer_sliding.empty()) {
    bool any = false;
    for (bool s : cfg.layer_sliding) any = any || s;
    if (any)
      log_warn("export: llama.cpp's ", arch, " attends to the whole context (it reads no sliding window for this "
               "architecture); outputs match this model only while the context stays within sliding_window = ",
               cfg.sliding_window);
  }

  TensorAdder t(w, p, dtype);
  t.add("token_embd.weight", t.need("model.embed_tokens.weight"));
  if (rope_freqs) t.add_f32("rope_freqs.weight", llama3_rope_factors(cfg));
  const bool permute = arch == "llama";
  const int64_t H = cfg.num_attention_heads, K = cfg.num_key_value_heads;
  for (int64_t l = 0; l < cfg.num_hidden_layers; ++l) {
    const std::string hf = cat("model.layers.", l, "."), g = cat("blk.", l, ".");
    t.add(g + "attn_norm.weight", t.need(hf + "input_layernorm.weight"));
    for (const char* x : {"q", "k", "v"}) {
      const int64_t heads = !permute ? 0 : x[0] == 'q' ? H : x[0] == 'k' ? K : 0;
      t.add(cat(g, "attn_", x, ".weight"), t.need(cat(hf, "self_attn.", x, "_proj.weight")), heads);
      if (const Tensor* b = t.find(cat(hf, "self_attn.", x, "_proj.bias"))) t.add(cat(g, "attn_", x, ".bias"), *b, heads);
    }
    t.add(g + "attn_output.weight", t.need(hf + "self_attn.o_proj.weight"));
    if (const Tensor* b = t.find(hf + "self_attn.o_proj.bias")) t.add(g + "attn_output.bias", *b);
    if (cfg.qk_norm) {
      t.add(g + "attn_q_norm.weight", t.need(hf + "self_attn.q_norm.weight"));
      t.add(g + "attn_k_norm.weight", t.need(hf + "self_attn.k_norm.weight"));
    }
    t.add(g + "ffn_norm.weight", t.need(hf + "post_attention_layernorm.weight"));
    t.add(g + "ffn_gate.weight", t.need(hf + "mlp.gate_proj.weight"));
    t.add(g + "ffn_up.weight", t.need(hf + "mlp.up_proj.weight"));
    t.add(g + "ffn_down.weight", t.need(hf + "mlp.down_proj.weight"));
  }
  t.add("output_norm.weight", t.need("model.norm.weight"));
  if (!cfg.tie_word_embeddings) t.add("output.weight", t.need("lm_head.weight"));
}

}  // namespace tandem::model
