// make_reward: the one entry point from a config entry to a reward function, plus the small
// spec helpers every kind uses (spec.h).
// Not here: the kinds themselves; each lives in its own file and exposes make_<kind>_reward.
#include <algorithm>
#include <cstring>

#include "reward/spec.h"

namespace tandem::reward {

namespace {

struct Kind {
  const char* type;
  RewardPtr (*make)(const Json&, const std::string&);
};

constexpr Kind kKinds[] = {
    {"math", make_math_reward},     {"format", make_format_reward}, {"exact", make_exact_reward},
    {"fuzzy", make_fuzzy_reward},   {"length", make_length_reward}, {"weighted", make_weighted_reward},
    {"program", make_program_reward}, {"code", make_code_reward},
};

std::string known_types() {
  std::string s;
  for (const Kind& k : kKinds) s += cat(s.empty() ? "" : ", ", k.type);
  return s;
}

}  // namespace

std::unique_ptr<RewardFunction> make_reward(const Json& spec_in, const std::string& where) {
  const Json spec = spec_in.is_string() ? Json{{"type", spec_in}} : spec_in;
  if (!spec.is_object())
    throw Error(where, cat("a reward is an object such as {\"type\": \"math\"} or a type name, got ",
                           json_type_name(spec), " ", clip_text(spec.dump(), 200)));
  auto it = spec.find("type");
  if (it == spec.end()) throw Error(where + ".type", cat("missing; one of ", known_types()));
  if (!it->is_string())
    throw Error(where + ".type", cat("expected a string (one of ", known_types(), "), got ", json_type_name(*it)));
  const std::string type = it->get<std::string>();
  for (const Kind& k : kKinds)
    if (type == k.type) return k.make(spec, where);
  throw Error(where + ".type", cat("unknown reward type '", type, "', expected one of ", known_types()));
}

void check_keys(const Json& spec, const std::string& where, std::initializer_list<const char*> allowed) {
  if (!spec.is_object()) throw Error(where, cat("expected an object, got ", json_type_name(spec)));
  for (auto it = spec.begin(); it != spec.end(); ++it) {
    const std::string& key = it.key();
    if (key == "type" || key == "name") continue;
    const bool ok = std::any_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; });
    if (ok) continue;
    std::string known = "type, name";
    for (const char* a : allowed) known += cat(", ", a);
    throw Error(where + "." + key, cat("unknown key for a '", spec.value("type", std::string("?")),
                                       "' reward, expected one of: ", known));
  }
}

std::string spec_name(const Json& spec, const std::string& where, const std::string& dflt) {
  const std::string name = json_string_or(spec, "name", dflt, where, "reward config");
  if (name.empty()) throw Error(where + ".name", "must not be empty");
  return name;
}

std::vector<std::string> column_strings(const RewardRequest& r, const std::string& column,
                                        const std::string& reward_where) {
  auto as_string = [&](const Json& v) -> std::string {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_number()) return v.dump();
    throw Error(reward_where, cat("column '", column, "' holds ", json_type_name(v), " ", clip_text(v.dump(), 200),
                                  ", expected a string, a number or an array of those"));
  };
  const Json* v = nullptr;
  if (r.columns.is_object()) {
    auto it = r.columns.find(column);
    if (it != r.columns.end() && !it->is_null()) v = &*it;
  }
  if (!v) {
    std::string have;
    if (r.columns.is_object())
      for (auto it = r.columns.begin(); it != r.columns.end(); ++it) have += cat(have.empty() ? "" : ", ", it.key());
    throw Error(reward_where, cat("the example has no column '", column, "' (its columns: ",
                                  have.empty() ? "none" : have, "). Hint: set the reward's \"column\" key"));
  }
  std::vector<std::string> out;
  if (v->is_array()) {
    for (const Json& e : *v) out.push_back(as_string(e));
  } else {
    out.push_back(as_string(*v));
  }
  return out;
}

std::string clip_text(const std::string& s, size_t limit) {
  if (s.size() <= limit) return s;
  return cat(s.substr(0, limit), "... [", s.size() - limit, " more bytes]");
}

std::string json_enum_or(const Json& spec, const std::string& key, const std::string& dflt,
                         std::initializer_list<const char*> values, const std::string& where) {
  const std::string v = json_string_or(spec, key, dflt, where, "reward config");
  for (const char* a : values)
    if (v == a) return v;
  std::string known;
  for (const char* a : values) known += cat(known.empty() ? "" : ", ", a);
  throw Error(where + "." + key, cat("expected one of ", known, ", got '", v, "'"));
}

}  // namespace tandem::reward
