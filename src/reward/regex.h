// A PCRE2 pattern as reward configs use it: compile once with the flags a config names (dotall,
// multiline, caseless), then test or capture on model output. Model output may hold invalid
// UTF-8 (a byte-level tokenizer can stop mid-character), so patterns are compiled with
// PCRE2_MATCH_INVALID_UTF: invalid bytes never match a character, they never make matching fail.
// Not here: the tokenizer's split patterns (tokenizer/pattern.h, Oniguruma semantics).
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace tandem::reward {

struct RegexFlags {
  bool dotall = false;     // '.' also matches newlines
  bool multiline = false;  // ^ and $ match at line breaks
  bool caseless = false;
};

class RewardRegex {
 public:
  // where names the config key in a compile error (with PCRE2's message and offset).
  RewardRegex(const std::string& pattern, RegexFlags flags, const std::string& where);
  ~RewardRegex();
  RewardRegex(const RewardRegex&) = delete;
  RewardRegex& operator=(const RewardRegex&) = delete;

  // True when the pattern matches somewhere in s (anchors in the pattern decide the rest).
  // A match that exceeds PCRE2's backtracking limits counts as no match.
  bool search(std::string_view s) const;
  // The text of capture group 1 of the first match (the whole match when the pattern has no
  // groups); nullopt when nothing matches.
  std::optional<std::string> first_capture(std::string_view s) const;
  const std::string& source() const { return source_; }

 private:
  std::string source_;
  void* code_ = nullptr;  // pcre2_code*
};

}  // namespace tandem::reward
