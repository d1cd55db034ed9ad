// `tandem chat-template`: renders a conversation with a model folder's chat template (or a
// template file) and prints the text exactly, with no newline added, so that it can be diffed
// against transformers' apply_chat_template(tokenize=False).
// Not here: tokenizing the result (`tandem tokenize`).
#include <cstdio>
#include <memory>

#include "cli/command.h"
#include "core/error.h"
#include "core/file.h"
#include "core/json.h"
#include "tokenizer/chat_template.h"

namespace tandem::cli {
namespace {

struct Opts {
  std::string dir, messages, tools, template_file, template_name;
  bool add_generation_prompt = false;
  std::vector<std::string> vars;
};

tokenizer::OrderedJson read_ordered_json(const std::string& path, const std::string& where) {
  const std::string text = read_file(path);
  if (const size_t at = json_too_deep_at(text); at != std::string_view::npos)
    throw Error(where, cat("JSON nests deeper than ", kMaxJsonDepth, " levels at byte ", at, " (", path, ")"));
  try {
    return tokenizer::OrderedJson::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(where, cat("not valid JSON: ", e.what(), " (", path, ")"));
  }
}

int run(const Opts& o) {
  using tokenizer::OrderedJson;
  if (o.dir.empty() && o.template_file.empty())
    throw Error("cli.chat-template", "expected --tokenizer DIR or --template FILE, got neither");
  tokenizer::ChatInput in;
  const OrderedJson conv = read_ordered_json(o.messages, "cli.chat-template.messages");
  if (conv.is_array()) {
    in.messages = conv;
  } else if (conv.is_object() && conv.contains("messages")) {
    in.messages = conv["messages"];
    if (conv.contains("tools")) in.tools = conv["tools"];
  } else {
    throw Error("cli.chat-template.messages",
                cat("expected a list of messages or {\"messages\": [...]}, got ", conv.type_name(), " (", o.messages, ")"));
  }
  if (!in.messages.is_array())
    throw Error("cli.chat-template.messages", cat("expected \"messages\" to be a list (", o.messages, ")"));
  if (!o.tools.empty()) in.tools = read_ordered_json(o.tools, "cli.chat-template.tools");
  in.add_generation_prompt = o.add_generation_prompt;
  for (const std::string& kv : o.vars) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      throw Error("cli.chat-template.var", cat("expected key=value, got '", kv, "'"));
    const std::string value = kv.substr(eq + 1);
    OrderedJson v = OrderedJson::parse(value, nullptr, /*allow_exceptions=*/false);
    if (v.is_discarded()) v = value;  // not JSON: the string itself
    in.extra.emplace_back(kv.substr(0, eq), std::move(v));
  }
  const bool has_tools = !in.tools.is_null();
  tokenizer::ChatTemplate ct =
      o.template_file.empty()
          ? tokenizer::ChatTemplate::from_dir(o.dir, o.template_name, has_tools)
          : tokenizer::ChatTemplate::from_source(read_file(o.template_file), o.template_file,
                                                 o.dir.empty() ? tokenizer::SpecialTokens{}
                                                               : tokenizer::read_special_tokens(o.dir));
  const tokenizer::ChatRendered r = ct.render(in);
  if (!r.text.empty() && std::fwrite(r.text.data(), 1, r.text.size(), stdout) != r.text.size())
    throw Error("cli.chat-template", "could not write the rendering to standard output");
  std::fflush(stdout);
  return 0;
}

Registrar reg({"chat-template", "render a conversation with a model's chat template (as transformers does)",
               [](CLI::App& sub) {
                 auto opts = std::make_shared<Opts>();
                 sub.add_option("--tokenizer", opts->dir, "model folder (tokenizer_config.json, chat_template.jinja)");
                 sub.add_option("--messages", opts->messages, "conversation JSON: a list of messages or {messages, tools}")
                     ->required();
                 sub.add_flag("--add-generation-prompt", opts->add_generation_prompt,
                              "end with the prompt for the assistant's next turn");
                 sub.add_option("--tools", opts->tools, "tool definitions JSON (a list)");
                 sub.add_option("--var", opts->vars, "extra template variable key=value (value parsed as JSON if it parses)");
                 sub.add_option("--template", opts->template_file, "render this template file instead of DIR's");
                 sub.add_option("--template-name", opts->template_name, "pick a named template of tokenizer_config.json");
                 return std::function<int()>([opts] { return run(*opts); });
               }});

}  // namespace
}  // namespace tandem::cli
