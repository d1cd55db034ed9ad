// {"type": "format"}: a fixed score when the completion matches a regex (PCRE2), another when not.
// Keys: pattern (default the R1 layout ^<think>.*?</think>\s*<answer>.*?</answer>$), dotall (true),
// multiline (false), caseless (false), match (1), miss (0). The pattern is searched for; anchor it
// with ^ and $ (or \A and \z, since $ also matches before a final newline) to test the whole text.
// Not here: extracting the answer inside the tags (the exact/fuzzy "extract" key does that).
#include "reward/regex.h"
#include "reward/spec.h"

namespace tandem::reward {

namespace {

constexpr const char* kDefaultPattern = R"(^<think>.*?</think>\s*<answer>.*?</answer>$)";

RegexFlags read_flags(const Json& spec, const std::string& where) {
  RegexFlags f;
  f.dotall = json_bool_or(spec, "dotall", true, where, "reward config");
  f.multiline = json_bool_or(spec, "multiline", false, where, "reward config");
  f.caseless = json_bool_or(spec, "caseless", false, where, "reward config");
  return f;
}

class FormatReward : public RewardFunction {
 public:
  FormatReward(const Json& spec, const std::string& where)
      : regex_((check_keys(spec, where, {"pattern", "dotall", "multiline", "caseless", "match", "miss"}),
                json_string_or(spec, "pattern", kDefaultPattern, where, "reward config")),
               read_flags(spec, where), where + ".pattern") {
    name_ = spec_name(spec, where, "format");
    match_ = json_number_or(spec, "match", 1.0, where, "reward config");
    miss_ = json_number_or(spec, "miss", 0.0, where, "reward config");
  }

  std::string name() const override { return name_; }

  std::vector<RewardScore> score(std::span<const RewardRequest> requests) override {
    std::vector<RewardScore> out(requests.size());
    for (size_t i = 0; i < requests.size(); ++i) out[i].reward = regex_.search(requests[i].completion) ? match_ : miss_;
    return out;
  }

 private:
  RewardRegex regex_;
  std::string name_;
  double match_ = 1, miss_ = 0;
};

}  // namespace

RewardPtr make_format_reward(const Json& spec, const std::string& where) {
  return std::make_unique<FormatReward>(spec, where);
}

}  // namespace tandem::reward
