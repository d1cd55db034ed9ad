// See pattern.h. PCRE2 replaces the Oniguruma engine of the Rust library; both are backtracking
// engines with the same semantics for the patterns tokenizers use (\p{L}, (?i:...), (?!\S)).
#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/pattern.h"

#include <pcre2.h>

#include <algorithm>

#include "core/error.h"
#include "tokenizer/unicode.h"

namespace tandem::tokenizer {

namespace {
// Per-thread match state: PCRE2 match data and a JIT stack big enough for long whitespace runs.
struct MatchState {
  pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
  pcre2_jit_stack* stack = pcre2_jit_stack_create(32 * 1024, 4 * 1024 * 1024, nullptr);
  pcre2_match_context* ctx = pcre2_match_context_create(nullptr);
  MatchState() { pcre2_jit_stack_assign(ctx, nullptr, stack); }
  ~MatchState() {
    pcre2_match_context_free(ctx);
    pcre2_jit_stack_free(stack);
    pcre2_match_data_free(data);
  }
};
MatchState& match_state() {
  thread_local MatchState s;
  return s;
}
}  // namespace

std::string onig_word_classes(const std::string& p) {
  // Oniguruma's Unicode \w, probed against the Rust crate: letters, Nl, marks, decimal digits,
  // connector punctuation and the Other_Alphabetic symbols (circled and squared letters); no other
  // No, no join controls. Outside a bracket class Oniguruma also takes the Latin-1 table's
  // superscripts and fractions as word characters; inside one ([^\w\s]) it does not.
  static const std::string kWord =
      "\\p{L}\\p{Nl}\\p{M}\\p{Nd}\\p{Pc}\\x{24B6}-\\x{24E9}\\x{1F130}-\\x{1F149}\\x{1F150}-\\x{1F169}"
      "\\x{1F170}-\\x{1F189}";
  static const std::string kWordOutside = kWord + "\\x{B2}\\x{B3}\\x{B9}\\x{BC}-\\x{BE}";
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      const char n = p[++i];
      if (n == 'w') out += in_class ? kWord : cat("[", kWordOutside, "]");
      else if (n == 'W' && !in_class) out += cat("[^", kWordOutside, "]");
      else {
        out += c;
        out += n;
      }
      continue;
    }
    if (c == '[' && !in_class) {
      in_class = true;
      out += c;
      // A ']' right after '[' or '[^' is a literal member, not the end of the class.
      if (i + 1 < p.size() && p[i + 1] == '^') out += p[++i];
      if (i + 1 < p.size() && p[i + 1] == ']') out += p[++i];
      continue;
    }
    if (c == ']' && in_class) in_class = false;
    out += c;
  }
  return out;
}

Regex::Regex(const std::string& pattern, const std::string& where, const std::string& origin) : source_(pattern) {
  int err = 0;
  PCRE2_SIZE off = 0;
  const std::string translated = onig_word_classes(pattern);
  auto* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()), translated.size(),
                             PCRE2_UTF | PCRE2_UCP, &err, &off, nullptr);
  if (!code) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof(msg));
    throw Error(where, cat("invalid regex at offset ", off, ": ", reinterpret_cast<char*>(msg), ", pattern ", pattern,
                           " (", origin, ")"));
  }
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter if JIT is unavailable
  code_ = code;
}

Regex::~Regex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

void Regex::find_all(std::string_view s, std::vector<std::pair<size_t, size_t>>& out) const {
  auto& st = match_state();
  auto* code = static_cast<pcre2_code*>(code_);
  size_t start = 0;
  while (start <= s.size()) {
    // Input comes from std::string/JSON and is valid UTF-8 by construction, so skip PCRE2's re-check.
    const int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(s.data()), s.size(), start, PCRE2_NO_UTF_CHECK,
                               st.data, st.ctx);
    if (rc < 0) {
      if (rc == PCRE2_ERROR_NOMATCH) break;
      throw Error("tokenizer.regex", cat("regex match failed with PCRE2 error ", rc, ", pattern ", source_));
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(st.data);
    out.emplace_back(ov[0], ov[1]);
    if (ov[1] == ov[0]) {
      if (ov[0] >= s.size()) break;
      start = ov[0] + utf8_len(static_cast<unsigned char>(s[ov[0]]));
    } else {
      start = ov[1];
    }
  }
}

