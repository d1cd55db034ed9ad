// PCRE2 wrapper for reward patterns (see regex.h). JIT when the library supports it; the match data
// is made per call, so one compiled pattern is safe to share between threads.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "reward/regex.h"

#include <pcre2.h>

#include "core/error.h"

namespace tandem::reward {

namespace {

std::string pcre2_message(int code) {
  PCRE2_UCHAR buf[256];
  pcre2_get_error_message(code, buf, sizeof(buf));
  return reinterpret_cast<const char*>(buf);
}

struct MatchData {
  pcre2_match_data* md;
  explicit MatchData(const pcre2_code* code) : md(pcre2_match_data_create_from_pattern(code, nullptr)) {
    TD_ASSERT(md != nullptr, "pcre2_match_data_create_from_pattern failed (out of memory)");
  }
  ~MatchData() { pcre2_match_data_free(md); }
};

// Length of the valid UTF-8 sequence at s[i], 0 when invalid (overlongs and surrogates included,
// as PCRE2 rejects them).
size_t utf8_len(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned c = b(i);
  if (c < 0x80) return 1;
  size_t n;
  unsigned lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) n = 2;
  else if (c >= 0xE0 && c <= 0xEF) n = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
  else if (c >= 0xF0 && c <= 0xF4) n = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
  else return 0;
  if (i + n > s.size() || b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k)
    if ((b(i + k) & 0xC0) != 0x80) return 0;
  return n;
}

// s with every byte that starts no valid sequence replaced by U+FFFD; s itself (no copy) if valid.
std::string_view valid_utf8(std::string_view s, std::string& buf) {
  size_t i = 0;
  while (i < s.size()) {
    const size_t n = utf8_len(s, i);
    if (n == 0) break;
    i += n;
  }
  if (i == s.size()) return s;
  buf.assign(s.substr(0, i));
  while (i < s.size()) {
    const size_t n = utf8_len(s, i);
    if (n == 0) {
      buf += "\xEF\xBF\xBD";
      ++i;
    } else {
      buf.append(s.substr(i, n));
      i += n;
    }
  }
  return buf;
}

// >= 0 on a match (the number of captured pairs + 1, or 0 if the ovector was too small), < 0 otherwise.
int run_match(const pcre2_code* code, std::string_view s, pcre2_match_data* md) {
  return pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(s.data()), s.size(), 0, PCRE2_NO_UTF_CHECK, md, nullptr);
}

}  // namespace

RewardRegex::RewardRegex(const std::string& pattern, RegexFlags flags, const std::string& where) : source_(pattern) {
  uint32_t opts = PCRE2_UTF | PCRE2_UCP;
  if (flags.dotall) opts |= PCRE2_DOTALL;
  if (flags.multiline) opts |= PCRE2_MULTILINE;
  if (flags.caseless) opts |= PCRE2_CASELESS;
  int err = 0;
  PCRE2_SIZE off = 0;
  pcre2_code* code =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), opts, &err, &off, nullptr);
  if (!code)
    throw Error(where, cat("cannot compile regex at offset ", off, ": ", pcre2_message(err), "; pattern ", pattern));
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // failure just means the interpreter is used
  code_ = code;
}

RewardRegex::~RewardRegex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

bool RewardRegex::search(std::string_view text) const {
  std::string buf;
  const std::string_view s = valid_utf8(text, buf);
  const auto* code = static_cast<const pcre2_code*>(code_);
  MatchData m(code);
  return run_match(code, s, m.md) >= 0;
}

std::optional<std::string> RewardRegex::first_capture(std::string_view text) const {
  std::string buf;
  const std::string_view s = valid_utf8(text, buf);
  const auto* code = static_cast<const pcre2_code*>(code_);
  MatchData m(code);
  const int rc = run_match(code, s, m.md);
  if (rc < 0) return std::nullopt;
  const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(m.md);
  uint32_t groups = 0;
  pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &groups);
  const int g = groups >= 1 ? 1 : 0;
  if (rc <= g || ov[2 * g] == PCRE2_UNSET) return std::string();  // group 1 took no part in the match
  return std::string(s.substr(ov[2 * g], ov[2 * g + 1] - ov[2 * g]));
}

}  // namespace tandem::reward
