// Math answer verification: a hand-written table of completions and references that must and must
// not be judged equal, plus extraction and parsing cases. Expected values are written by hand.
#include <gtest/gtest.h>

#include "reward/math_answer.h"
#include "reward/reward.h"

namespace tandem::reward {
namespace {

struct Row {
  const char* completion;
  const char* reference;  // the "answer" column
  bool match;
};

// clang-format off
const Row kRows[] = {
  // plain integers and the last number
  {"The answer is 42.", "42", true},
  {"So we get 7 apples, then 3 more: 10", "10", true},
  {"I first thought 5, but it is actually 7", "5", false},
  {"12", "1.2", false},
  {"2", "22", false},
  {"-3", "3", false},
  {"The temperature drops to -5 degrees", "-5", true},
  {"10 - 5 = 5", "5", true},
  {"x-5 gives 3-5", "5", true},                           // binary minus, not a sign
  {"no number at all", "0", false},
  // boxed, nested braces, boxed wins over a later number
  {"Thus \\boxed{17}. Check: 3+14", "17", true},
  {"\\boxed{\\frac{1}{2}}", "0.5", true},
  {"\\boxed{\\frac{\\frac{1}{2}}{3}}", "1/6", true},
  {"first \\boxed{3} then \\boxed{4}", "4", true},
  {"first \\boxed{3} then \\boxed{4}", "3", false},
  {"\\boxed{4", "4", true},                                // unclosed box: falls back to the last number
  {"$\\boxed{-\\dfrac{3}{4}}$", "-0.75", true},
  {"\\boxed{\\tfrac{6}{8}}", "\\frac{3}{4}", true},
  {"\\boxed 5", "5", true},
  {"\\fbox{9}", "9", true},
  // fractions and decimals
  {"1/2", "0.5", true},
  {"1/2", "2", false},
  {"\\frac12", "0.5", true},
  {"0.333", "\\frac{1}{3}", false},
  {"3.50", "7/2", true},
  {".5", "1/2", true},
  {"0.5", "5", false},
  {"\\boxed{-\\frac{2}{-4}}", "1/2", true},
  // thousands separators, currency, percent, units, text
  {"It costs $1,234.", "1234", true},
  {"\\boxed{1{,}000{,}000}", "1000000", true},
  {"1,234", "1.234", false},
  {"\\boxed{\\$18.00}", "18", true},
  {"\\boxed{50\\%}", "50", true},
  {"\\boxed{12 \\text{ cm}}", "12", true},
  {"\\boxed{90^\\circ}", "90", true},
  {"\\boxed{5\\text{ dollars}}", "5", true},
  {"\\boxed{x = 3}", "3", true},
  {"\\boxed{(1,2)}", "12", false},
  {"\\boxed{(1, 2)}", "(1,2)", true},
  // exponents and big numbers
  {"\\boxed{2\\times10^{3}}", "2000", true},
  {"\\boxed{1.5e-3}", "0.0015", true},
  {"\\boxed{123456789012345678901234}", "123456789012345678901234", true},
  {"\\boxed{123456789012345678901234}", "123456789012345678901235", false},
  // non-numeric answers compare as normalised text
  {"\\boxed{\\sqrt{2}}", "\\sqrt{2}", true},
  {"\\boxed{\\sqrt{3}}", "\\sqrt{2}", false},
  {"\\boxed{\\left( 1, 2 \\right)}", "(1,2)", true},
  {"\\boxed{\\text{(B)}}", "B", true},
  {"\\boxed{B}", "C", false},
  // GSM8K-style references and completions
  {"... so she has 72 clips.", "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n#### 72", true},
  {"#### 1,080", "1080", true},
  {"#### 18", "Janet sells 16 - 3 - 4 = 9 duck eggs a day.\n#### 18", true},
  {"#### 19", "Janet sells 16 - 3 - 4 = 9 duck eggs a day.\n#### 18", false},
};
// clang-format on

TEST(MathReward, TableOfAnswers) {
  auto fn = make_reward(Json{{"type", "math"}}, "reward");
  int failures = 0;
  for (const Row& r : kRows) {
    RewardRequest req;
    req.completion = r.completion;
    req.columns = Json{{"answer", r.reference}};
    const double got = fn->score(std::span(&req, 1))[0].reward;
    const double want = r.match ? 1.0 : 0.0;
    if (got != want) ++failures;
    EXPECT_EQ(got, want) << "completion: " << r.completion << "\nreference: " << r.reference;
  }
  EXPECT_GE(sizeof(kRows) / sizeof(kRows[0]), 40u);
  EXPECT_EQ(failures, 0);
}

TEST(MathReward, SolutionColumnAndScoresAndBoxedOnly) {
  auto fn = make_reward(Json::parse(R"({"type": "math", "column": "solution", "correct": 1, "incorrect": -1})"), "r");
  std::vector<RewardRequest> reqs(3);
  reqs[0].completion = "so \\boxed{\\frac{2}{3}}";
  reqs[0].columns = {{"solution", "We divide, giving $\\boxed{\\dfrac{4}{6}}$ in lowest terms is 2/3."}};
  reqs[1].completion = "so \\boxed{3}";
  reqs[1].columns = reqs[0].columns;
  reqs[2].completion = "42";
  reqs[2].columns = {{"solution", 42}};  // a JSON number column
  const auto s = fn->score(reqs);
  EXPECT_EQ(s[0].reward, 1.0);
  EXPECT_EQ(s[1].reward, -1.0);
  EXPECT_EQ(s[2].reward, 1.0);

  auto boxed = make_reward(Json::parse(R"({"type": "math", "extract": "boxed"})"), "r");
  RewardRequest q;
  q.completion = "the answer is 5";
  q.columns = {{"answer", "5"}};
  EXPECT_EQ(boxed->score(std::span(&q, 1))[0].reward, 0.0);
  q.completion = "the answer is \\boxed{5}";
  EXPECT_EQ(boxed->score(std::span(&q, 1))[0].reward, 1.0);
}

TEST(MathReward, ArrayColumnAnyMatches) {
  auto fn = make_reward(Json{{"type", "math"}}, "r");
  RewardRequest q;
  q.completion = "\\boxed{0.25}";
  q.columns = {{"answer", Json::array({"1/3", "\\frac{1}{4}"})}};
  EXPECT_EQ(fn->score(std::span(&q, 1))[0].reward, 1.0);
}

TEST(MathReward, RelativeToleranceOnlyWhereConfigured) {
  RewardRequest q;
  q.completion = "\\boxed{3.14159}";
  q.columns = {{"answer", "3.14159265"}};
  EXPECT_EQ(make_reward(Json{{"type", "math"}}, "r")->score(std::span(&q, 1))[0].reward, 0.0);
  // Both sides are exact rationals: exact comparison even with a tolerance ...
  EXPECT_EQ(make_reward(Json::parse(R"({"type":"math","rel_tol":1e-4})"), "r")->score(std::span(&q, 1))[0].reward, 0.0);
  // ... which applies once a side is neither a decimal literal nor a 64-bit rational.
  auto fn = make_reward(Json{{"type", "math"}}, "r");
  q.completion = "\\boxed{\\frac{100000000000000000000}{3}}";
  q.columns = {{"answer", "33333333333333333333.3333333333"}};
  EXPECT_EQ(fn->score(std::span(&q, 1))[0].reward, 1.0);
  q.columns = {{"answer", "3333333333333333333.3333333333"}};
  EXPECT_EQ(fn->score(std::span(&q, 1))[0].reward, 0.0);
}

TEST(MathAnswer, Extraction) {
  EXPECT_EQ(extract_math_answer("a \\boxed{x^{2}+1} b").value(), "x^{2}+1");
  EXPECT_EQ(extract_math_answer("\\boxed{\\{1,2\\}}").value(), "\\{1,2\\}");
  EXPECT_EQ(extract_math_answer("pay 1,234,567 now").value(), "1,234,567");
  EXPECT_EQ(extract_math_answer("equals \\frac{3}{4}.").value(), "\\frac{3}{4}");
  EXPECT_EQ(extract_math_answer("it is =-7").value(), "-7");
  EXPECT_EQ(extract_math_answer("pairs 1,2345 and 3,14").value(), "14");  // not thousands groups
  EXPECT_EQ(extract_math_answer("pairs 1,2345").value(), "2345");
  EXPECT_FALSE(extract_math_answer("nothing here").has_value());
  EXPECT_FALSE(extract_math_answer("12", /*boxed_only=*/true).has_value());
}

TEST(MathAnswer, ParsesExactRationals) {
  auto n = parse_math_number("-1,250.50");
  ASSERT_TRUE(n.has_value());
  EXPECT_TRUE(n->exact);
  EXPECT_EQ(n->num, -2501);
  EXPECT_EQ(n->den, 2);
  EXPECT_FALSE(parse_math_number("x+1").has_value());
  EXPECT_FALSE(parse_math_number("1/0").has_value());
  EXPECT_FALSE(parse_math_number("5 and 6").has_value());
  EXPECT_FALSE(parse_math_number("5x").has_value());
  ASSERT_TRUE(parse_math_number("5 m/s^2").has_value());
  // Runaway nesting from a degenerate completion is rejected, not recursed into without bound.
  std::string deep;
  for (int i = 0; i < 5000; ++i) deep += "\\frac{1}{";
  deep += "2" + std::string(5000, '}');
  EXPECT_FALSE(parse_math_number(deep).has_value());
  EXPECT_FALSE(math_answers_equal("\\boxed{" + deep + "}", "1"));
}

}  // namespace
}  // namespace tandem::reward
