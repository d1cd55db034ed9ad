// Differential test of statements and scoping: random small programs (fixed seed) of nested
// for/if/set/namespace/macro/break/continue with loop.* and outer-variable reads, rendered by
// Tandem and by python3-jinja2. Scoping (what a `set` inside a loop or macro can see and change)
// is where an interpreter most easily drifts from jinja2 without any test noticing.
#include <gtest/gtest.h>

#include <random>

#include "unit/chat_template/reference.h"

namespace tandem::testing {
namespace {

class ProgGen {
 public:
  explicit ProgGen(uint32_t seed) : rng_(seed) {}

  std::string program() {
    return "{% set ns = namespace(a=0, s='') %}{% set v = 'top' %}"
           "{% macro m(p, q=2) %}<{{ p }}:{{ q }}:{{ v }}>{% endmacro %}"
           "{% macro mc(p) %}{{ caller(p) }}/{{ caller('again') }}{% endmacro %}" +
           stmts(3, false) + "|{{ ns.a }}|{{ ns.s }}|{{ v }}";
  }

 private:
  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  std::string one(const std::vector<std::string>& v) { return v[pick(v.size())]; }

  std::string expr(bool in_loop) {
    std::vector<std::string> e = {"v", "ns.a", "ns.a + 1", "x", "l|length", "'s' ~ v", "m(v)", "m(ns.a, q=v)",
                                  "w is defined", "w|default('nw')"};
    if (in_loop) {
      for (const char* s : {"it", "loop.index", "loop.first", "loop.last", "loop.revindex0", "it ~ loop.index0",
                            "loop.previtem|default('-')", "loop.length"})
        e.push_back(s);
    }
    return one(e);
  }

  std::string stmts(int depth, bool in_loop) {
    std::string out;
    const size_t n = 1 + pick(3);
    for (size_t i = 0; i < n; ++i) out += stmt(depth, in_loop);
    return out;
  }

  std::string stmt(int depth, bool in_loop) {
    const size_t k = depth > 0 ? pick(14) : pick(6);
    switch (k) {
      case 0: return "{{ " + expr(in_loop) + " }},";
      case 1: return "{% set v = " + expr(in_loop) + " %}";
      case 2: return "{% set w = " + expr(in_loop) + " %}";
      case 3: return "{% set ns.a = ns.a + 1 %}{% set ns.s = ns.s ~ " + expr(in_loop) + " %}";
      case 4: return in_loop && captured_ == 0 ? one({"{% if loop.index > 1 %}{% break %}{% endif %}", "{% if loop.first %}{% continue %}{% endif %}", "."}) : ".";
      case 5: return "{{ v }}{{ w|default('') }};";
      case 6:
      case 7:
        return "{% for it in " + one({"l", "[1, 2]", "d", "range(3)", "'ab'", "[]"}) + " %}" + stmts(depth - 1, true) +
               (pick(3) == 0 ? "{% else %}E" + stmts(depth - 1, in_loop) : "") + "{% endfor %}";
      case 8:
        return "{% if " + expr(in_loop) + " %}" + stmts(depth - 1, in_loop) + "{% else %}" + stmts(depth - 1, in_loop) +
               "{% endif %}";
      case 9: return "{% macro m2(z) %}{% set v = z %}[{{ v }}]{% endmacro %}{{ m2(" + expr(in_loop) + ") }}";
      case 10: return "{% set blk %}" + captured(depth, in_loop) + "{% endset %}({{ blk|length }}:{{ blk }})";
      case 11: return "{% filter upper %}" + captured(depth, in_loop) + "{% endfilter %}";
      case 12: return "{% with v = " + expr(in_loop) + " %}" + stmts(depth - 1, in_loop) + "{% endwith %}";
      default: return "{% call(c) mc(" + expr(in_loop) + ") %}{{ c }}" + captured(depth, in_loop) + "{% endcall %}";
    }
  }
  // Bodies rendered into a buffer (set/filter/call blocks): no break/continue inside them. In a
  // call block jinja2 rejects them; in set/filter blocks its behaviour is a code-generation
  // accident that no template relies on (docs/chat_templates.md).
  std::string captured(int depth, bool in_loop) {
    ++captured_;
    std::string s = stmts(depth - 1, in_loop);
    --captured_;
    return s;
  }
  int captured_ = 0;
  std::mt19937 rng_;
};

TEST(JinjaRandomPrograms, SameAsJinja2) {
  const OrderedJson ctx = OrderedJson::parse(R"({"x": 3, "l": ["p", "q", "r"], "d": {"k1": 1, "k2": 2}})");
  std::vector<RefCase> cases;
  for (uint32_t seed : {424242u, 99u}) {
    ProgGen g(seed);
    for (int i = 0; i < 300; ++i) {
      const std::string t = g.program();
      cases.push_back({"program " + std::to_string(seed) + "/" + std::to_string(i) + ": " + t, t, ctx});
    }
  }
  const size_t rendered = expect_same_as_jinja2(cases);
  EXPECT_GT(rendered, cases.size() * 9 / 10) << "random programs should nearly all be valid";
}

}  // namespace
}  // namespace tandem::testing
