// What exact and fuzzy matching share: how a completion and a reference column are turned into
// the two strings compared (optional extraction regex, trimming, case folding, whitespace runs),
// and the normalised edit-distance similarity.
// Not here: the scores (exact_match.cpp, fuzzy_match.cpp).
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "reward/regex.h"
#include "reward/reward.h"

namespace tandem::reward {

// Keys read: column ("answer"), extract (a regex; its group 1, or the whole match, is the
// completion's answer; no match scores as a miss), strip (true), case_sensitive (true),
// collapse_whitespace (false). The caller validates the key set.
struct TextMatchOptions {
  std::string column = "answer";
  std::shared_ptr<RewardRegex> extract;
  bool strip = true, case_sensitive = true, collapse_whitespace = false;

  static TextMatchOptions from_spec(const Json& spec, const std::string& where);
  // The completion's text to compare; nullopt when extract finds nothing.
  std::optional<std::string> completion_text(const std::string& completion) const;
  std::string normalize(std::string_view s) const;
};

// 1 - levenshtein(a, b) / max(|a|, |b|) over Unicode code points (an invalid UTF-8 byte counts as
// one unit); 1 for two empty strings.
double edit_similarity(std::string_view a, std::string_view b);

}  // namespace tandem::reward
