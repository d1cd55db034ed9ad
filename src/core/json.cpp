#include "core/json.h"

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <system_error>

#include "core/file.h"

namespace tandem {

size_t json_too_deep_at(std::string_view text) {
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::string_view::npos;
}

Json parse_json(const std::string& text, const std::string& origin, const std::string& where) {
  if (const size_t at = json_too_deep_at(text); at != std::string_view::npos)
    throw Error(where, cat("JSON in ", origin, " nests deeper than ", kMaxJsonDepth, " levels at byte ", at));
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    throw Error(where, cat("invalid JSON in ", origin, " at byte ", e.byte, ": ", e.what()));
  }
}

Json read_json_file(const std::string& path, const std::string& where) {
  if (!file_exists(path)) throw Error(where, cat("file not found: ", path));
  std::error_code ec;
  const uintmax_t bytes = std::filesystem::file_size(path, ec);
  if (!ec && bytes > kMaxJsonBytes)
    throw Error(where, cat("JSON file of ", bytes, " bytes exceeds the limit of ", kMaxJsonBytes, " bytes (", path,
                           ")"));
  return parse_json(read_file(path), path, where);
}

const char* json_type_name(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::object: return "object";
    case Json::value_t::array: return "array";
    case Json::value_t::string: return "string";
    case Json::value_t::boolean: return "boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return "integer";
    case Json::value_t::number_float: return "number";
    default: return "unknown";
  }
}

const Json& json_field(const Json& obj, const std::string& key, const std::string& where, const std::string& origin) {
  if (!obj.is_object()) throw Error(where, cat("expected a JSON object, got ", json_type_name(obj), " (", origin, ")"));
  auto it = obj.find(key);
  if (it == obj.end()) throw Error(where + "." + key, cat("missing required field (", origin, ")"));
  return *it;
}

namespace {
int64_t as_int(const Json& v, const std::string& w, const std::string& origin) {
  // nlohmann keeps integers past INT64_MAX as unsigned and past UINT64_MAX as double: both must be
  // refused before any conversion (a cast of an out-of-range double is undefined; fuzz config_json).
  if (v.is_number_unsigned()) {
    if (v.get<uint64_t>() <= uint64_t(INT64_MAX)) return int64_t(v.get<uint64_t>());
  } else if (v.is_number_integer()) {
    return v.get<int64_t>();
  } else if (v.is_number_float()) {
    const double d = v.get<double>();
    if (d >= -0x1p63 && d < 0x1p63 && d == std::trunc(d)) return int64_t(d);
  }
  throw Error(w, cat("expected an integer, got ", json_type_name(v), " ", v.dump(), " (", origin, ")"));
}
double as_number(const Json& v, const std::string& w, const std::string& origin) {
  if (v.is_number()) return v.get<double>();
  throw Error(w, cat("expected a number, got ", json_type_name(v), " ", v.dump(), " (", origin, ")"));
}
}  // namespace

int64_t json_int(const Json& obj, const std::string& key, const std::string& where, const std::string& origin) {
  return as_int(json_field(obj, key, where, origin), where + "." + key, origin);
}

int64_t json_int_or(const Json& obj, const std::string& key, int64_t dflt, const std::string& where,
                    const std::string& origin) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return dflt;
  return as_int(*it, where + "." + key, origin);
}

double json_number(const Json& obj, const std::string& key, const std::string& where, const std::string& origin) {
  return as_number(json_field(obj, key, where, origin), where + "." + key, origin);
}

double json_number_or(const Json& obj, const std::string& key, double dflt, const std::string& where,
                      const std::string& origin) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return dflt;
  return as_number(*it, where + "." + key, origin);
}

bool json_bool_or(const Json& obj, const std::string& key, bool dflt, const std::string& where,
                  const std::string& origin) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return dflt;
  if (!it->is_boolean())
    throw Error(where + "." + key, cat("expected true or false, got ", json_type_name(*it), " (", origin, ")"));
  return it->get<bool>();
}

std::string json_string(const Json& obj, const std::string& key, const std::string& where, const std::string& origin) {
  const Json& v = json_field(obj, key, where, origin);
  if (!v.is_string()) throw Error(where + "." + key, cat("expected a string, got ", json_type_name(v), " (", origin, ")"));
  return v.get<std::string>();
}

std::string json_string_or(const Json& obj, const std::string& key, const std::string& dflt, const std::string& where,
                           const std::string& origin) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return dflt;
  if (!it->is_string())
    throw Error(where + "." + key, cat("expected a string, got ", json_type_name(*it), " (", origin, ")"));
  return it->get<std::string>();
}

}  // namespace tandem
