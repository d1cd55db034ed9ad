// Reading JSON values with errors that name the file and the field.
// nlohmann::json is the parser (docs/dependencies.md); this header only adds the context that
// its own exceptions lack ("[model.config.hidden_size] expected an integer, got string (config.json)").
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/error.h"

namespace tandem {

using Json = nlohmann::json;

// Deepest nesting of arrays and objects accepted in a user's JSON. nlohmann's copy and dump, and
// the converters built on them, recurse once per level: a JSONL line of 50000 '[' overflowed the
// stack (fuzz harness dataset). Python's json module stops near 1000; real files nest < 20.
constexpr size_t kMaxJsonDepth = 512;
// The most bytes of one JSON text a user gives: a whole JSON file (config, tokenizer, index) or
// one JSONL line. Far above real ones (Gemma 3's tokenizer.json is 33 MB, a long example ~1 MB);
// past it a file is broken or hostile, refused before it is held (parsed, ~10x its size).
constexpr uint64_t kMaxJsonBytes = uint64_t(256) << 20;
// The byte offset of the bracket that opens level kMaxJsonDepth + 1 (outside strings), or npos.
// A scan without allocation, run before the parser; invalid JSON is left to the parser.
size_t json_too_deep_at(std::string_view text);

// Parses text; a syntax error or nesting past kMaxJsonDepth becomes Error naming origin (usually
// a file path) and the byte offset.
Json parse_json(const std::string& text, const std::string& origin, const std::string& where);
// Parses the file at path.
Json read_json_file(const std::string& path, const std::string& where);

const char* json_type_name(const Json& j);

// Field access. where: the dotted prefix of the object, e.g. "model.config"; origin: the file.
const Json& json_field(const Json& obj, const std::string& key, const std::string& where, const std::string& origin);
int64_t json_int(const Json& obj, const std::string& key, const std::string& where, const std::string& origin);
int64_t json_int_or(const Json& obj, const std::string& key, int64_t dflt, const std::string& where,
                    const std::string& origin);
double json_number(const Json& obj, const std::string& key, const std::string& where, const std::string& origin);
double json_number_or(const Json& obj, const std::string& key, double dflt, const std::string& where,
                      const std::string& origin);
bool json_bool_or(const Json& obj, const std::string& key, bool dflt, const std::string& where,
                  const std::string& origin);
std::string json_string(const Json& obj, const std::string& key, const std::string& where, const std::string& origin);
std::string json_string_or(const Json& obj, const std::string& key, const std::string& dflt, const std::string& where,
                           const std::string& origin);

}  // namespace tandem
