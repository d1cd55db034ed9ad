// Finding the delimiters a Split-like component cuts on: a PCRE2 regex (UTF + UCP + JIT), a literal
// string, or a per-character predicate; and applying HF's SplitDelimiterBehavior to the matches.
// Not here: what the pieces are used for (pre_tokenizer.cpp, normalizer.cpp).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::tokenizer {

struct Span {
  size_t begin = 0, end = 0;
  bool is_match = false;
};

// A compiled PCRE2 pattern, shareable between threads (match data is per thread).
class Regex {
 public:
  // where/origin name the JSON field in the compile error.
  Regex(const std::string& pattern, const std::string& where, const std::string& origin);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;
  // Appends the non-overlapping matches of s, left to right, as HF's find_iter does.
  void find_all(std::string_view s, std::vector<std::pair<size_t, size_t>>& out) const;
  const std::string& source() const { return source_; }

 private:
  std::string source_;
  void* code_ = nullptr;  // pcre2_code*
};

// Rewrites \w and \W into Oniguruma's Unicode word class (Alphabetic, marks, decimal digits,
// connector punctuation, join controls); PCRE2 10.42 with UCP means letters, all numbers and '_'.
// (\W inside a character class is left alone; no known tokenizer uses it.)
std::string onig_word_classes(const std::string& pattern);

// The thing to split on. Exactly one of regex / literal / predicate is set.
struct Pattern {
  std::shared_ptr<Regex> regex;
  std::string literal;
  bool (*predicate)(uint32_t) = nullptr;
  bool invert = false;
  // All of s covered by alternating match / non-match spans (empty spans dropped).
  void spans(std::string_view s, std::vector<Span>& out) const;
};

enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };
SplitBehavior parse_split_behavior(const std::string& name, const std::string& where, const std::string& origin);

// Replaces every match of p in s by content (p.invert is ignored).
std::string replace_all(const Pattern& p, const std::string& content, const std::string& s);

// Groups spans per behavior into output ranges [begin, end) of s (empty ranges dropped).
void apply_behavior(const std::vector<Span>& spans, SplitBehavior b, std::vector<std::pair<size_t, size_t>>& out);

}  // namespace tandem::tokenizer
