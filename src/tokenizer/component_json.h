// Small helpers shared by the tokenizer.json component parsers: the "type" tag, the
// {"String": ...} / {"Regex": ...} pattern object, and typed array access. Errors name the JSON path.
// Not here: the components themselves.
#pragma once
#include <string>

#include "core/json.h"
#include "tokenizer/pattern.h"

namespace tandem::tokenizer {

// The "type" string of a component object.
std::string component_type(const Json& j, const std::string& where, const std::string& origin);
// {"String": "x"} or {"Regex": "..."}.
Pattern parse_pattern(const Json& j, const std::string& where, const std::string& origin);
// obj[key] which must be an array.
const Json& json_array(const Json& obj, const std::string& key, const std::string& where, const std::string& origin);
// A one-character string field (Metaspace replacement, Strip content).
uint32_t json_char(const Json& obj, const std::string& key, const std::string& where, const std::string& origin);

}  // namespace tandem::tokenizer
