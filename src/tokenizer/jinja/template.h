// Public face of Tandem's Jinja interpreter: parse a template once, render it many times.
// Behaves as jinja2 configured by transformers (ImmutableSandboxedEnvironment, trim_blocks,
// lstrip_blocks, loopcontrols, tojson with ensure_ascii=False, raise_exception, strftime_now),
// plus transformers' {% generation %} blocks, whose output byte spans are returned.
// Errors: syntax and runtime errors are tandem::Error naming the template line and column;
// raise_exception(msg) gives a tandem::Error whose what_only() is msg verbatim.
// Not here: where templates come from and which variables a chat gets (chat_template.h).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/jinja/value.h"

namespace tandem::tokenizer::jinja {

struct Node;

// Byte range [begin, end) of the rendered text.
struct Span {
  size_t begin = 0, end = 0;
  bool operator==(const Span& o) const { return begin == o.begin && end == o.end; }
};

struct RenderLimits {
  int max_call_depth = 100;               // nested macro calls (recursion)
  size_t max_output_bytes = 64u << 20;    // rendered text, including set blocks and macro output
  int64_t max_loop_iterations = 10000000; // summed over all loops of one render
  size_t max_value_bytes = 64u << 20;     // one string, list or dict built while rendering (value.h)
  size_t max_built_bytes = size_t(4) << 30;  // all of them together (a big value made in a long loop)
};

struct Rendered {
  std::string text;
  std::vector<Span> generation;  // spans produced inside {% generation %} blocks, in order
};

class Template {
 public:
  // origin names the template in error messages.
  explicit Template(const std::string& source, std::string origin = "template");
  ~Template();
  Template(Template&&) noexcept;
  Template& operator=(Template&&) noexcept;

  // vars: the template's variables (messages, add_generation_prompt, ...); they shadow globals.
  Rendered render(const std::vector<std::pair<std::string, Value>>& vars, const RenderLimits& limits = {}) const;
  const std::string& origin() const { return origin_; }

 private:
  std::string origin_;
  std::shared_ptr<std::vector<std::unique_ptr<Node>>> body_;
};

}  // namespace tandem::tokenizer::jinja
