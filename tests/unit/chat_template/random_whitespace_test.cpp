// Differential test of whitespace control: random templates (fixed seed) of text with spaces,
// tabs and newlines around block, variable, comment and raw tags carrying random `-`/`+`
// modifiers, rendered by Tandem and by python3-jinja2 with trim_blocks and lstrip_blocks on.
// Stray whitespace is the commonest way a chat template silently differs from transformers.
#include <gtest/gtest.h>

#include <random>

#include "unit/chat_template/reference.h"

namespace tandem::testing {
namespace {

class WsGen {
 public:
  explicit WsGen(uint32_t seed) : rng_(seed) {}

  std::string body(int depth) {
    std::string out;
    const size_t n = 1 + pick(5);
    for (size_t i = 0; i < n; ++i) out += piece(depth);
    return out;
  }

 private:
  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  std::string one(const std::vector<std::string>& v) { return v[pick(v.size())]; }
  std::string open_mod() { return one({"", "", "-", "+"}); }
  std::string close_mod() { return one({"", "", "-", "+"}); }
  std::string block(const std::string& inner) { return "{%" + open_mod() + " " + inner + " " + close_mod() + "%}"; }
  std::string text() { return one({"a", " ", "\n", "  \n", "\t", "x y", "\n\n", "  ", " b \n  ", "\n    "}); }

  std::string piece(int depth) {
    switch (depth > 0 ? pick(8) : pick(4)) {
      case 0:
      case 1: return text();
      case 2: return "{{" + one({"", "-"}) + " v " + one({"", "-"}) + "}}";
      case 3: return "{#" + one({"", "-"}) + " note " + one({"", "-"}) + "#}";
      case 4: return block("if flag") + body(depth - 1) + (pick(2) ? block("else") + body(depth - 1) : "") + block("endif");
      case 5: return block("for i in l") + body(depth - 1) + block("endfor");
      case 6: return block("raw") + one({" {{ raw }} ", "\n  x\n  ", "y"}) + block("endraw");
      default: return block("set z = 1") + text();
    }
  }
  std::mt19937 rng_;
};

TEST(JinjaRandomWhitespace, SameAsJinja2) {
  const OrderedJson ctx = OrderedJson::parse(R"({"v": "V", "flag": true, "l": [1, 2]})");
  std::vector<RefCase> cases;
  for (uint32_t seed : {1u, 2u}) {
    WsGen g(seed);
    for (int i = 0; i < 400; ++i) {
      std::string t = g.body(2);
      if (i % 3 == 0) t += "\n";  // a trailing newline that jinja2 drops
      cases.push_back({"template " + std::to_string(seed) + "/" + std::to_string(i) + ": " + t, t, ctx});
    }
  }
  const size_t rendered = expect_same_as_jinja2(cases);
  EXPECT_GT(rendered, cases.size() * 8 / 10) << "most random templates should be valid";
}

}  // namespace
}  // namespace tandem::testing
