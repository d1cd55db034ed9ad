#include "data/chat_render.h"

#include <map>
#include <mutex>

#include "core/file.h"

namespace tandem::data {

namespace {

bool empty_content(const OrderedJson& c) {
  return c.is_null() || (c.is_string() && c.get<std::string>().empty()) || (c.is_array() && c.empty());
}

OrderedJson head(const OrderedJson& msgs, size_t n) {
  OrderedJson out = OrderedJson::array();
  for (size_t k = 0; k < n; ++k) out.push_back(msgs[k]);
  return out;
}

}  // namespace

ChatRenderer::ChatRenderer(const std::string& dir) : dir_(dir) {
  if (file_exists(join_path(dir, "tokenizer.json"))) {
    tok_ = tokenizer::Tokenizer::from_dir(dir);
    try {
      tmpl_ = tokenizer::ChatTemplate::from_dir(dir);
    } catch (const Error& e) {
      tmpl_error_ = e.what();
    }
  } else {
    tok_error_ = cat("the model folder '", dir, "' has no tokenizer.json, so only pre-tokenized data (input_ids, ",
                     "prompt_input_ids, ...) can be read");
  }
}

std::shared_ptr<const ChatRenderer> ChatRenderer::shared(const std::string& dir) {
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<const ChatRenderer>> cache;
  std::lock_guard<std::mutex> lock(mu);
  if (auto p = cache[dir].lock()) return p;
  auto p = std::make_shared<const ChatRenderer>(dir);
  cache[dir] = p;
  return p;
}

const tokenizer::Tokenizer& ChatRenderer::tokenizer() const {
  if (!tok_) throw Error("data.tokenizer", tok_error_);
  return *tok_;
}

const tokenizer::ChatTemplate& ChatRenderer::chat_template() const {
  if (!tok_) throw Error("data.tokenizer", tok_error_);
  if (!tmpl_) throw Error("data.chat_template", cat("conversational data needs a chat template: ", tmpl_error_));
  return *tmpl_;
}

std::vector<int32_t> ChatRenderer::encode(const std::string& text, bool add_special) const {
  return tokenizer().encode(text, add_special);
}

void ChatRenderer::check_messages(const OrderedJson& msgs, const std::string& field, const Origin& o) const {
  if (!msgs.is_array() || msgs.empty()) throw BadLine(o, field, "a non-empty list of messages {role, content}", describe(msgs));
  for (size_t i = 0; i < msgs.size(); ++i) {
    const OrderedJson& m = msgs[i];
    const std::string f = cat(field, "[", i, "]");
    if (!m.is_object()) throw BadLine(o, f, "a message {role, content}", describe(m));
    if (!m.contains("role")) throw BadLine(o, f + ".role", "a role (system, user, assistant or tool)", "nothing");
    const OrderedJson& r = m["role"];
    if (!r.is_string()) throw BadLine(o, f + ".role", "a string", describe(r));
    const std::string role = r.get<std::string>();
    if (role != "system" && role != "user" && role != "assistant" && role != "tool")
      throw BadLine(o, f + ".role", "system, user, assistant or tool", describe(r));
    const bool has_calls = m.contains("tool_calls") && !m["tool_calls"].is_null();
    if (has_calls && (!m["tool_calls"].is_array() || role != "assistant"))
      throw BadLine(o, f + ".tool_calls", "a list of calls on an assistant message", describe(m["tool_calls"]));
    if (!m.contains("content")) {
      if (!(role == "assistant" && has_calls)) throw BadLine(o, f + ".content", "the message text", "nothing");
    } else {
      const OrderedJson& c = m["content"];
      if (!c.is_string() && !c.is_array() && !c.is_null())
        throw BadLine(o, f + ".content", "a string or a list of content parts", describe(c));
      if (c.is_null() && !(role == "assistant" && has_calls))
        throw BadLine(o, f + ".content", "a string or a list of content parts", describe(c));
    }
    if (m.contains("reasoning_content") && !m["reasoning_content"].is_null() && !m["reasoning_content"].is_string())
      throw BadLine(o, f + ".reasoning_content", "a string", describe(m["reasoning_content"]));
    if (role == "assistant") {
      const bool no_calls = !has_calls || m["tool_calls"].empty();
      const bool no_reasoning = !m.contains("reasoning_content") || empty_content(m["reasoning_content"]);
      if (no_calls && no_reasoning && (!m.contains("content") || empty_content(m["content"])))
        throw BadLine(o, f + ".content", "a non-empty assistant turn",
                      m.contains("content") ? describe(m["content"]) : std::string("nothing"));
    }
  }
}

std::string ChatRenderer::render(const OrderedJson& msgs, const OrderedJson& tools, bool gen, const std::string& field,
                                 const Origin& o, std::vector<tokenizer::Span>* generation) const {
  tokenizer::ChatInput in;
  in.messages = msgs;
  in.tools = tools;
  in.add_generation_prompt = gen;
  try {
    tokenizer::ChatRendered r = chat_template().render(in);
    if (generation) *generation = std::move(r.generation);
    return std::move(r.text);
  } catch (const Error& e) {
    if (e.where().rfind("data.", 0) == 0) throw;  // no template at all: not this line's fault
    throw BadLine(o, field, "a conversation the chat template accepts", cat("the template's error: ", e.what_only()));
  }
}

RenderedChat ChatRenderer::conversation(const OrderedJson& msgs, const OrderedJson& tools, const std::string& field,
                                        const Origin& o) const {
  check_messages(msgs, field, o);
  const tokenizer::Tokenizer& tok = tokenizer();
  RenderedChat out;
  std::vector<tokenizer::Span> gen;
  out.text = render(msgs, tools, false, field, o, &gen);
  const std::string& F = out.text;
  auto append = [&](size_t b, size_t e) {
    if (e <= b) return;
    const auto ids = tok.encode(std::string_view(F).substr(b, e - b), false);
    out.ids.insert(out.ids.end(), ids.begin(), ids.end());
  };
  if (!gen.empty()) {  // the template marks what is trained: cut exactly there
    size_t at = 0;
    for (const auto& s : gen) {
      append(at, s.begin);
      const size_t b = out.ids.size();
      append(s.begin, s.end);
      out.assistant.emplace_back(b, out.ids.size());
      at = s.end;
    }
    append(at, F.size());
    return out;
  }
  std::vector<std::pair<size_t, size_t>> cuts;  // (byte where assistant turn starts, message index)
  for (size_t i = 0; i < msgs.size(); ++i) {
    if (msgs[i]["role"] != "assistant") continue;
    const std::string p = render(head(msgs, i), tools, true, field, o);
    const size_t last = cuts.empty() ? 0 : cuts.back().first;
    if (p.size() > F.size() || F.compare(0, p.size(), p) != 0 || p.size() <= last)
      throw BadLine(o, cat(field, "[", i, "]"),
                    "the chat template to render the messages before this assistant turn (with the generation prompt) "
                    "as a prefix of the whole conversation",
                    cat("a different text (the template is not prefix-stable here; give it {% generation %} blocks) (",
                        chat_template().origin(), ")"));
    cuts.emplace_back(p.size(), i);
  }
  append(0, cuts.empty() ? F.size() : cuts[0].first);
  for (size_t k = 0; k < cuts.size(); ++k) {
    const size_t b = cuts[k].first, e = k + 1 < cuts.size() ? cuts[k + 1].first : F.size();
    const size_t base = out.ids.size();
    append(b, e);
    size_t end = base;
    while (end < out.ids.size() && !tok.is_special(out.ids[end])) ++end;
    if (end == out.ids.size())
      throw BadLine(o, cat(field, "[", cuts[k].second, "]"), "an end-of-turn special token after the assistant text",
                    cat("none in the rendered turn (", chat_template().origin(), ")"));
    out.assistant.emplace_back(base, end + 1);
  }
  return out;
}

std::vector<int32_t> ChatRenderer::prompt(const OrderedJson& msgs, const OrderedJson& tools, const std::string& field,
                                          const Origin& o, std::string* text) const {
  check_messages(msgs, field, o);
  std::string p = render(msgs, tools, true, field, o);
  auto ids = tokenizer().encode(p, false);
  if (text) *text = std::move(p);
  return ids;
}

Continuation ChatRenderer::continuation(const OrderedJson& prompt, const OrderedJson& completion,
                                        const OrderedJson& tools, const std::string& field, const Origin& o) const {
  check_messages(prompt, "prompt", o);
  check_messages(completion, field, o);
  if (completion[0]["role"] != "assistant")
    throw BadLine(o, field + "[0].role", "assistant (a completion starts with the model's turn)", describe(completion[0]["role"]));
  size_t k = 0;  // assistant turns inside the prompt
  for (const auto& m : prompt) k += m["role"] == "assistant";
  OrderedJson all = prompt;
  for (const auto& m : completion) all.push_back(m);
  const RenderedChat rc = conversation(all, tools, field, o);
  TD_ASSERT(rc.assistant.size() > k, "assistant spans ", rc.assistant.size(), " prompt turns ", k);
  Continuation c;
  const size_t b = rc.assistant[k].first;
  c.prompt.assign(rc.ids.begin(), rc.ids.begin() + long(b));
  c.completion.assign(rc.ids.begin() + long(b), rc.ids.end());
  c.n_trained = rc.assistant.back().second - b;
  return c;
}

}  // namespace tandem::data
