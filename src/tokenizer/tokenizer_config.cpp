// See tokenizer_config.h.
#include "tokenizer/tokenizer_config.h"

#include "core/file.h"

namespace tandem::tokenizer {

namespace {
std::string token_string(const Json& j, const std::string& key, const std::string& origin) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) return json_string(*it, "content", "tokenizer_config." + key, origin);
  throw Error("tokenizer_config." + key,
              cat("expected a string or {\"content\": ...}, got ", json_type_name(*it), " (", origin, ")"));
}

std::optional<bool> opt_bool(const Json& j, const std::string& key, const std::string& origin) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  return json_bool_or(j, key, false, "tokenizer_config", origin);
}
}  // namespace

TokenizerConfig TokenizerConfig::from_json(const Json& j, const std::string& origin) {
  if (!j.is_object()) throw Error("tokenizer_config", cat("expected a JSON object, got ", json_type_name(j), " (", origin, ")"));
  TokenizerConfig c;
  c.raw = j;
  c.origin = origin;
  c.add_bos_token = opt_bool(j, "add_bos_token", origin);
  c.add_eos_token = opt_bool(j, "add_eos_token", origin);
  c.bos_token = token_string(j, "bos_token", origin);
  c.eos_token = token_string(j, "eos_token", origin);
  c.pad_token = token_string(j, "pad_token", origin);
  c.unk_token = token_string(j, "unk_token", origin);
  auto it = j.find("model_max_length");
  if (it != j.end() && !it->is_null()) {
    if (!it->is_number())
      throw Error("tokenizer_config.model_max_length", cat("expected a number, got ", json_type_name(*it), " (", origin, ")"));
    const double v = it->get<double>();
    if (v > 0 && v < 9.0e15) c.model_max_length = int64_t(v);
  }
  return c;
}

TokenizerConfig TokenizerConfig::from_file(const std::string& path) {
  if (!file_exists(path)) return TokenizerConfig{};
  return from_json(read_json_file(path, "tokenizer_config"), path);
}

}  // namespace tandem::tokenizer
