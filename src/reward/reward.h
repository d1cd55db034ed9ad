// A reward function: scores completions of prompts. Every scorer of online RL (verifiable math
// answers, format regexes, matches against a column, external programs, sandboxed code tests,
// reward models) is one of these, so the RL loop calls them all the same way.
// Not here: advantages (objective layer), generation (rollout layer).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/json.h"

namespace tandem::reward {

struct RewardRequest {
  std::string prompt;       // rendered prompt text
  std::string completion;   // generated text (special tokens removed)
  Json columns;             // the example's other dataset columns (answer, tests, ...)
  int64_t completion_tokens = -1;  // generated token count; -1 = unknown (length rewards then need unit: chars)
};

struct RewardScore {
  double reward = 0;
  std::map<std::string, double> components;  // named parts, logged as reward/<name>
};

class RewardFunction {
 public:
  virtual ~RewardFunction() = default;
  virtual std::string name() const = 0;
  // One score per request, in order. Batched so external programs and reward models can amortise.
  virtual std::vector<RewardScore> score(std::span<const RewardRequest> requests) = 0;
};

// Builds a reward function from its config entry, e.g. {"type": "math"} or
// {"type": "weighted", "terms": [...]}; where names the config key in errors. A bare string
// "math" means {"type": "math"}. Kinds and keys: docs/rewards.md. Unknown keys are errors.
// A function instance is not thread-safe (program rewards hold a subprocess): one per loop.
std::unique_ptr<RewardFunction> make_reward(const Json& spec, const std::string& where);

}  // namespace tandem::reward
