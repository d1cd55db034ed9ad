#include "train/config_fields.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace tandem::train {

namespace detail {

namespace {
[[noreturn]] void type_error(const std::string& key, const char* want, const Json& v, const std::string& origin) {
  throw Error(key, cat("expected ", want, ", got ", json_type_name(v), " ", v.dump(), " (", origin, ")"));
}
}  // namespace

void set_scalar(bool& f, const Json& v, const std::string& key, const std::string& origin) {
  if (!v.is_boolean()) type_error(key, "true or false", v, origin);
  f = v.get<bool>();
}
void set_scalar(int64_t& f, const Json& v, const std::string& key, const std::string& origin) {
  if (v.is_number_integer()) f = v.get<int64_t>();
  else if (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>() && std::abs(v.get<double>()) < 9e15)
    f = int64_t(v.get<double>());
  else type_error(key, "an integer", v, origin);
}
void set_scalar(int& f, const Json& v, const std::string& key, const std::string& origin) {
  int64_t x = 0;
  set_scalar(x, v, key, origin);
  if (x < std::numeric_limits<int>::min() || x > std::numeric_limits<int>::max()) type_error(key, "a 32-bit integer", v, origin);
  f = int(x);
}
void set_scalar(double& f, const Json& v, const std::string& key, const std::string& origin) {
  if (!v.is_number()) type_error(key, "a number", v, origin);
  f = v.get<double>();
}
void set_scalar(float& f, const Json& v, const std::string& key, const std::string& origin) {
  double d = 0;
  set_scalar(d, v, key, origin);
  f = float(d);
}
void set_scalar(std::string& f, const Json& v, const std::string& key, const std::string& origin) {
  if (v.is_string()) f = v.get<std::string>();
  else if (v.is_null()) f.clear();
  else if (v.is_number() || v.is_boolean()) f = v.dump();  // e.g. a run name that looks like a number
  else type_error(key, "a string", v, origin);
}
void set_scalar(std::vector<std::string>& f, const Json& v, const std::string& key, const std::string& origin) {
  if (v.is_string()) {  // "q_proj,v_proj" as a CLI user would write it
    f.clear();
    std::string s = v.get<std::string>(), item;
    for (char c : s + ",")
      if (c == ',') {
        if (!item.empty()) f.push_back(item);
        item.clear();
      } else if (c != ' ') {
        item += c;
      }
    return;
  }
  if (!v.is_array()) type_error(key, "a list of strings", v, origin);
  f.clear();
  for (const auto& e : v) {
    if (!e.is_string()) type_error(key, "a list of strings", v, origin);
    f.push_back(e.get<std::string>());
  }
}
void set_scalar(Json& f, const Json& v, const std::string&, const std::string&) { f = v; }

}  // namespace detail

Json yaml_to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: return nullptr;
    case YAML::NodeType::Sequence: {
      Json a = Json::array();
      for (const auto& e : node) a.push_back(yaml_to_json(e));
      return a;
    }
    case YAML::NodeType::Map: {
      Json o = Json::object();
      for (const auto& kv : node) o[kv.first.as<std::string>()] = yaml_to_json(kv.second);
      return o;
    }
    case YAML::NodeType::Scalar: {
      const std::string s = node.Scalar();
      if (node.Tag() == "!" ) return s;  // quoted: always a string
      if (s == "true" || s == "True" || s == "TRUE") return true;
      if (s == "false" || s == "False" || s == "FALSE") return false;
      if (s == "null" || s == "~" || s.empty()) return nullptr;
      try {
        size_t pos = 0;
        const long long i = std::stoll(s, &pos);
        if (pos == s.size()) return int64_t(i);
      } catch (...) {
      }
      try {
        size_t pos = 0;
        const double d = std::stod(s, &pos);
        if (pos == s.size()) return d;
      } catch (...) {
      }
      return s;
    }
  }
  return nullptr;
}

std::string nearest_key(const FieldMap& fields, const std::string& key) {
  // The edit distance, or `bound` as soon as it cannot be below it (a row's minimum never falls
  // from one row to the next).
  auto dist = [](const std::string& a, const std::string& b, size_t bound) {
    std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
      cur[0] = i;
      size_t row_min = i;
      for (size_t j = 1; j <= b.size(); ++j) {
        cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
        row_min = std::min(row_min, cur[j]);
      }
      if (row_min >= bound) return bound;
      std::swap(prev, cur);
    }
    return std::min(prev[b.size()], bound);
  };
  // Only a plausible typo gets a hint: "did you mean 'lr'?" for a key that shares nothing with
  // it misleads. The bound also lets the distance stop after a few rows for most keys, and rules
  // out at once (by the length gap) every known key next to a hostile megabyte-long one.
  const size_t limit = std::max<size_t>(2, key.size() / 3);
  std::string best;
  size_t best_d = limit + 1;
  // Each edit changes at most one character of either string, so the distance is at least the
  // number of characters one string has that the other lacks (counted by the low 5 bits, which
  // only lowers that count): most keys are ruled out by this before any distance is computed.
  std::array<size_t, 32> key_chars{};
  for (const char c : key) ++key_chars[size_t(c) & 31];
  for (const auto& [k, f] : fields) {
    const size_t gap = k.size() > key.size() ? k.size() - key.size() : key.size() - k.size();
    if (gap >= best_d) continue;
    std::array<size_t, 32> left = key_chars;
    size_t only_in_k = 0;
    for (const char c : k) {
      size_t& n = left[size_t(c) & 31];
      n > 0 ? void(--n) : void(++only_in_k);
    }
    const size_t only_in_key = key.size() - (k.size() - only_in_k);
    if (std::max(only_in_k, only_in_key) >= best_d) continue;
    const size_t d = dist(key, k, best_d);
    if (d < best_d) best_d = d, best = k;
  }
  return best;
}

