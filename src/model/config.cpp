#include "model/config.h"

#include <cmath>

namespace tandem::model {

const char* arch_name(Arch a) {
  switch (a) {
    case Arch::kLlama: return "llama";
    case Arch::kQwen2: return "qwen2";
    case Arch::kQwen3: return "qwen3";
    case Arch::kMistral: return "mistral";
  }
  return "?";
}

namespace {

const char* kWhere = "model.config";

RopeScaling parse_rope_scaling(const Json& j, const std::string& origin) {
  RopeScaling r;
  if (j.is_null()) return r;
  const std::string w = std::string(kWhere) + ".rope_scaling";
  if (!j.is_object()) throw Error(w, cat("expected an object or null, got ", json_type_name(j), " (", origin, ")"));
  std::string type = json_string_or(j, "rope_type", "", w, origin);
  if (type.empty()) type = json_string_or(j, "type", "default", w, origin);
  if (type == "default") r.type = RopeType::kDefault;
  else if (type == "linear") r.type = RopeType::kLinear;
  else if (type == "llama3") r.type = RopeType::kLlama3;
  else if (type == "yarn") r.type = RopeType::kYarn;
  else
    throw Error(w + ".rope_type", cat("unsupported RoPE scaling '", type,
                                      "', expected one of default, linear, llama3, yarn (", origin, ")"));
  r.factor = json_number_or(j, "factor", 1.0, w, origin);
  if (r.type != RopeType::kDefault && !(r.factor > 0))
    throw Error(w + ".factor", cat("must be > 0, got ", r.factor, " (", origin, ")"));
  r.low_freq_factor = json_number_or(j, "low_freq_factor", 1.0, w, origin);
  r.high_freq_factor = json_number_or(j, "high_freq_factor", 4.0, w, origin);
  r.original_max_position_embeddings = json_int_or(j, "original_max_position_embeddings", 0, w, origin);
  r.beta_fast = json_number_or(j, "beta_fast", 32.0, w, origin);
  r.beta_slow = json_number_or(j, "beta_slow", 1.0, w, origin);
  r.attention_factor = json_number_or(j, "attention_factor", 0.0, w, origin);
  r.mscale = json_number_or(j, "mscale", 0.0, w, origin);
  r.mscale_all_dim = json_number_or(j, "mscale_all_dim", 0.0, w, origin);
  r.truncate = json_bool_or(j, "truncate", true, w, origin);
  if (r.type == RopeType::kLlama3) {
    if (r.original_max_position_embeddings <= 0)
      throw Error(w + ".original_max_position_embeddings", cat("required for llama3 RoPE scaling (", origin, ")"));
    if (!(r.high_freq_factor > r.low_freq_factor))
      throw Error(w + ".high_freq_factor", cat("must exceed low_freq_factor (", origin, ")"));
  }
  return r;
}

std::vector<int64_t> int_or_list(const Json& j, const std::string& key, const std::string& origin) {
  std::vector<int64_t> out;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return out;
  if (it->is_array()) {
    for (size_t i = 0; i < it->size(); ++i) {
      if (!(*it)[i].is_number_integer())
        throw Error(cat(kWhere, ".", key, "[", i, "]"), cat("expected an integer (", origin, ")"));
      out.push_back((*it)[i].get<int64_t>());
    }
  } else {
    out.push_back(json_int(j, key, kWhere, origin));
  }
  return out;
}

void require_positive(int64_t v, const char* field, const std::string& origin) {
  if (v <= 0) throw Error(cat(kWhere, ".", field), cat("must be a positive integer, got ", v, " (", origin, ")"));
}

}  // namespace

ModelConfig ModelConfig::from_json(const Json& j, const std::string& origin) {
  if (!j.is_object()) throw Error(kWhere, cat("expected a JSON object (", origin, ")"));
  ModelConfig c;
  c.raw = j;
  auto archs = j.find("architectures");
  if (archs == j.end() || !archs->is_array() || archs->empty() || !(*archs)[0].is_string())
    throw Error(cat(kWhere, ".architectures"),
                cat("missing or not a non-empty list of strings (", origin,
                    "); expected e.g. [\"LlamaForCausalLM\"]. Hint: is this a Hugging Face model folder?"));
  c.architecture = (*archs)[0].get<std::string>();
  const struct { const char* prefix; Arch arch; } kFamilies[] = {
      {"Llama", Arch::kLlama}, {"Qwen2", Arch::kQwen2}, {"Qwen3", Arch::kQwen3}, {"Mistral", Arch::kMistral}};
  bool known = false;
  for (const auto& f : kFamilies) {
    const std::string p = f.prefix;
    if (c.architecture == p + "ForCausalLM") c.arch = f.arch, known = true;
    if (c.architecture == p + "ForSequenceClassification")
      c.arch = f.arch, known = true, c.sequence_classification = true;
  }
  if (!known)
    throw Error(cat(kWhere, ".architectures"),
                cat("unsupported architecture '", c.architecture,
                    "', expected one of LlamaForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM, MistralForCausalLM "
                    "(or their ForSequenceClassification variants) (",
                    origin, ")"));
  c.hidden_size = json_int(j, "hidden_size", kWhere, origin);
  c.intermediate_size = json_int(j, "intermediate_size", kWhere, origin);
  c.num_hidden_layers = json_int(j, "num_hidden_layers", kWhere, origin);
  c.num_attention_heads = json_int(j, "num_attention_heads", kWhere, origin);
  c.vocab_size = json_int(j, "vocab_size", kWhere, origin);
  require_positive(c.hidden_size, "hidden_size", origin);
  require_positive(c.intermediate_size, "intermediate_size", origin);
  require_positive(c.num_hidden_layers, "num_hidden_layers", origin);
  require_positive(c.num_attention_heads, "num_attention_heads", origin);
  require_positive(c.vocab_size, "vocab_size", origin);
  c.num_key_value_heads = json_int_or(j, "num_key_value_heads", c.num_attention_heads, kWhere, origin);
  require_positive(c.num_key_value_heads, "num_key_value_heads", origin);
  if (c.num_attention_heads % c.num_key_value_heads != 0)
    throw Error(cat(kWhere, ".num_key_value_heads"),
                cat("must divide num_attention_heads=", c.num_attention_heads, ", got ", c.num_key_value_heads, " (",
                    origin, ")"));
  // Qwen3Config defaults head_dim to 128; the other families derive it from hidden / heads.
  const int64_t default_head_dim = c.arch == Arch::kQwen3 ? 128 : c.hidden_size / c.num_attention_heads;
  c.head_dim = json_int_or(j, "head_dim", default_head_dim, kWhere, origin);
  if (!j.contains("head_dim") && c.arch != Arch::kQwen3 && c.hidden_size % c.num_attention_heads != 0)
    throw Error(cat(kWhere, ".head_dim"), cat("missing, and hidden_size=", c.hidden_size,
                                              " is not divisible by num_attention_heads=", c.num_attention_heads,
                                              " (", origin, ")"));
  require_positive(c.head_dim, "head_dim", origin);
  if (c.head_dim % 2 != 0)
    throw Error(cat(kWhere, ".head_dim"), cat("must be even for RoPE, got ", c.head_dim, " (", origin, ")"));
  c.max_position_embeddings = json_int_or(j, "max_position_embeddings", 2048, kWhere, origin);
  require_positive(c.max_position_embeddings, "max_position_embeddings", origin);
  c.rms_norm_eps = json_number_or(j, "rms_norm_eps", 1e-6, kWhere, origin);
  if (!(c.rms_norm_eps > 0)) throw Error(cat(kWhere, ".rms_norm_eps"), cat("must be > 0 (", origin, ")"));
  c.rope_theta = json_number_or(j, "rope_theta", 10000.0, kWhere, origin);
  if (!(c.rope_theta > 1)) throw Error(cat(kWhere, ".rope_theta"), cat("must be > 1, got ", c.rope_theta, " (", origin, ")"));
  if (j.contains("rope_scaling")) c.rope_scaling = parse_rope_scaling(j["rope_scaling"], origin);
  const double prf = json_number_or(j, "partial_rotary_factor", 1.0, kWhere, origin);
  if (prf != 1.0)
    throw Error(cat(kWhere, ".partial_rotary_factor"), cat("only 1.0 is supported, got ", prf, " (", origin, ")"));
  c.tie_word_embeddings = json_bool_or(j, "tie_word_embeddings", false, kWhere, origin);
  c.attention_bias = c.arch != Arch::kQwen2 && json_bool_or(j, "attention_bias", false, kWhere, origin);
  if (json_bool_or(j, "mlp_bias", false, kWhere, origin))
    throw Error(cat(kWhere, ".mlp_bias"), cat("true is not supported (", origin, ")"));
  const std::string act = json_string_or(j, "hidden_act", "silu", kWhere, origin);
  if (act != "silu") throw Error(cat(kWhere, ".hidden_act"), cat("expected \"silu\", got \"", act, "\" (", origin, ")"));
  c.qk_norm = c.arch == Arch::kQwen3;

  // Sliding window. layer_types (newer configs) is authoritative; otherwise Mistral applies a
  // non-null sliding_window to every layer, and Qwen2/Qwen3 apply it when use_sliding_window is
  // true to the layers with index >= max_window_layers (the rule of HF's layer_types derivation).
  c.layer_sliding.assign(size_t(c.num_hidden_layers), false);
  c.sliding_window = json_int_or(j, "sliding_window", 0, kWhere, origin);
  c.use_sliding_window = json_bool_or(j, "use_sliding_window", c.arch == Arch::kMistral, kWhere, origin);
  c.max_window_layers = json_int_or(j, "max_window_layers", 0, kWhere, origin);
  if (j.contains("layer_types") && !j["layer_types"].is_null()) {
    const Json& lt = j["layer_types"];
    if (!lt.is_array() || int64_t(lt.size()) != c.num_hidden_layers)
      throw Error(cat(kWhere, ".layer_types"),
                  cat("expected a list of ", c.num_hidden_layers, " strings (", origin, ")"));
    for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
      const std::string t = lt[l].is_string() ? lt[l].get<std::string>() : "";
      if (t == "sliding_attention") c.layer_sliding[l] = true;
      else if (t != "full_attention")
        throw Error(cat(kWhere, ".layer_types[", l, "]"),
                    cat("expected \"full_attention\" or \"sliding_attention\", got ", lt[l].dump(), " (", origin, ")"));
    }
  } else if (c.sliding_window > 0) {
    for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
      if (c.arch == Arch::kMistral) c.layer_sliding[l] = true;
      else if ((c.arch == Arch::kQwen2 || c.arch == Arch::kQwen3) && c.use_sliding_window)
        c.layer_sliding[l] = l >= c.max_window_layers;
    }
  }
  for (bool s : c.layer_sliding)
    if (s && c.sliding_window <= 0)
      throw Error(cat(kWhere, ".sliding_window"), cat("layers use a sliding window but it is not a positive integer (", origin, ")"));

  c.torch_dtype = json_string_or(j, "torch_dtype", json_string_or(j, "dtype", "float32", kWhere, origin), kWhere, origin);
  if (c.torch_dtype != "float32" && c.torch_dtype != "bfloat16" && c.torch_dtype != "float16")
    throw Error(cat(kWhere, ".torch_dtype"),
                cat("expected float32, bfloat16 or float16, got '", c.torch_dtype, "' (", origin, ")"));
  c.bos_token_id = json_int_or(j, "bos_token_id", -1, kWhere, origin);
  c.pad_token_id = json_int_or(j, "pad_token_id", -1, kWhere, origin);
  c.eos_token_ids = int_or_list(j, "eos_token_id", origin);
  if (c.sequence_classification) {
    c.num_labels = json_int_or(j, "num_labels", 1, kWhere, origin);
    if (j.contains("id2label") && j["id2label"].is_object() && !j.contains("num_labels"))
      c.num_labels = int64_t(j["id2label"].size());
    if (c.num_labels != 1)
      throw Error(cat(kWhere, ".num_labels"),
                  cat("only scalar heads (num_labels = 1) are supported, got ", c.num_labels, " (", origin, ")"));
  }
  return c;
}

ModelConfig ModelConfig::load(const std::string& path) {
  return from_json(read_json_file(path, kWhere), path);
}

Json ModelConfig::to_json() const {
  Json j = raw.is_object() ? raw : Json::object();
  j["architectures"] = Json::array({architecture});
  j["model_type"] = arch_name(arch);
  j["hidden_size"] = hidden_size;
  j["intermediate_size"] = intermediate_size;
  j["num_hidden_layers"] = num_hidden_layers;
  j["num_attention_heads"] = num_attention_heads;
  j["num_key_value_heads"] = num_key_value_heads;
  j["head_dim"] = head_dim;
  j["vocab_size"] = vocab_size;
  j["max_position_embeddings"] = max_position_embeddings;
  j["rms_norm_eps"] = rms_norm_eps;
  j["rope_theta"] = rope_theta;
  j["tie_word_embeddings"] = tie_word_embeddings;
  j["hidden_act"] = "silu";
  if (arch != Arch::kQwen2) j["attention_bias"] = attention_bias;
  j["torch_dtype"] = torch_dtype;
  if (sequence_classification) j["num_labels"] = num_labels;
  return j;
}

}  // namespace tandem::model
