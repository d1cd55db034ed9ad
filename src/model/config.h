// ModelConfig: every config.json field that changes the math of a supported decoder (formats.md),
// read with errors that name the field and the file. Unknown or unsupported values are errors;
// fields that do not change the math are kept only in `raw` so that save() can write them back.
#pragma once
#include <string>

#include "core/json.h"

namespace tandem::model {

enum class Arch { kLlama, kQwen2, kQwen3, kMistral };
const char* arch_name(Arch a);  // "llama", "qwen2", "qwen3", "mistral"

enum class RopeType { kDefault, kLinear, kLlama3, kYarn };

struct RopeScaling {
  RopeType type = RopeType::kDefault;
  double factor = 1.0;
  double low_freq_factor = 1.0, high_freq_factor = 4.0;  // llama3
  int64_t original_max_position_embeddings = 0;          // llama3, yarn (0 = max_position_embeddings)
  double beta_fast = 32.0, beta_slow = 1.0;               // yarn
  double attention_factor = 0.0;                          // yarn; 0 = derived from factor (and mscale)
  double mscale = 0.0, mscale_all_dim = 0.0;              // yarn (DeepSeek-style), 0 = unset
  bool truncate = true;                                   // yarn
};

struct ModelConfig {
  Arch arch = Arch::kLlama;
  std::string architecture;  // architectures[0] as written, e.g. "Qwen3ForCausalLM"
  bool sequence_classification = false;  // *ForSequenceClassification: a score head instead of the LM head
  int64_t num_labels = 1;
  int64_t hidden_size = 0, intermediate_size = 0, num_hidden_layers = 0;
  int64_t num_attention_heads = 0, num_key_value_heads = 0, head_dim = 0;
  int64_t vocab_size = 0, max_position_embeddings = 2048;
  double rms_norm_eps = 1e-6, rope_theta = 10000.0;
  RopeScaling rope_scaling;
  bool tie_word_embeddings = false;
  bool attention_bias = false;  // q/k/v/o bias (Llama, Mistral, Qwen3); Qwen2 has q/k/v bias always, no o bias
  bool qk_norm = false;         // Qwen3
  int64_t sliding_window = 0;   // 0 = none
  bool use_sliding_window = false;
  int64_t max_window_layers = 0;
  std::vector<bool> layer_sliding;  // per layer: uses the sliding window
  std::string torch_dtype = "float32";
  int64_t bos_token_id = -1, pad_token_id = -1;
  std::vector<int64_t> eos_token_ids;
  Json raw;  // the file as read (or as built by init-model), for writing back

  bool has_qkv_bias() const { return arch == Arch::kQwen2 || attention_bias; }
  bool has_o_bias() const { return arch != Arch::kQwen2 && attention_bias; }
  int64_t q_dim() const { return num_attention_heads * head_dim; }
  int64_t kv_dim() const { return num_key_value_heads * head_dim; }
  int64_t window_for_layer(int64_t l) const { return layer_sliding.empty() || !layer_sliding[l] ? 0 : sliding_window; }

  // Parses config.json text; origin names the file in errors.
  static ModelConfig from_json(const Json& j, const std::string& origin);
  static ModelConfig load(const std::string& path);
  // The JSON to write as config.json (raw with the math fields as this config holds them).
  Json to_json() const;
};

}  // namespace tandem::model
