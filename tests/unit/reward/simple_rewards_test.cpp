// Format, exact, fuzzy, length and weighted rewards, and make_reward's config validation.
// Expected values are worked out by hand in the comments.
#include <gtest/gtest.h>

#include "reward/match_text.h"
#include "reward/reward.h"

namespace tandem::reward {
namespace {

std::vector<double> rewards(RewardFunction& fn, const std::vector<RewardRequest>& reqs) {
  std::vector<double> out;
  for (const RewardScore& s : fn.score(reqs)) out.push_back(s.reward);
  return out;
}

RewardRequest req(const std::string& completion, Json columns = Json::object(), int64_t tokens = -1) {
  RewardRequest r;
  r.completion = completion;
  r.columns = std::move(columns);
  r.completion_tokens = tokens;
  return r;
}

std::string error_of(const Json& spec) {
  try {
    make_reward(spec, "rl.reward");
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(FormatReward, DefaultThinkAnswerPattern) {
  auto fn = make_reward(Json{{"type", "format"}}, "r");
  const std::vector<RewardRequest> reqs = {
      req("<think>a\nb</think>\n<answer>42</answer>"),  // dotall: newlines inside the tags
      req("<think>a</think><answer>42</answer>"),
      req("<answer>42</answer>"),                        // no think block
      req("x <think>a</think><answer>42</answer>"),      // text before the block
      req("<think>a</think><answer>42</answer> and more"),
      req("<think>a</think>\n<answer>4\xff" "2</answer>"),  // invalid UTF-8 does not break matching
  };
  EXPECT_EQ(rewards(*fn, reqs), (std::vector<double>{1, 1, 0, 0, 0, 1}));
}

TEST(FormatReward, CustomPatternFlagsAndScores) {
  auto fn = make_reward(Json::parse(R"({"type":"format","pattern":"^answer: \\d+$","multiline":true,
                                        "caseless":true,"match":0.5,"miss":-0.5})"), "r");
  EXPECT_EQ(rewards(*fn, {req("work\nANSWER: 12\nbye"), req("answer: twelve")}), (std::vector<double>{0.5, -0.5}));
  auto no_dotall = make_reward(Json::parse(R"({"type":"format","pattern":"^a.b$","dotall":false})"), "r");
  EXPECT_EQ(rewards(*no_dotall, {req("a\nb"), req("a-b")}), (std::vector<double>{0, 1}));
}

TEST(FormatReward, BadPatternNamesTheKey) {
  const std::string e = error_of(Json::parse(R"({"type":"format","pattern":"(<think>"})"));
  EXPECT_NE(e.find("[rl.reward.pattern]"), std::string::npos) << e;
  EXPECT_NE(e.find("cannot compile"), std::string::npos) << e;
}

TEST(ExactReward, NormalisationExtractAndArrays) {
  auto plain = make_reward(Json{{"type", "exact"}}, "r");
  const Json col = {{"answer", "Paris"}};
  EXPECT_EQ(rewards(*plain, {req("  Paris\n", col), req("paris", col), req("Paris.", col)}),
            (std::vector<double>{1, 0, 0}));
  auto folded = make_reward(Json::parse(R"({"type":"exact","case_sensitive":false,"collapse_whitespace":true,
                                            "column":"city","extract":"<answer>(.*?)</answer>"})"), "r");
  const Json city = {{"city", Json::array({"New  York", "NYC"})}};
  EXPECT_EQ(rewards(*folded, {req("<answer>new york</answer>", city), req("<answer> nyc </answer>", city),
                              req("new york", city), req("<answer>Boston</answer>", city)}),
            (std::vector<double>{1, 1, 0, 0}));
}

TEST(ExactReward, MissingColumnIsAnErrorListingColumns) {
  auto fn = make_reward(Json{{"type", "exact"}}, "rl.reward");
  std::vector<RewardRequest> reqs = {req("x", Json{{"solution", "x"}})};
  try {
    fn->score(reqs);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no column 'answer' (its columns: solution)"), std::string::npos) << e.what();
  }
}

TEST(FuzzyReward, EditSimilarity) {
  EXPECT_DOUBLE_EQ(edit_similarity("kitten", "sitting"), 1.0 - 3.0 / 7.0);  // the textbook distance 3
  EXPECT_DOUBLE_EQ(edit_similarity("", ""), 1.0);
  EXPECT_DOUBLE_EQ(edit_similarity("abc", ""), 0.0);
  EXPECT_DOUBLE_EQ(edit_similarity("na\xc3\xafve", "naive"), 0.8);  // one code point differs, not two bytes
  auto fn = make_reward(Json::parse(R"({"type":"fuzzy","case_sensitive":false})"), "r");
  EXPECT_EQ(rewards(*fn, {req("FLAW", {{"answer", "lawn"}})}), (std::vector<double>{0.5}));  // distance 2 of 4
  auto thr = make_reward(Json::parse(R"({"type":"fuzzy","threshold":0.6})"), "r");
  EXPECT_EQ(rewards(*thr, {req("kitten", {{"answer", "sitting"}}), req("kitten", {{"answer", "bitten"}})}),
            (std::vector<double>{0, 1}));  // 4/7 < 0.6 <= 5/6
}

TEST(LengthReward, OverlongShaping) {
  // L_max 100, L_cache 20: no penalty up to 80, linear to -1 at 100, -1 beyond.
  auto fn = make_reward(Json::parse(R"({"type":"length","max_length":100,"cache_length":20})"), "r");
  EXPECT_EQ(rewards(*fn, {req("", {}, 50), req("", {}, 80), req("", {}, 90), req("", {}, 100), req("", {}, 130)}),
            (std::vector<double>{0, 0, -0.5, -1, -1}));
  auto half = make_reward(Json::parse(R"({"type":"length","max_length":100,"cache_length":20,"factor":0.5})"), "r");
  EXPECT_EQ(rewards(*half, {req("", {}, 95)}), (std::vector<double>{-0.375}));
  EXPECT_THROW(fn->score(std::vector<RewardRequest>{req("no count")}), Error);
}

TEST(LengthReward, LinearInCharacters) {
  auto fn = make_reward(Json::parse(R"({"type":"length","mode":"linear","unit":"chars","target":4})"), "r");
  // penalty 1/4 per char beyond 4, floored at -1; "héllo" is 5 code points (6 bytes).
  EXPECT_EQ(rewards(*fn, {req("abcd"), req("h\xc3\xa9llo"), req("abcdefgh"), req(std::string(40, 'x'))}),
            (std::vector<double>{0, -0.25, -1, -1}));
  EXPECT_NE(error_of(Json::parse(R"({"type":"length","mode":"linear","target":4,"cache_length":2})"))
                .find("[rl.reward.cache_length] not a key of mode 'linear'"),
            std::string::npos);
}

TEST(WeightedReward, SumAndNamedComponents) {
  auto fn = make_reward(Json::parse(R"({"type":"weighted","terms":[
      {"type":"math","weight":1.0},
      {"type":"format","weight":0.5,"pattern":"^<answer>"},
      {"type":"weighted","name":"inner","weight":2,"terms":[{"type":"exact","name":"ex"}]}]})"), "r");
  EXPECT_EQ(fn->name(), "weighted");
  std::vector<RewardRequest> reqs = {req("<answer>7</answer>", {{"answer", "7"}}),
                                     req("\\boxed{7}", {{"answer", "\\boxed{7}"}})};
  const auto s = fn->score(reqs);
  // 1*1 + 0.5*1 + 2*0 ; 1*1 + 0.5*0 + 2*1
  EXPECT_DOUBLE_EQ(s[0].reward, 1.5);
  EXPECT_DOUBLE_EQ(s[1].reward, 3.0);
  const std::map<std::string, double> want0 = {{"math", 1}, {"format", 1}, {"inner", 0}, {"inner/ex", 0}};
  const std::map<std::string, double> want1 = {{"math", 1}, {"format", 0}, {"inner", 1}, {"inner/ex", 1}};
  EXPECT_EQ(s[0].components, want0);
  EXPECT_EQ(s[1].components, want1);
}

TEST(MakeReward, ValidationNamesTheKey) {
  EXPECT_NE(error_of(Json{{"type", "mathh"}}).find("[rl.reward.type] unknown reward type 'mathh'"), std::string::npos);
  EXPECT_NE(error_of(Json::object()).find("[rl.reward.type] missing"), std::string::npos);
  EXPECT_NE(error_of(Json{{"type", "math"}, {"colum", "x"}}).find("[rl.reward.colum] unknown key"), std::string::npos);
  EXPECT_NE(error_of(Json{{"type", "math"}, {"rel_tol", "1"}}).find("[rl.reward.rel_tol] expected a number"),
            std::string::npos);
  EXPECT_NE(error_of(Json{{"type", "math"}, {"extract", "first"}}).find("[rl.reward.extract] expected one of"),
            std::string::npos);
  EXPECT_NE(error_of(Json::parse(R"({"type":"weighted","terms":[{"type":"math"},{"type":"math"}]})"))
                .find("[rl.reward.terms.1.name] two terms are named 'math'"),
            std::string::npos);
  EXPECT_NE(error_of(Json::parse(R"({"type":"weighted","terms":[{"type":"format","dotal":true}]})"))
                .find("[rl.reward.terms.0.dotal] unknown key"),
            std::string::npos);
  EXPECT_NE(error_of(Json(3)).find("[rl.reward] a reward is an object"), std::string::npos);
  EXPECT_EQ(make_reward(Json("exact"), "r")->name(), "exact");
}

}  // namespace
}  // namespace tandem::reward
