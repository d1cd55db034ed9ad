// Chat templates of a model folder: which template (tokenizer_config.json `chat_template`, a
// string or a list of {name, template}, or chat_template.jinja), which special-token strings
// it sees, and rendering a conversation the way transformers' apply_chat_template does
// (variables messages, tools, documents, add_generation_prompt, bos_token, eos_token, unk_token,
// pad_token, plus extra keywords such as enable_thinking).
// Also where the assistant's bytes are in the rendered text, for loss masks: from
// {% generation %} blocks when the template has them, else by rendering prefixes of the
// conversation (assistant_spans).
// Not here: the Jinja language (tokenizer/jinja/), token ids (the tokenizer).
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/jinja/template.h"

namespace tandem::tokenizer {

using OrderedJson = nlohmann::ordered_json;
using jinja::Span;

// The special-token strings of tokenizer_config.json (each a string or {"content": ...}).
struct SpecialTokens {
  std::optional<std::string> bos, eos, unk, pad;
};
SpecialTokens read_special_tokens(const std::string& dir);

struct ChatInput {
  OrderedJson messages = OrderedJson::array();
  OrderedJson tools;  // null: the template sees tools = None, as transformers passes it
  bool add_generation_prompt = false;
  std::vector<std::pair<std::string, OrderedJson>> extra;  // e.g. {"enable_thinking", false}; override the rest
};

struct ChatRendered {
  std::string text;
  std::vector<Span> generation;  // from {% generation %} blocks only
};

class ChatTemplate {
 public:
  // name: which of several named templates ("" = transformers' choice: "tool_use" when tools
  // are given and it exists, else "default"). chat_template.jinja wins over tokenizer_config.json,
  // as in current transformers.
  static ChatTemplate from_dir(const std::string& dir, const std::string& name = "", bool has_tools = false);
  // A template given as text; special tokens unset unless tokens is given.
  static ChatTemplate from_source(const std::string& source, const std::string& origin, SpecialTokens tokens = {});

  ChatRendered render(const ChatInput& in, const jinja::RenderLimits& limits = {}) const;

  // Byte spans of each assistant message in render(in).text. With {% generation %} blocks: those
  // spans. Without: for each assistant message i, start = length of the rendering of messages[:i]
  // with add_generation_prompt=true, end = length of the rendering of messages[:i+1] without it;
  // every such rendering must be a prefix of the next and of the whole conversation, otherwise
  // the template is not prefix-stable (e.g. it drops reasoning from earlier turns) and this
  // throws rather than guess. The span includes what the template appends after the content
  // (end-of-turn token, newline), which is what the model must learn to emit.
  std::vector<Span> assistant_spans(const ChatInput& in) const;

  const std::string& source() const { return source_; }
  const std::string& origin() const { return origin_; }
  const SpecialTokens& special_tokens() const { return tokens_; }
  void set_special_tokens(SpecialTokens t) { tokens_ = std::move(t); }

 private:
  ChatTemplate(std::string source, std::string origin, SpecialTokens tokens);
  std::string source_, origin_;
  SpecialTokens tokens_;
  std::shared_ptr<jinja::Template> tmpl_;
};

}  // namespace tandem::tokenizer