namespace {

[[noreturn]] void unknown_key(const FieldMap& fields, const std::string& key, const std::string& origin) {
  const std::string near = nearest_key(fields, key);
  // The key as written, cut short: a hostile file's key may be megabytes long.
  const std::string shown = key.size() > 120 ? cat(key.substr(0, 100), "... (", key.size(), " bytes)") : key;
  throw Error("config", cat("unknown key '", shown, "' (", origin, ")", near.empty() ? "" : cat("; did you mean '", near, "'?")));
}

bool is_json_field(const FieldRef& f) {
  // A Json field reports its own type through get(); scalars never hold objects.
  const Json v = f.get();
  return v.is_object() || v.is_null();
}

void apply_node(FieldMap& fields, const YAML::Node& node, const std::string& prefix, const std::string& origin) {
  for (const auto& kv : node) {
    const std::string key = prefix + kv.first.as<std::string>();
    const std::string where = cat(origin, ":", kv.first.Mark().line + 1);
    auto it = fields.find(key);
    if (it != fields.end() && (!kv.second.IsMap() || is_json_field(it->second))) {
      it->second.set(yaml_to_json(kv.second), key, where);
      continue;
    }
    if (kv.second.IsMap()) {
      bool any = false;
      for (const auto& [k, f] : fields)
        if (k.rfind(key + ".", 0) == 0) any = true;
      if (!any) unknown_key(fields, key, where);
      apply_node(fields, kv.second, key + ".", origin);
      continue;
    }
    unknown_key(fields, key, where);
  }
}

void insert_dotted(Json& root, const std::string& key, const Json& v) {
  Json* cur = &root;
  size_t start = 0;
  for (size_t dot; (dot = key.find('.', start)) != std::string::npos; start = dot + 1) cur = &(*cur)[key.substr(start, dot - start)];
  (*cur)[key.substr(start)] = v;
}

}  // namespace

void apply_yaml(FieldMap& fields, const YAML::Node& root, const std::string& origin) {
  if (!root || root.IsNull()) return;
  if (!root.IsMap()) throw Error("config", cat("expected a mapping of key: value at the top of ", origin));
  apply_node(fields, root, "", origin);
}

void apply_yaml_file(FieldMap& fields, const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw Error("config", cat("cannot read config file '", path, "'"));
  } catch (const YAML::ParserException& e) {
    throw Error("config", cat("invalid YAML in ", path, ":", e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg));
  }
  apply_yaml(fields, root, path);
}

void apply_override(FieldMap& fields, const std::string& assignment, const std::string& origin) {
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw Error("config", cat("expected key=value, got '", assignment, "' (", origin, ")"));
  const std::string key = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  auto it = fields.find(key);
  if (it == fields.end()) unknown_key(fields, key, origin);
  Json v;
  try {
    v = yaml_to_json(YAML::Load(text));
  } catch (const YAML::Exception& e) {
    throw Error(key, cat("cannot parse '", text, "': ", e.msg, " (", origin, ")"));
  }
  it->second.set(v, key, origin);
}

Json fields_to_json(const FieldMap& fields) {
  Json root = Json::object();
  for (const auto& [k, f] : fields) insert_dotted(root, k, f.get());
  return root;
}

namespace {
void emit(YAML::Emitter& out, const Json& j) {
  if (j.is_object()) {
    out << YAML::BeginMap;
    for (auto it = j.begin(); it != j.end(); ++it) {
      out << YAML::Key << it.key() << YAML::Value;
      emit(out, *it);
    }
    out << YAML::EndMap;
  } else if (j.is_array()) {
    out << YAML::BeginSeq;
    for (const auto& e : j) emit(out, e);
    out << YAML::EndSeq;
  } else if (j.is_string()) {
    out << YAML::DoubleQuoted << j.get<std::string>();
  } else if (j.is_null()) {
    out << YAML::Null;
  } else {
    out << j.dump();
  }
}
}  // namespace

std::string fields_to_yaml(const FieldMap& fields) {
  YAML::Emitter out;
  emit(out, fields_to_json(fields));
  return std::string(out.c_str()) + "\n";
}

}  // namespace tandem::train
