// Error reporting of the Jinja interpreter: syntax errors name line and column and what was
// expected; runtime errors name the expression's position; raise_exception passes its message
// through verbatim; resource limits stop runaway templates with a clear message.
#include <gtest/gtest.h>

#include "core/error.h"
#include "tokenizer/jinja/template.h"

namespace tandem::tokenizer::jinja {
namespace {

std::string syntax_error(const std::string& src) {
  try {
    Template t(src, "t.jinja");
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no syntax error for: " << src;
  return "";
}

std::string render_error(const std::string& src, const RenderLimits& lim = {}) {
  try {
    Template t(src, "t.jinja");
    t.render({{"xs", Value::list({Value(1), Value(2)})}}, lim);
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error for: " << src;
  return "";
}

#define EXPECT_HAS(hay, needle) EXPECT_NE((hay).find(needle), std::string::npos) << (hay)

TEST(JinjaErrors, SyntaxErrorsNameLineColumnAndExpectation) {
  std::string m = syntax_error("line one\n{% for x in xs %}\n  {{ x }}\n");
  EXPECT_HAS(m, "line 3 column");
  EXPECT_HAS(m, "expected 'else' or 'endfor'");
  EXPECT_HAS(m, "'for' at line 2 column 1");
  EXPECT_HAS(m, "t.jinja");

  m = syntax_error("ab\ncd {{ 1 + }}");
  EXPECT_HAS(m, "line 2 column 11");
  EXPECT_HAS(m, "expected an expression, got '}}'");

  m = syntax_error("{% if x %}a{% endfor %}");
  EXPECT_HAS(m, "line 1 column 15");
  EXPECT_HAS(m, "unexpected tag 'endfor' inside the 'if' opened at line 1 column 1");

  m = syntax_error("\n\n   {{ 'unterminated }}");
  EXPECT_HAS(m, "line 3 column 7");
  EXPECT_HAS(m, "string literal");

  m = syntax_error("x {{ a.b ");
  EXPECT_HAS(m, "line 1 column 3");
  EXPECT_HAS(m, "never closed, expected '}}'");

  m = syntax_error("{% frobnicate %}");
  EXPECT_HAS(m, "line 1 column 4: unknown tag 'frobnicate'");

  m = syntax_error("{% include 'x.jinja' %}");
  EXPECT_HAS(m, "'include' tag is not supported");

  m = syntax_error("{% if x %}{% break %}{% endif %}");
  EXPECT_HAS(m, "line 1 column 14: 'break' outside of a loop");

  m = syntax_error("{{ a ? b }}");
  EXPECT_HAS(m, "line 1 column 6: unexpected character '?'");

  m = syntax_error("{% set x %}abc");
  EXPECT_HAS(m, "expected 'endset'");

  m = syntax_error("{% for x xs %}{% endfor %}");
  EXPECT_HAS(m, "line 1 column 10: expected 'in', got name 'xs'");

  m = syntax_error("{{ f(a=1, 2) }}");
  EXPECT_HAS(m, "positional argument after keyword argument");

  m = syntax_error("{# never closed");
  EXPECT_HAS(m, "expected '#}'");

  m = syntax_error("{{ " + std::string(300, '(') + "1" + std::string(300, ')') + " }}");
  EXPECT_HAS(m, "nested deeper than");
}

TEST(JinjaErrors, RuntimeErrorsNamePosition) {
  std::string m = render_error("ok\n  {{ missing.attr }}");
  EXPECT_HAS(m, "line 2 column");
  EXPECT_HAS(m, "'missing' is undefined");

  m = render_error("{{ 'a' + 1 }}");
  EXPECT_HAS(m, "can only concatenate str");

  m = render_error("{{ xs|nosuchfilter }}");
  EXPECT_HAS(m, "no filter named 'nosuchfilter'");

  m = render_error("{{ xs is nosuchtest }}");
  EXPECT_HAS(m, "no test named 'nosuchtest'");

  m = render_error("{% set acc = [] %}{{ acc.append(1) }}");
  EXPECT_HAS(m, "access to attribute 'append' of 'list' object is unsafe");

  m = render_error("{% set x = 1 %}{% set x.a = 2 %}");
  EXPECT_HAS(m, "only namespace() objects take attribute assignment");
}

TEST(JinjaErrors, RaiseExceptionIsVerbatim) {
  Template t("{% if xs|length > 1 %}{{ raise_exception('Only one message, got ' ~ xs|length ~ ' [exact]') }}{% endif %}");
  try {
    t.render({{"xs", Value::list({Value(1), Value(2)})}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.what_only(), "Only one message, got 2 [exact]");
  }
}

TEST(JinjaErrors, ResourceLimits) {
  RenderLimits lim;
  lim.max_call_depth = 50;
  std::string m = render_error("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", lim);
  EXPECT_HAS(m, "macro calls nested deeper than 50");

  lim = {};
  lim.max_output_bytes = 1000;
  m = render_error("{% for i in range(100) %}0123456789abcdef{% endfor %}", lim);
  EXPECT_HAS(m, "exceeds the limit of 1000 bytes");

  lim = {};
  lim.max_loop_iterations = 500;
  m = render_error("{% for i in range(30) %}{% for j in range(30) %}{% endfor %}{% endfor %}", lim);
  EXPECT_HAS(m, "more than 500 iterations");

  std::string chain = "{{ 'a'";
  for (int i = 0; i < 5000; ++i) chain += " ~ 'b'";
  m = render_error(chain + " }}");
  EXPECT_HAS(m, "expression nested deeper than");

  // Within limits the same templates render.
  Template ok("{% for i in range(30) %}{% for j in range(30) %}{% endfor %}{% endfor %}done");
  EXPECT_EQ(ok.render({}).text, "done");
}

}  // namespace
}  // namespace tandem::tokenizer::jinja
