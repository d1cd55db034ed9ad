// {"type": "fuzzy"}: the normalised edit-distance similarity (match_text.h) between the completion
// (or what `extract` captures) and the reference column, in [0, 1]; the best over an array column.
// With `threshold` set, the score is 1 at or above it and 0 below instead.
// Not here: token- or embedding-level similarity.
#include "reward/match_text.h"
#include "reward/spec.h"

namespace tandem::reward {

namespace {

class FuzzyReward : public RewardFunction {
 public:
  FuzzyReward(const Json& spec, const std::string& where) : where_(where) {
    check_keys(spec, where, {"column", "extract", "strip", "case_sensitive", "collapse_whitespace", "threshold"});
    name_ = spec_name(spec, where, "fuzzy");
    opts_ = TextMatchOptions::from_spec(spec, where);
    threshold_ = json_number_or(spec, "threshold", -1.0, where, "reward config");
    if (spec.contains("threshold") && !(threshold_ >= 0 && threshold_ <= 1))
      throw Error(where + ".threshold", cat("must be in [0, 1], got ", threshold_));
  }

  std::string name() const override { return name_; }

  std::vector<RewardScore> score(std::span<const RewardRequest> requests) override {
    std::vector<RewardScore> out(requests.size());
    for (size_t i = 0; i < requests.size(); ++i) {
      const auto refs = column_strings(requests[i], opts_.column, where_);
      const auto got = opts_.completion_text(requests[i].completion);
      double best = 0;
      if (got)
        for (const std::string& ref : refs) best = std::max(best, edit_similarity(*got, opts_.normalize(ref)));
      out[i].reward = threshold_ < 0 ? best : (best >= threshold_ ? 1.0 : 0.0);
    }
    return out;
  }

 private:
  std::string where_, name_;
  TextMatchOptions opts_;
  double threshold_ = -1;
};

}  // namespace

RewardPtr make_fuzzy_reward(const Json& spec, const std::string& where) {
  return std::make_unique<FuzzyReward>(spec, where);
}

}  // namespace tandem::reward
