// See component_json.h.
#include "tokenizer/component_json.h"

#include "tokenizer/unicode.h"

namespace tandem::tokenizer {

std::string component_type(const Json& j, const std::string& where, const std::string& origin) {
  if (!j.is_object()) throw Error(where, cat("expected an object or null, got ", json_type_name(j), " (", origin, ")"));
  return json_string(j, "type", where, origin);
}

Pattern parse_pattern(const Json& j, const std::string& where, const std::string& origin) {
  Pattern p;
  if (j.is_object() && j.contains("String") && j["String"].is_string()) {
    p.literal = j["String"].get<std::string>();
    return p;
  }
  if (j.is_object() && j.contains("Regex") && j["Regex"].is_string()) {
    p.regex = std::make_shared<Regex>(j["Regex"].get<std::string>(), where + ".Regex", origin);
    return p;
  }
  throw Error(where, cat("expected {\"String\": ...} or {\"Regex\": ...}, got ", j.dump(), " (", origin, ")"));
}

const Json& json_array(const Json& obj, const std::string& key, const std::string& where, const std::string& origin) {
  const Json& v = json_field(obj, key, where, origin);
  if (!v.is_array()) throw Error(where + "." + key, cat("expected an array, got ", json_type_name(v), " (", origin, ")"));
  return v;
}

uint32_t json_char(const Json& obj, const std::string& key, const std::string& where, const std::string& origin) {
  const std::string s = json_string(obj, key, where, origin);
  size_t i = 0;
  const uint32_t cp = s.empty() ? 0 : utf8_next(s, i);
  if (s.empty() || i != s.size())
    throw Error(where + "." + key, cat("expected a single character, got \"", s, "\" (", origin, ")"));
  return cp;
}

}  // namespace tandem::tokenizer
