// Loading a model folder's chat template and rendering conversations with it; the prefix
// method for assistant spans (see chat_template.h for the rule and its precondition).
#include "tokenizer/chat_template.h"

#include "core/error.h"
#include "core/file.h"
#include "core/json.h"

namespace tandem::tokenizer {

namespace {

OrderedJson read_config(const std::string& dir, std::string* path) {
  *path = join_path(dir, "tokenizer_config.json");
  if (!file_exists(*path)) return OrderedJson();
  const std::string text = read_file(*path);
  if (const size_t at = json_too_deep_at(text); at != std::string_view::npos)
    throw Error("tokenizer.config", cat("JSON nests deeper than ", kMaxJsonDepth, " levels at byte ", at, " (", *path, ")"));
  try {
    return OrderedJson::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error("tokenizer.config", cat("not valid JSON: ", e.what(), " (", *path, ")"));
  }
}

std::optional<std::string> token_string(const OrderedJson& cfg, const char* key, const std::string& path) {
  if (!cfg.is_object() || !cfg.contains(key) || cfg[key].is_null()) return std::nullopt;
  const OrderedJson& t = cfg[key];
  if (t.is_string()) return t.get<std::string>();
  if (t.is_object() && t.contains("content") && t["content"].is_string()) return t["content"].get<std::string>();
  throw Error(cat("tokenizer.config.", key),
              cat("expected a string or {\"content\": string}, got ", t.type_name(), " (", path, ")"));
}

}  // namespace

SpecialTokens read_special_tokens(const std::string& dir) {
  std::string path;
  const OrderedJson cfg = read_config(dir, &path);
  SpecialTokens t;
  t.bos = token_string(cfg, "bos_token", path);
  t.eos = token_string(cfg, "eos_token", path);
  t.unk = token_string(cfg, "unk_token", path);
  t.pad = token_string(cfg, "pad_token", path);
  return t;
}

ChatTemplate::ChatTemplate(std::string source, std::string origin, SpecialTokens tokens)
    : source_(std::move(source)), origin_(std::move(origin)), tokens_(std::move(tokens)) {
  tmpl_ = std::make_shared<jinja::Template>(source_, origin_);
}

ChatTemplate ChatTemplate::from_source(const std::string& source, const std::string& origin, SpecialTokens tokens) {
  return ChatTemplate(source, origin, std::move(tokens));
}

ChatTemplate ChatTemplate::from_dir(const std::string& dir, const std::string& name, bool has_tools) {
  if (!is_directory(dir)) throw Error("tokenizer.chat_template", cat("not a directory: ", dir));
  SpecialTokens tokens = read_special_tokens(dir);
  const std::string jinja_path = join_path(dir, "chat_template.jinja");
  if (name.empty() && file_exists(jinja_path)) return ChatTemplate(read_file(jinja_path), jinja_path, tokens);
  std::string path;
  const OrderedJson cfg = read_config(dir, &path);
  if (!cfg.is_object() || !cfg.contains("chat_template") || cfg["chat_template"].is_null())
    throw Error("tokenizer.chat_template",
                cat("the model folder has no chat template, expected tokenizer_config.json \"chat_template\" or "
                    "chat_template.jinja in ",
                    dir, "; pass one with --template"));
  const OrderedJson& ct = cfg["chat_template"];
  const std::string origin = path + " chat_template";
  if (ct.is_string()) {
    if (!name.empty() && name != "default")
      throw Error("tokenizer.chat_template", cat("no template named '", name, "': the folder has one unnamed template (",
                                                 path, ")"));
    return ChatTemplate(ct.get<std::string>(), origin, tokens);
  }
  if (!ct.is_array())
    throw Error("tokenizer.config.chat_template",
                cat("expected a string or a list of {name, template}, got ", ct.type_name(), " (", path, ")"));
  std::vector<std::pair<std::string, std::string>> named;
  for (const auto& e : ct) {
    if (!e.is_object() || !e.contains("name") || !e.contains("template") || !e["name"].is_string() ||
        !e["template"].is_string())
      throw Error("tokenizer.config.chat_template",
                  cat("expected each entry to be {\"name\": string, \"template\": string} (", path, ")"));
    named.emplace_back(e["name"].get<std::string>(), e["template"].get<std::string>());
  }
  std::string want = name;
  if (want.empty()) {
    want = "default";
    for (const auto& [n, t] : named)
      if (has_tools && n == "tool_use") want = "tool_use";
  }
  std::string known;
  for (const auto& [n, t] : named) {
    if (n == want) return ChatTemplate(t, cat(path, " chat_template '", n, "'"), tokens);
    known += (known.empty() ? "" : ", ") + n;
  }
  throw Error("tokenizer.chat_template", cat("no template named '", want, "', known: ", known, " (", path, ")"));
}

ChatRendered ChatTemplate::render(const ChatInput& in, const jinja::RenderLimits& limits) const {
  using jinja::Value;
  if (!in.messages.is_array())
    throw Error("tokenizer.chat_template.messages", cat("expected a list of messages, got ", in.messages.type_name()));
  std::vector<std::pair<std::string, Value>> vars;
  vars.emplace_back("messages", jinja::from_json(in.messages));
  vars.emplace_back("tools", in.tools.is_null() ? Value::none() : jinja::from_json(in.tools));
  vars.emplace_back("documents", Value::none());
  vars.emplace_back("add_generation_prompt", Value(in.add_generation_prompt));
  auto tok = [&](const char* k, const std::optional<std::string>& v) {
    if (v) vars.emplace_back(k, Value(*v));
  };
  tok("bos_token", tokens_.bos);
  tok("eos_token", tokens_.eos);
  tok("unk_token", tokens_.unk);
  tok("pad_token", tokens_.pad);
  for (const auto& [k, v] : in.extra) vars.emplace_back(k, jinja::from_json(v));
  jinja::Rendered r = tmpl_->render(vars, limits);
  return {std::move(r.text), std::move(r.generation)};
}

std::vector<Span> ChatTemplate::assistant_spans(const ChatInput& in) const {
  const ChatRendered full = render(in);
  if (!full.generation.empty()) return full.generation;
  std::vector<Span> spans;
  auto starts_with = [](const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; };
  for (size_t i = 0; i < in.messages.size(); ++i) {
    const OrderedJson& m = in.messages[i];
    if (!m.is_object() || m.value("role", "") != "assistant") continue;
    ChatInput before = in, upto = in;
    before.messages = OrderedJson::array();
    upto.messages = OrderedJson::array();
    for (size_t k = 0; k <= i; ++k) {
      if (k < i) before.messages.push_back(in.messages[k]);
      upto.messages.push_back(in.messages[k]);
    }
    before.add_generation_prompt = true;
    upto.add_generation_prompt = false;
    const std::string p = render(before).text;
    const std::string f = render(upto).text;
    if (!starts_with(f, p) || !starts_with(full.text, f))
      throw Error("tokenizer.chat_template.assistant_spans",
                  cat("the template is not prefix-stable at message ", i,
                      ": rendering the conversation up to it is not a prefix of the whole rendering, so its "
                      "assistant span cannot be found by prefixes; add {% generation %} blocks to the template (",
                      origin_, ")"));
    spans.push_back({p.size(), f.size()});
  }
  return spans;
}

}  // namespace tandem::tokenizer
