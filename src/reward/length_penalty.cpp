// {"type": "length"}: a penalty (<= 0) for long completions, added to other rewards via "weighted".
//   mode "overlong" (DAPO, arXiv 2503.14476, overlong reward shaping; algorithms.md "DAPO"):
//     L_exp = max_length - cache_length;  r = 0 if L <= L_exp,  -(L - L_exp) / cache_length * factor
//     up to L = max_length, and -factor beyond it (the paper's value; verl's min(...,0) only differs
//     there, where its generation cap makes L > max_length impossible).
//   mode "linear": r = max(-penalty * max(0, L - target), min), penalty defaults to 1/target and
//     min to -1 (so the penalty reaches -1 at twice the target).
// L counts generated tokens (RewardRequest::completion_tokens; unit "tokens", the default) or
// Unicode code points of the completion text (unit "chars").
// Not here: masking truncated samples (DAPO's "overlong filtering" is a loss-side choice).
#include <algorithm>

#include "reward/spec.h"

namespace tandem::reward {

namespace {

int64_t count_code_points(const std::string& s) {
  int64_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

class LengthReward : public RewardFunction {
 public:
  LengthReward(const Json& spec, const std::string& where) : where_(where) {
    check_keys(spec, where, {"mode", "unit", "target", "penalty", "min", "max_length", "cache_length", "factor"});
    name_ = spec_name(spec, where, "length");
    overlong_ = json_enum_or(spec, "mode", "overlong", {"overlong", "linear"}, where) == "overlong";
    chars_ = json_enum_or(spec, "unit", "tokens", {"tokens", "chars"}, where) == "chars";
    auto reject = [&](std::initializer_list<const char*> keys, const char* mode) {
      for (const char* k : keys)
        if (spec.contains(k)) throw Error(where + "." + k, cat("not a key of mode '", mode, "'"));
    };
    if (overlong_) {
      reject({"target", "penalty", "min"}, "overlong");
      max_length_ = json_int(spec, "max_length", where, "reward config");
      cache_length_ = json_int(spec, "cache_length", where, "reward config");
      factor_ = json_number_or(spec, "factor", 1.0, where, "reward config");
      if (max_length_ <= 0) throw Error(where + ".max_length", cat("must be > 0, got ", max_length_));
      if (cache_length_ <= 0 || cache_length_ > max_length_)
        throw Error(where + ".cache_length", cat("must be in (0, max_length=", max_length_, "], got ", cache_length_));
      if (!(factor_ >= 0)) throw Error(where + ".factor", cat("must be >= 0, got ", factor_));
    } else {
      reject({"max_length", "cache_length", "factor"}, "linear");
      target_ = json_int(spec, "target", where, "reward config");
      if (target_ <= 0) throw Error(where + ".target", cat("must be > 0, got ", target_));
      penalty_ = json_number_or(spec, "penalty", 1.0 / double(target_), where, "reward config");
      min_ = json_number_or(spec, "min", -1.0, where, "reward config");
      if (!(penalty_ >= 0)) throw Error(where + ".penalty", cat("must be >= 0, got ", penalty_));
      if (!(min_ <= 0)) throw Error(where + ".min", cat("must be <= 0, got ", min_));
    }
  }

  std::string name() const override { return name_; }

  std::vector<RewardScore> score(std::span<const RewardRequest> requests) override {
    std::vector<RewardScore> out(requests.size());
    for (size_t i = 0; i < requests.size(); ++i) {
      const RewardRequest& r = requests[i];
      if (!chars_ && r.completion_tokens < 0)
        throw Error(where_ + ".unit", "the caller gave no token count for this completion; use unit: chars");
      const double len = double(chars_ ? count_code_points(r.completion) : r.completion_tokens);
      double v;
      if (overlong_) {
        const double expected = double(max_length_ - cache_length_);
        v = len <= expected ? 0.0 : len > double(max_length_) ? -factor_ : -(len - expected) / double(cache_length_) * factor_;
      } else {
        v = std::max(-penalty_ * std::max(0.0, len - double(target_)), min_);
      }
      out[i].reward = v;
    }
    return out;
  }

 private:
  std::string where_, name_;
  bool overlong_ = true, chars_ = false;
  int64_t max_length_ = 0, cache_length_ = 0, target_ = 0;
  double factor_ = 1, penalty_ = 0, min_ = -1;
};

}  // namespace

RewardPtr make_length_reward(const Json& spec, const std::string& where) {
  return std::make_unique<LengthReward>(spec, where);
}

}  // namespace tandem::reward
