// Config structs and the one mechanism that fills them: each struct lists its fields once in
// `for_each_field(v)` (name, member, help), as gemma.cpp's ArgsBase does; that list drives YAML
// loading, `key=value` overrides, printing and saving. Unknown keys are errors that suggest the
// nearest known key; values that do not parse name the key and where the value came from.
// Supported member types: bool, int64_t, int, double, float, std::string, std::vector<std::string>,
// and Json (a free-form subtree, e.g. a list of datasets, handed on as JSON).
#pragma once
#include <yaml-cpp/yaml.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/json.h"

namespace tandem::train {

// One settable, printable field, reached by its dotted key.
struct FieldRef {
  std::string help;
  std::function<void(const Json& value, const std::string& key, const std::string& origin)> set;
  std::function<Json()> get;
};

using FieldMap = std::map<std::string, FieldRef>;  // ordered: printing is stable

namespace detail {
void set_scalar(bool& f, const Json& v, const std::string& key, const std::string& origin);
void set_scalar(int64_t& f, const Json& v, const std::string& key, const std::string& origin);
void set_scalar(int& f, const Json& v, const std::string& key, const std::string& origin);
void set_scalar(double& f, const Json& v, const std::string& key, const std::string& origin);
void set_scalar(float& f, const Json& v, const std::string& key, const std::string& origin);
void set_scalar(std::string& f, const Json& v, const std::string& key, const std::string& origin);
void set_scalar(std::vector<std::string>& f, const Json& v, const std::string& key, const std::string& origin);
void set_scalar(Json& f, const Json& v, const std::string& key, const std::string& origin);

class Collector {
 public:
  Collector(FieldMap& out, std::string prefix) : out_(out), prefix_(std::move(prefix)) {}
  template <class T>
  void operator()(const char* name, T& field, const char* help) {
    T* p = &field;
    out_[prefix_ + name] = FieldRef{
        help, [p](const Json& v, const std::string& key, const std::string& origin) { set_scalar(*p, v, key, origin); },
        [p]() { return Json(*p); }};
  }
  template <class S>
  void section(const char* name, S& sub) {
    Collector c(out_, prefix_ + name + ".");
    sub.for_each_field(c);
  }

 private:
  FieldMap& out_;
  std::string prefix_;
};
}  // namespace detail

template <class Cfg>
FieldMap fields_of(Cfg& cfg) {
  FieldMap m;
  detail::Collector c(m, "");
  cfg.for_each_field(c);
  return m;
}

// YAML -> JSON with the node's line for messages; scalars are typed as YAML 1.2 core says
// (true/false, integers, floats, null), everything else stays a string.
Json yaml_to_json(const YAML::Node& node);

// Applies every key of a YAML mapping (nested mappings become dotted keys, except where the
// field itself is a Json subtree). origin names the file.
void apply_yaml(FieldMap& fields, const YAML::Node& root, const std::string& origin);
void apply_yaml_file(FieldMap& fields, const std::string& path);
// "a.b=value": the value is parsed as YAML (so 1e-4, true, [a, b] work); origin e.g. "argv[3]".
void apply_override(FieldMap& fields, const std::string& assignment, const std::string& origin);
// The resolved config as a nested JSON object, and as YAML text for config.yaml.
Json fields_to_json(const FieldMap& fields);
std::string fields_to_yaml(const FieldMap& fields);
// The known key nearest to key (edit distance), for "did you mean" hints; empty for a key far
// longer than any known one (no typo of one, and the distance would cost its length times theirs).
std::string nearest_key(const FieldMap& fields, const std::string& key);

struct ResolvedConfig {
  Json json;         // what checkpoints record
  std::string yaml;  // what config.yaml holds and the run prints
};

// What `tandem <command> --config path key=value ...` does before it runs: the file's keys (none when
// path is empty), then each override in order, then cfg.validate(); returns the resolved config.
template <class Cfg>
ResolvedConfig load_run_config(Cfg& cfg, const std::string& path, const std::vector<std::string>& overrides = {}) {
  FieldMap fields = fields_of(cfg);
  if (!path.empty()) apply_yaml_file(fields, path);
  for (size_t i = 0; i < overrides.size(); ++i) apply_override(fields, overrides[i], "override " + std::to_string(i + 1));
  cfg.validate();
  return {fields_to_json(fields), fields_to_yaml(fields)};
}

}  // namespace tandem::train
