// Random HF model folders (see random_model.h).
#include "cli/random_model.h"

#include <map>

#include "core/error.h"
#include "model/config.h"
#include "model/decoder.h"
#include "model/init.h"

namespace tandem::cli {

Json random_model_config(const RandomModelSpec& o) {
  static const std::map<std::string, std::string> kArch = {{"qwen3", "Qwen3"}, {"qwen2", "Qwen2"},
                                                           {"llama", "Llama"}, {"mistral", "Mistral"}};
  auto a = kArch.find(o.arch);
  if (a == kArch.end())
    throw Error("init-model.arch", cat("unknown '", o.arch, "', expected qwen3, qwen2, llama or mistral"));
  Json j;
  j["architectures"] = {a->second + (o.score ? "ForSequenceClassification" : "ForCausalLM")};
  j["model_type"] = o.arch;
  j["hidden_size"] = o.hidden;
  j["intermediate_size"] = o.intermediate;
  j["num_hidden_layers"] = o.layers;
  j["num_attention_heads"] = o.heads;
  j["num_key_value_heads"] = o.kv_heads > 0 ? o.kv_heads : o.heads;
  j["head_dim"] = o.head_dim > 0 ? o.head_dim : (o.heads > 0 ? o.hidden / o.heads : 0);
  j["vocab_size"] = o.vocab;
  j["max_position_embeddings"] = o.max_pos;
  j["rms_norm_eps"] = o.rms_eps;
  j["rope_theta"] = o.rope_theta;
  j["tie_word_embeddings"] = o.tie;
  j["hidden_act"] = "silu";
  j["initializer_range"] = o.init_range;
  j["bos_token_id"] = o.bos_token_id;
  j["eos_token_id"] = o.eos_token_id;
  if (o.pad_token_id >= 0) j["pad_token_id"] = o.pad_token_id;
  if (o.arch != "qwen2") j["attention_bias"] = o.bias;
  if (o.score) j["num_labels"] = 1;
  if (!o.rope_scaling.empty()) j["rope_scaling"] = parse_json(o.rope_scaling, "--rope-scaling", "init-model.rope_scaling");
  if (o.sliding_window > 0) {
    j["sliding_window"] = o.sliding_window;
    if (o.arch == "qwen2" || o.arch == "qwen3") {
      j["use_sliding_window"] = true;
      j["max_window_layers"] = o.max_window_layers;
    }
  } else if (o.arch == "mistral") {
    j["sliding_window"] = nullptr;
  }
  return j;
}

int64_t write_random_model(const RandomModelSpec& s, const std::string& dir, DType dtype) {
  model::ModelConfig cfg = model::ModelConfig::from_json(random_model_config(s), "init-model arguments");
  model::Decoder dec(cfg);
  model::init_random(dec.weights(), s.init_range, s.seed);
  dec.save(dir, dtype);
  return dec.weights().num_params();
}

}  // namespace tandem::cli