void Pattern::spans(std::string_view s, std::vector<Span>& out) const {
  out.clear();
  std::vector<std::pair<size_t, size_t>> m;
  if (regex) {
    regex->find_all(s, m);
  } else if (predicate) {
    for (size_t i = 0; i < s.size();) {
      const size_t b = i;
      const uint32_t cp = utf8_next(s, i);
      if (predicate(cp)) m.emplace_back(b, i);
    }
  } else if (!literal.empty()) {
    for (size_t p = s.find(literal); p != std::string_view::npos; p = s.find(literal, p + literal.size()))
      m.emplace_back(p, p + literal.size());
  }
  size_t prev = 0;
  for (auto [b, e] : m) {
    if (prev != b) out.push_back({prev, b, invert});
    out.push_back({b, e, !invert});
    prev = e;
  }
  if (prev != s.size()) out.push_back({prev, s.size(), invert});
}

std::string replace_all(const Pattern& p, const std::string& content, const std::string& s) {
  if (p.literal.empty() && !p.regex && !p.predicate) return s;
  if (!p.regex && !p.predicate && s.find(p.literal) == std::string::npos) return s;
  Pattern q = p;
  q.invert = false;
  std::vector<Span> sp;
  q.spans(s, sp);
  std::string out;
  out.reserve(s.size());
  for (const auto& x : sp) {
    if (x.is_match) out += content;
    else out.append(s, x.begin, x.end - x.begin);
  }
  return out;
}

SplitBehavior parse_split_behavior(const std::string& name, const std::string& where, const std::string& origin) {
  if (name == "Removed") return SplitBehavior::kRemoved;
  if (name == "Isolated") return SplitBehavior::kIsolated;
  if (name == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (name == "Contiguous") return SplitBehavior::kContiguous;
  throw Error(where, cat("unknown split behavior, expected one of Removed, Isolated, MergedWithPrevious, "
                         "MergedWithNext, Contiguous, got \"", name, "\" (", origin, ")"));
}

void apply_behavior(const std::vector<Span>& spans, SplitBehavior b, std::vector<std::pair<size_t, size_t>>& out) {
  out.clear();
  switch (b) {
    case SplitBehavior::kIsolated:
      for (const auto& sp : spans) out.emplace_back(sp.begin, sp.end);
      break;
    case SplitBehavior::kRemoved:
      for (const auto& sp : spans)
        if (!sp.is_match) out.emplace_back(sp.begin, sp.end);
      break;
    case SplitBehavior::kMergedWithPrevious: {
      bool prev_match = false;
      for (const auto& sp : spans) {
        if (sp.is_match && !prev_match && !out.empty()) out.back().second = sp.end;
        else out.emplace_back(sp.begin, sp.end);
        prev_match = sp.is_match;
      }
      break;
    }
    case SplitBehavior::kMergedWithNext: {
      bool prev_match = false;  // "previous" in reverse order, i.e. the span to the right
      for (size_t k = spans.size(); k-- > 0;) {
        const auto& sp = spans[k];
        if (sp.is_match && !prev_match && !out.empty()) out.back().first = sp.begin;
        else out.emplace_back(sp.begin, sp.end);
        prev_match = sp.is_match;
      }
      std::reverse(out.begin(), out.end());
      break;
    }
    case SplitBehavior::kContiguous: {
      bool prev_match = false;
      for (const auto& sp : spans) {
        if (sp.is_match == prev_match && !out.empty()) out.back().second = sp.end;
        else out.emplace_back(sp.begin, sp.end);
        prev_match = sp.is_match;
      }
      break;
    }
  }
  std::erase_if(out, [](const auto& r) { return r.first == r.second; });
}

}  // namespace tandem::tokenizer
