// Text preparation and edit-distance similarity for exact and fuzzy matching (see match_text.h).
#include "reward/match_text.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "reward/spec.h"

namespace tandem::reward {

namespace {

bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Code points of s; a byte that does not start a valid sequence becomes 0x110000 + byte.
std::vector<uint32_t> code_points(std::string_view s) {
  std::vector<uint32_t> out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    int n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = n > 0 && i + n <= s.size();
    uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1f) : n == 3 ? (c & 0x0f) : (c & 0x07);
    for (int k = 1; ok && k < n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      ok = (d >> 6) == 2;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (ok) {
      out.push_back(cp);
      i += n;
    } else {
      out.push_back(0x110000u + c);
      i += 1;
    }
  }
  return out;
}

}  // namespace

TextMatchOptions TextMatchOptions::from_spec(const Json& spec, const std::string& where) {
  TextMatchOptions o;
  o.column = json_string_or(spec, "column", "answer", where, "reward config");
  const std::string pattern = json_string_or(spec, "extract", "", where, "reward config");
  if (!pattern.empty()) o.extract = std::make_shared<RewardRegex>(pattern, RegexFlags{.dotall = true}, where + ".extract");
  o.strip = json_bool_or(spec, "strip", true, where, "reward config");
  o.case_sensitive = json_bool_or(spec, "case_sensitive", true, where, "reward config");
  o.collapse_whitespace = json_bool_or(spec, "collapse_whitespace", false, where, "reward config");
  return o;
}

std::optional<std::string> TextMatchOptions::completion_text(const std::string& completion) const {
  if (!extract) return normalize(completion);
  auto got = extract->first_capture(completion);
  if (!got) return std::nullopt;
  return normalize(*got);
}

std::string TextMatchOptions::normalize(std::string_view s) const {
  std::string out;
  out.reserve(s.size());
  bool in_space = false;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (collapse_whitespace && is_space(c)) {
      if (!in_space) out += ' ';
      in_space = true;
      continue;
    }
    in_space = false;
    out += case_sensitive ? ch : static_cast<char>(c < 0x80 ? std::tolower(c) : c);  // ASCII folding only
  }
  if (strip) {
    size_t b = 0, e = out.size();
    while (b < e && is_space(static_cast<unsigned char>(out[b]))) ++b;
    while (e > b && is_space(static_cast<unsigned char>(out[e - 1]))) --e;
    out = out.substr(b, e - b);
  }
  return out;
}

double edit_similarity(std::string_view a_text, std::string_view b_text) {
  const auto a = code_points(a_text), b = code_points(b_text);
  if (a.empty() && b.empty()) return 1.0;
  // Two-row Wagner-Fischer over the shorter string.
  const auto& s = a.size() < b.size() ? a : b;
  const auto& l = a.size() < b.size() ? b : a;
  std::vector<size_t> prev(s.size() + 1), cur(s.size() + 1);
  for (size_t j = 0; j <= s.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= l.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= s.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (l[i - 1] == s[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return 1.0 - double(prev[s.size()]) / double(l.size());
}

}  // namespace tandem::reward
