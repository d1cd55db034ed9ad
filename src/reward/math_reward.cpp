// {"type": "math"}: 1 when the completion's final answer equals the reference answer in a dataset
// column, else 0 (both values configurable). The verification rules are in math_answer.h.
// Keys: column ("answer"; "solution" works too: its own \boxed{}/####/last number is taken),
// extract ("boxed_or_last" | "boxed"), rel_tol (1e-9, used when a value is not an exact rational),
// correct (1), incorrect (0; DAPO uses -1).
// Not here: partial credit, symbolic algebra.
#include "reward/math_answer.h"
#include "reward/spec.h"

namespace tandem::reward {

namespace {

class MathReward : public RewardFunction {
 public:
  MathReward(const Json& spec, const std::string& where) : where_(where) {
    check_keys(spec, where, {"column", "extract", "rel_tol", "correct", "incorrect"});
    name_ = spec_name(spec, where, "math");
    column_ = json_string_or(spec, "column", "answer", where, "reward config");
    boxed_only_ = json_enum_or(spec, "extract", "boxed_or_last", {"boxed_or_last", "boxed"}, where) == "boxed";
    rel_tol_ = json_number_or(spec, "rel_tol", 1e-9, where, "reward config");
    if (!(rel_tol_ >= 0 && rel_tol_ < 1)) throw Error(where + ".rel_tol", cat("must be in [0, 1), got ", rel_tol_));
    correct_ = json_number_or(spec, "correct", 1.0, where, "reward config");
    incorrect_ = json_number_or(spec, "incorrect", 0.0, where, "reward config");
  }

  std::string name() const override { return name_; }

  std::vector<RewardScore> score(std::span<const RewardRequest> requests) override {
    std::vector<RewardScore> out(requests.size());
    for (size_t i = 0; i < requests.size(); ++i) {
      const auto refs = column_strings(requests[i], column_, where_);
      const auto answer = extract_math_answer(requests[i].completion, boxed_only_);
      bool ok = false;
      if (answer)
        for (const std::string& ref : refs) ok = ok || math_answers_equal(*answer, reference_math_answer(ref), rel_tol_);
      out[i].reward = ok ? correct_ : incorrect_;
    }
    return out;
  }

 private:
  std::string where_, name_, column_;
  bool boxed_only_ = false;
  double rel_tol_ = 1e-9, correct_ = 1, incorrect_ = 0;
};

}  // namespace

RewardPtr make_math_reward(const Json& spec, const std::string& where) { return std::make_unique<MathReward>(spec, where); }

}  // namespace tandem::reward
