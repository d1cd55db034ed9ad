// {"type": "weighted", "terms": [{"type": "math", "weight": 1.0}, {"type": "format", "weight": 0.1}]}:
// reward = sum_k weight_k * r_k. Each term is any reward spec plus an optional "weight" (default 1).
// Components: every term's own (unweighted) reward under its name, and the term's components
// under "<name>/<component>", so logs show what each part contributed. Term names must be unique
// (give a "name" to tell two terms of one type apart).
// Not here: schedules of the weights over training (train layer).
#include <cmath>
#include <set>

#include "reward/spec.h"

namespace tandem::reward {

namespace {

class WeightedReward : public RewardFunction {
 public:
  WeightedReward(const Json& spec, const std::string& where) {
    check_keys(spec, where, {"terms"});
    name_ = spec_name(spec, where, "weighted");
    const Json& terms = json_field(spec, "terms", where, "reward config");
    if (!terms.is_array() || terms.empty())
      throw Error(where + ".terms", cat("expected a non-empty array of reward specs, got ", json_type_name(terms)));
    std::set<std::string> names;
    for (size_t k = 0; k < terms.size(); ++k) {
      const std::string w = cat(where, ".terms.", k);
      Json term = terms[k].is_string() ? Json{{"type", terms[k]}} : terms[k];
      if (!term.is_object()) throw Error(w, cat("expected a reward spec object, got ", json_type_name(term)));
      const double weight = json_number_or(term, "weight", 1.0, w, "reward config");
      if (!std::isfinite(weight)) throw Error(w + ".weight", "must be finite");
      term.erase("weight");
      auto fn = make_reward(term, w);
      if (!names.insert(fn->name()).second)
        throw Error(w + ".name", cat("two terms are named '", fn->name(), "'; give each a distinct \"name\""));
      terms_.push_back({weight, std::move(fn)});
    }
  }

  std::string name() const override { return name_; }

  std::vector<RewardScore> score(std::span<const RewardRequest> requests) override {
    std::vector<RewardScore> out(requests.size());
    for (const Term& t : terms_) {
      const std::vector<RewardScore> part = t.fn->score(requests);
      TD_ASSERT(part.size() == requests.size(), "reward '", t.fn->name(), "' returned ", part.size(), " scores for ",
                requests.size(), " requests");
      const std::string name = t.fn->name();
      for (size_t i = 0; i < requests.size(); ++i) {
        out[i].reward += t.weight * part[i].reward;
        out[i].components[name] = part[i].reward;
        for (const auto& [k, v] : part[i].components) out[i].components[name + "/" + k] = v;
      }
    }
    return out;
  }

 private:
  struct Term {
    double weight;
    RewardPtr fn;
  };
  std::string name_;
  std::vector<Term> terms_;
};

}  // namespace

RewardPtr make_weighted_reward(const Json& spec, const std::string& where) {
  return std::make_unique<WeightedReward>(spec, where);
}

}  // namespace tandem::reward
