#include "data/source.h"

#include <cmath>

namespace tandem::data {

namespace {

std::string get_string(const Json& e, const char* key, const std::string& dflt, const std::string& where) {
  if (!e.contains(key) || e[key].is_null()) return dflt;
  if (!e[key].is_string()) throw Error(cat(where, ".", key), cat("expected a string, got ", json_type_name(e[key])));
  return e[key].get<std::string>();
}

std::map<std::string, std::string> get_map(const Json& e, const char* key, const std::string& where) {
  std::map<std::string, std::string> m;
  if (!e.contains(key) || e[key].is_null()) return m;
  if (!e[key].is_object())
    throw Error(cat(where, ".", key), cat("expected a mapping of names to column names, got ", json_type_name(e[key])));
  for (auto it = e[key].begin(); it != e[key].end(); ++it) {
    if (!it.value().is_string())
      throw Error(cat(where, ".", key, ".", it.key()), cat("expected a column name, got ", json_type_name(it.value())));
    m[it.key()] = it.value().get<std::string>();
  }
  return m;
}

// Moves line[from] to out[to] when present.
void take(OrderedJson& line, const std::string& from, OrderedJson& out, const std::string& to) {
  auto it = line.find(from);
  if (it == line.end()) return;
  out[to] = std::move(*it);
  line.erase(it);
}

std::string col(const SourceSpec& s, const std::string& name) {
  auto it = s.columns.find(name);
  return it == s.columns.end() ? name : it->second;
}

std::string tag(const SourceSpec& s, const std::string& name, const std::string& dflt) {
  auto it = s.tags.find(name);
  return it == s.tags.end() ? dflt : it->second;
}

OrderedJson message(const std::string& role, OrderedJson content) {
  OrderedJson m = OrderedJson::object();
  m["role"] = role;
  m["content"] = std::move(content);
  return m;
}

const OrderedJson& need_string(const OrderedJson& v, const std::string& field, const Origin& o) {
  if (!v.is_string()) throw BadLine(o, field, "a string", describe(v));
  return v;
}

// LLaMA-Factory's alpaca: [system] + history pairs + user(instruction "\n" input) as the prompt,
// output as the completion (or chosen / rejected, or a kto_tag label).
OrderedJson from_alpaca(OrderedJson line, const SourceSpec& s, const Origin& o) {
  OrderedJson out = OrderedJson::object();
  OrderedJson f = OrderedJson::object();
  for (const char* k : {"instruction", "input", "output", "system", "history", "chosen", "rejected", "kto_tag"})
    take(line, col(s, k), f, k);
  if (!f.contains("instruction")) throw BadLine(o, col(s, "instruction"), "the alpaca instruction column", "nothing");
  OrderedJson prompt = OrderedJson::array();
  if (f.contains("system") && !f["system"].is_null() && !(f["system"].is_string() && f["system"].get<std::string>().empty()))
    prompt.push_back(message("system", need_string(f["system"], col(s, "system"), o)));
  if (f.contains("history") && !f["history"].is_null()) {
    const OrderedJson& h = f["history"];
    if (!h.is_array()) throw BadLine(o, col(s, "history"), "a list of [query, response] pairs", describe(h));
    for (size_t i = 0; i < h.size(); ++i) {
      if (!h[i].is_array() || h[i].size() != 2 || !h[i][0].is_string() || !h[i][1].is_string())
        throw BadLine(o, cat(col(s, "history"), "[", i, "]"), "a [query, response] pair of strings", describe(h[i]));
      prompt.push_back(message("user", h[i][0]));
      prompt.push_back(message("assistant", h[i][1]));
    }
  }
  std::string query = need_string(f["instruction"], col(s, "instruction"), o).get<std::string>();
  if (f.contains("input") && !f["input"].is_null()) {
    const std::string in = need_string(f["input"], col(s, "input"), o).get<std::string>();
    if (!in.empty()) query += "\n" + in;
  }
  prompt.push_back(message("user", query));
  out["prompt"] = std::move(prompt);
  for (const char* k : {"output", "chosen", "rejected"})
    if (f.contains(k)) out[k == std::string("output") ? "completion" : k] = OrderedJson::array({message("assistant", need_string(f[k], col(s, k), o))});
  if (f.contains("kto_tag")) out["label"] = f["kto_tag"];
  for (auto it = line.begin(); it != line.end(); ++it) out[it.key()] = it.value();
  return out;
}

// LLaMA-Factory's sharegpt: a list of {from, value} with its own role names.
OrderedJson sharegpt_message(const OrderedJson& m, const std::string& field, const SourceSpec& s, const Origin& o) {
  const std::string role_tag = tag(s, "role_tag", "from"), content_tag = tag(s, "content_tag", "value");
  if (!m.is_object()) throw BadLine(o, field, cat("a message {", role_tag, ", ", content_tag, "}"), describe(m));
  if (!m.contains(role_tag)) throw BadLine(o, field + "." + role_tag, "a role", "nothing");
  if (!m[role_tag].is_string()) throw BadLine(o, field + "." + role_tag, "a string", describe(m[role_tag]));
  const std::string from = m[role_tag].get<std::string>();
  const std::pair<std::string, const char*> roles[] = {
      {tag(s, "user_tag", "human"), "user"},           {tag(s, "assistant_tag", "gpt"), "assistant"},
      {tag(s, "system_tag", "system"), "system"},      {tag(s, "observation_tag", "observation"), "tool"},
      {tag(s, "function_tag", "function_call"), "assistant"}};
  for (const auto& [name, role] : roles)
    if (from == name) {
      if (!m.contains(content_tag)) throw BadLine(o, field + "." + content_tag, "the message text", "nothing");
      return message(role, m[content_tag]);
    }
  std::string known;
  for (const auto& [name, role] : roles) known += (known.empty() ? "" : ", ") + name;
  throw BadLine(o, field + "." + role_tag, "one of " + known, describe(m[role_tag]));
}

OrderedJson from_sharegpt(OrderedJson line, const SourceSpec& s, const Origin& o) {
  OrderedJson out = OrderedJson::object();
  OrderedJson f = OrderedJson::object();
  for (const char* k : {"messages", "system", "tools", "chosen", "rejected", "kto_tag"})
    take(line, col(s, k), f, k);
  const std::string conv = s.columns.count("messages") ? s.columns.at("messages") : "conversations";
  if (!s.columns.count("messages")) take(line, "conversations", f, "messages");
  if (!f.contains("messages")) throw BadLine(o, conv, "a list of messages", "nothing");
  if (!f["messages"].is_array()) throw BadLine(o, conv, "a list of messages", describe(f["messages"]));
  OrderedJson msgs = OrderedJson::array();
  if (f.contains("system") && f["system"].is_string() && !f["system"].get<std::string>().empty())
    msgs.push_back(message("system", f["system"]));
  for (size_t i = 0; i < f["messages"].size(); ++i)
    msgs.push_back(sharegpt_message(f["messages"][i], cat(conv, "[", i, "]"), s, o));
  if (f.contains("tools") && !f["tools"].is_null()) {
    OrderedJson t = f["tools"];
    if (t.is_string() && !t.get<std::string>().empty()) {
      if (json_too_deep_at(t.get_ref<const std::string&>()) != std::string_view::npos)
        throw BadLine(o, col(s, "tools"), cat("a JSON list of tool schemas nested at most ", kMaxJsonDepth, " levels deep"),
                      "deeper nesting");
      try {
        t = OrderedJson::parse(t.get<std::string>());
      } catch (const OrderedJson::parse_error&) {
        throw BadLine(o, col(s, "tools"), "a JSON list of tool schemas", describe(f["tools"]));
      }
    }
    if (!(t.is_string() && t.get<std::string>().empty())) out["tools"] = std::move(t);
  }
  if (f.contains("chosen") || f.contains("rejected")) {
    out["prompt"] = std::move(msgs);
    for (const char* k : {"chosen", "rejected"})
      if (f.contains(k)) out[k] = OrderedJson::array({sharegpt_message(f[k], col(s, k), s, o)});
  } else {
    out["messages"] = std::move(msgs);
  }
  if (f.contains("kto_tag")) out["label"] = f["kto_tag"];
  for (auto it = line.begin(); it != line.end(); ++it) out[it.key()] = it.value();
  return out;
}

}  // namespace

std::vector<SourceSpec> SourceSpec::from_config(const DataConfig& cfg) {
  std::vector<SourceSpec> out;
  if (!cfg.train_file.empty()) {
    SourceSpec s;
    s.path = cfg.train_file;
    s.where = "train_file";
    out.push_back(s);
  }
  if (!cfg.eval_file.empty()) {
    SourceSpec s;
    s.path = cfg.eval_file;
    s.split = "eval";
    s.where = "eval_file";
    out.push_back(s);
  }
  if (cfg.datasets.is_null()) return out;
  if (!cfg.datasets.is_array()) throw Error("datasets", cat("expected a list of {path, weight, ...}, got ", json_type_name(cfg.datasets)));
  for (size_t i = 0; i < cfg.datasets.size(); ++i) {
    const Json& e = cfg.datasets[i];
    const std::string where = cat("datasets[", i, "]");
    SourceSpec s;
    s.where = where;
    if (e.is_string()) {
      s.path = e.get<std::string>();
      out.push_back(s);
      continue;
    }
    if (!e.is_object()) throw Error(where, cat("expected {path, weight, split, columns, format}, got ", json_type_name(e)));
    for (auto it = e.begin(); it != e.end(); ++it) {
      static const char* known[] = {"path", "weight", "split", "format", "columns", "tags"};
      bool ok = false;
      for (const char* k : known) ok = ok || it.key() == k;
      if (!ok) throw Error(cat(where, ".", it.key()), "unknown key, expected one of path, weight, split, format, columns, tags");
    }
    s.path = get_string(e, "path", "", where);
    if (s.path.empty()) throw Error(where + ".path", "required");
    if (e.contains("weight")) {
      if (!e["weight"].is_number()) throw Error(where + ".weight", cat("expected a number, got ", json_type_name(e["weight"])));
      s.weight = e["weight"].get<double>();
      if (!(s.weight > 0) || !std::isfinite(s.weight)) throw Error(where + ".weight", cat("must be > 0, got ", s.weight));
    }
    s.split = get_string(e, "split", "train", where);
    if (s.split != "train" && s.split != "eval")
      throw Error(where + ".split", cat("expected train or eval, got '", s.split, "'"));
    s.format = get_string(e, "format", "", where);
    if (!s.format.empty() && s.format != "alpaca" && s.format != "sharegpt")
      throw Error(where + ".format", cat("expected alpaca or sharegpt (or no format for the shapes of docs/data.md), got '", s.format, "'"));
    s.columns = get_map(e, "columns", where);
    s.tags = get_map(e, "tags", where);
    if (!s.tags.empty() && s.format != "sharegpt") throw Error(where + ".tags", "only meaningful with format: sharegpt");
    out.push_back(s);
  }
  return out;
}

OrderedJson parse_line(const std::string& text, const Origin& origin) {
  if (const size_t at = json_too_deep_at(text); at != std::string_view::npos)
    throw BadLine(origin, "JSON", cat("a JSON object nested at most ", kMaxJsonDepth, " levels deep"),
                  "deeper nesting", int64_t(at) + 1);
  OrderedJson j;
  try {
    j = OrderedJson::parse(text);
  } catch (const OrderedJson::parse_error& e) {
    std::string what = e.what();
    const size_t p = what.find("while parsing");
    what = p == std::string::npos ? what : what.substr(p + 14);
    throw BadLine(origin, "JSON", "a JSON object", "invalid JSON (" + what + ")", int64_t(e.byte));
  }
  if (!j.is_object()) throw BadLine(origin, "", "a JSON object", describe(j), 1);
  return j;
}

OrderedJson to_canonical(OrderedJson line, const SourceSpec& src, const Origin& origin) {
  if (src.format == "alpaca") return from_alpaca(std::move(line), src, origin);
  if (src.format == "sharegpt") return from_sharegpt(std::move(line), src, origin);
  if (src.columns.empty()) return line;
  OrderedJson out = OrderedJson::object();
  for (const auto& [ours, theirs] : src.columns) {
    if (!line.contains(theirs)) continue;
    out[ours] = line[theirs];
  }
  for (auto it = line.begin(); it != line.end(); ++it) {
    bool renamed = false;
    for (const auto& [ours, theirs] : src.columns) renamed = renamed || theirs == it.key();
    if (!renamed && !out.contains(it.key())) out[it.key()] = it.value();
  }
  return out;
}

}  // namespace tandem::data
