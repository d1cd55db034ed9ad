// {"type": "exact"}: `match` (1) when the completion, or the part its `extract` regex captures,
// equals the reference column after the configured normalisation; else `miss` (0). A column
// holding an array matches when any element does. Text options: match_text.h.
// Not here: numeric equivalence (the math reward does that).
#include "reward/match_text.h"
#include "reward/spec.h"

namespace tandem::reward {

namespace {

class ExactReward : public RewardFunction {
 public:
  ExactReward(const Json& spec, const std::string& where) : where_(where) {
    check_keys(spec, where,
               {"column", "extract", "strip", "case_sensitive", "collapse_whitespace", "match", "miss"});
    name_ = spec_name(spec, where, "exact");
    opts_ = TextMatchOptions::from_spec(spec, where);
    match_ = json_number_or(spec, "match", 1.0, where, "reward config");
    miss_ = json_number_or(spec, "miss", 0.0, where, "reward config");
  }

  std::string name() const override { return name_; }

  std::vector<RewardScore> score(std::span<const RewardRequest> requests) override {
    std::vector<RewardScore> out(requests.size());
    for (size_t i = 0; i < requests.size(); ++i) {
      const auto refs = column_strings(requests[i], opts_.column, where_);
      const auto got = opts_.completion_text(requests[i].completion);
      bool ok = false;
      if (got)
        for (const std::string& ref : refs) ok = ok || opts_.normalize(ref) == *got;
      out[i].reward = ok ? match_ : miss_;
    }
    return out;
  }

 private:
  std::string where_, name_;
  TextMatchOptions opts_;
  double match_ = 1, miss_ = 0;
};

}  // namespace

RewardPtr make_exact_reward(const Json& spec, const std::string& where) {
  return std::make_unique<ExactReward>(spec, where);
}

}  // namespace tandem::reward
