// Math answer extraction, number parsing and equivalence (see math_answer.h for the rules).
// A hand-written scanner rather than regexes: the grammar needs brace matching (\frac{\frac{1}{2}}{3},
// \boxed{\{1,2\}}) and a sign rule that looks at the previous character.
#include "reward/math_answer.h"

#include <cctype>
#include <cmath>
#include <cstdlib>

namespace tandem::reward {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && is_space(s[b])) ++b;
  while (e > b && is_space(s[e - 1])) --e;
  return std::string(s.substr(b, e - b));
}

bool starts_with_at(std::string_view s, size_t i, std::string_view w) { return s.substr(i, w.size()) == w; }

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  if (s.find(from) == std::string::npos) return;
  std::string out;  // built anew: in-place replace() trips GCC 12's -Wrestrict false positive
  size_t start = 0;
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, start)) {
    out.append(s, start, p - start);
    out.append(to);
    start = p + from.size();
  }
  out.append(s, start, std::string::npos);
  s = std::move(out);
}

// Index of the '}' closing the '{' at open, skipping escaped \{ and \}; npos when unbalanced.
size_t match_brace(std::string_view s, size_t open) {
  int depth = 0;
  for (size_t i = open; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == '{' || s[i + 1] == '}')) {
      ++i;
    } else if (s[i] == '{') {
      ++depth;
    } else if (s[i] == '}' && --depth == 0) {
      return i;
    }
  }
  return std::string_view::npos;
}

// \text{cm} -> " cm ": the content survives as plain text (units are stripped later, words kept
// for string comparison), and the spaces keep "5\text{cm}" from reading as "5cm".
void unwrap_command(std::string& s, std::string_view cmd) {
  for (size_t p = s.find(cmd); p != std::string::npos; p = s.find(cmd, p)) {
    size_t q = p + cmd.size();
    if (q < s.size() && is_alpha(s[q])) {  // a longer command name, e.g. \textbf when looking for \text
      p = q;
      continue;
    }
    while (q < s.size() && is_space(s[q])) ++q;
    const size_t close = q < s.size() && s[q] == '{' ? match_brace(s, q) : std::string::npos;
    if (close == std::string::npos) {
      s.erase(p, cmd.size());
      continue;
    }
    s = s.substr(0, p) + " " + s.substr(q + 1, close - q - 1) + " " + s.substr(close + 1);
  }
}

// Decorations that never change the value: spacing, sizing, $, %, degrees, text wrappers.
std::string clean_answer(std::string_view in) {
  std::string s(in);
  replace_all(s, "\xe2\x88\x92", "-");         // U+2212 minus sign
  replace_all(s, "\xc2\xa0", " ");             // no-break space
  replace_all(s, "\xc3\x97", "\\times ");      // U+00D7 multiplication sign
  replace_all(s, "\xc2\xb0", "");              // degree sign
  for (std::string_view cmd : {"\\textbf", "\\textit", "\\textrm", "\\textnormal", "\\text", "\\mathrm", "\\mathbf",
                               "\\mbox", "\\operatorname"})
    unwrap_command(s, cmd);
  for (std::string_view w : {"\\displaystyle", "\\left", "\\right", "\\!", "\\,", "\\;", "\\:", "\\qquad", "\\quad",
                             "\\\\", "^{\\circ}", "^\\circ", "\\circ", "\\$", "$", "\\%", "%"})
    replace_all(s, w, "");
  replace_all(s, "\\ ", " ");
  replace_all(s, "\\dfrac", "\\frac");
  replace_all(s, "\\tfrac", "\\frac");
  replace_all(s, "{,}", ",");
  s = trim(s);
  while (!s.empty() && (s.back() == '.' || is_space(s.back()))) s.pop_back();
  while (s.size() >= 2 && s.front() == '{' && match_brace(s, 0) == s.size() - 1) s = trim(s.substr(1, s.size() - 2));
  // "x = 5", "k=\frac{1}{2}": the value is the right-hand side of a single '=' after a plain name.
  const size_t eq = s.find('=');
  if (eq != std::string::npos && s.find('=', eq + 1) == std::string::npos) {
    const std::string lhs = trim(std::string_view(s).substr(0, eq));
    bool name = !lhs.empty() && (is_alpha(lhs[0]) || lhs[0] == '\\');
    for (char c : lhs) name = name && (is_alpha(c) || is_digit(c) || c == '_' || c == '\\' || c == '{' || c == '}');
    if (name) s = trim(std::string_view(s).substr(eq + 1));
  }
  return s;
}

// ",ddd" at i, not followed by a fourth digit: a thousands separator, not a list "1,2" or "1,2345".
bool thousands_group_at(std::string_view s, size_t i) {
  return i + 3 < s.size() && s[i] == ',' && is_digit(s[i + 1]) && is_digit(s[i + 2]) && is_digit(s[i + 3]) &&
         (i + 4 >= s.size() || !is_digit(s[i + 4]));
}

// num/den reduced into out when both fit in int64, else a double-only value.
MathNumber make_ratio(__int128 num, __int128 den, double value) {
  MathNumber r;
  r.value = value;
  if (den == 0) return r;
  if (den < 0) num = -num, den = -den;
  __int128 a = num < 0 ? -num : num, b = den;
  while (b != 0) {
    const __int128 t = a % b;
    a = b;
    b = t;
  }
  if (a > 1) num /= a, den /= a;
  const __int128 lim = INT64_MAX;
  if (num > lim || num < -lim || den > lim) return r;
  r.exact = true;
  r.num = int64_t(num);
  r.den = int64_t(den);
  return r;
}

class NumberParser {
 public:
  explicit NumberParser(std::string_view s, int depth = 0) : s_(s), depth_(depth) {}

  // A whole answer: one value, then nothing or a unit after a space.
  std::optional<MathNumber> answer() {
    auto v = signed_value();
    if (!v) return std::nullopt;
    const size_t before = i_;
    skip_spaces();
    if (i_ == s_.size()) return v;
    if (i_ == before || !is_alpha(s_[i_])) return std::nullopt;
    return unit_tail() ? v : std::nullopt;
  }

  // A complete group such as the {...} of \frac: one value and nothing else.
  std::optional<MathNumber> whole() {
    auto v = signed_value();
    skip_spaces();
    if (!v || i_ != s_.size()) return std::nullopt;
    return v;
  }

 private:
  void skip_spaces() {
    while (i_ < s_.size() && is_space(s_[i_])) ++i_;
  }

  // Unit words: letters, spaces, '.', '/', and powers such as ^2 or ^{3}; no other digits.
  bool unit_tail() {
    while (i_ < s_.size()) {
      const char c = s_[i_];
      if (is_alpha(c) || is_space(c) || c == '.' || c == '/') {
        ++i_;
      } else if (c == '^') {
        ++i_;
        const bool brace = i_ < s_.size() && s_[i_] == '{';
        if (brace) ++i_;
        if (i_ >= s_.size() || !is_digit(s_[i_])) return false;
        while (i_ < s_.size() && is_digit(s_[i_])) ++i_;
        if (brace && (i_ >= s_.size() || s_[i_++] != '}')) return false;
      } else {
        return false;
      }
    }
    return true;
  }

  std::optional<MathNumber> signed_value() {
    skip_spaces();
    bool neg = false;
    while (i_ < s_.size() && (s_[i_] == '-' || s_[i_] == '+')) {
      neg ^= s_[i_] == '-';
      ++i_;
      skip_spaces();
    }
    auto v = unsigned_value();
    if (!v) return std::nullopt;
    const size_t save = i_;
    skip_spaces();
    if (i_ < s_.size() && s_[i_] == '/') {
      ++i_;
      auto d = signed_value();
      if (!d || d->value == 0) return std::nullopt;
      v = divide(*v, *d);
    } else {
      i_ = save;
    }
    if (neg) {
      v->num = -v->num;
      v->value = -v->value;
      if (!v->decimal.empty() && v->decimal != "0")
        v->decimal[0] == '-' ? v->decimal.erase(0, 1) : v->decimal.insert(0, 1, '-');
    }
    return v;
  }

  static MathNumber divide(const MathNumber& a, const MathNumber& b) {
    if (a.exact && b.exact) return make_ratio(__int128(a.num) * b.den, __int128(a.den) * b.num, a.value / b.value);
    MathNumber r;
    r.value = a.value / b.value;
    return r;
  }

  std::optional<MathNumber> unsigned_value() {
    if (starts_with_at(s_, i_, "\\frac")) return frac();
    return literal();
  }

  // \frac{a}{b} with any values inside, or the shorthand \frac12.
  std::optional<MathNumber> frac() {
    i_ += 5;
    if (depth_ > 16) return std::nullopt;  // model output can nest without end; no real answer does
    std::optional<MathNumber> parts[2];
    for (auto& part : parts) {
      skip_spaces();
      if (i_ >= s_.size()) return std::nullopt;
      if (s_[i_] == '{') {
        const size_t close = match_brace(s_, i_);
        if (close == std::string_view::npos) return std::nullopt;
        part = NumberParser(s_.substr(i_ + 1, close - i_ - 1), depth_ + 1).whole();
        i_ = close + 1;
      } else if (is_digit(s_[i_])) {
        part = make_ratio(s_[i_] - '0', 1, s_[i_] - '0');
        ++i_;
      }
      if (!part) return std::nullopt;
    }
    if (parts[1]->value == 0) return std::nullopt;
    return divide(*parts[0], *parts[1]);
  }

  // 12, 1,234,567, 3.25, .5, 5., with an optional exponent: 1e-3, 2\times10^{3}, 2 \cdot 10^3.
  std::optional<MathNumber> literal() {
    std::string int_digits, frac_digits;
    while (i_ < s_.size() && is_digit(s_[i_])) int_digits += s_[i_++];
    // Thousands separators: only groups of exactly three digits after a 1-3 digit head.
    if (!int_digits.empty() && int_digits.size() <= 3)
      while (thousands_group_at(s_, i_)) {
        int_digits.append(s_.substr(i_ + 1, 3));
        i_ += 4;
      }
    if (i_ < s_.size() && s_[i_] == '.') {
      const size_t dot = i_++;
      while (i_ < s_.size() && is_digit(s_[i_])) frac_digits += s_[i_++];
      if (int_digits.empty() && frac_digits.empty()) i_ = dot;
    }
    if (int_digits.empty() && frac_digits.empty()) return std::nullopt;
    const int64_t exp10 = exponent();

    std::string digits = int_digits + frac_digits;
    const size_t nz = digits.find_first_not_of('0');
    digits = nz == std::string::npos ? "0" : digits.substr(nz);
    std::string decimal = digits;
    int64_t dec_exp = exp10 - int64_t(frac_digits.size());
    while (decimal.size() > 1 && decimal.back() == '0') decimal.pop_back(), ++dec_exp;
    decimal = decimal == "0" ? "0" : decimal + "e" + std::to_string(dec_exp);
    const std::string text = (int_digits.empty() ? "0" : int_digits) + "." + frac_digits + "e" + std::to_string(exp10);
    const double value = std::strtod(text.c_str(), nullptr);
    if (digits.size() > 18) {
      MathNumber r;
      r.value = value;
      r.decimal = decimal;
      return r;
    }
    __int128 num = std::stoll(digits), den = 1;
    int64_t e = exp10 - int64_t(frac_digits.size());
    bool fits = true;  // a power of ten past int64 cannot reduce back into it
    for (; e > 0 && num != 0 && fits; --e) fits = (num *= 10) <= __int128(INT64_MAX) * 10;
    for (; e < 0 && fits; ++e) fits = (den *= 10) <= __int128(INT64_MAX) * 10;
    MathNumber r;
    r.value = value;
    if (fits) r = make_ratio(num, den, value);
    r.decimal = decimal;
    return r;
  }

  // The power of ten after a literal, 0 when there is none (the scan position is then unchanged).
  int64_t exponent() {
    const size_t save = i_;
    auto digits_after = [&](bool braces) -> std::optional<int64_t> {
      if (braces && i_ < s_.size() && s_[i_] == '{') {
        const size_t close = match_brace(s_, i_);
        if (close == std::string_view::npos) return std::nullopt;
        auto v = NumberParser(s_.substr(i_ + 1, close - i_ - 1), depth_ + 1).whole();
        i_ = close + 1;
        if (!v || !v->exact || v->den != 1 || v->num > 400 || v->num < -400) return std::nullopt;
        return v->num;
      }
      bool neg = false;
      if (i_ < s_.size() && (s_[i_] == '-' || s_[i_] == '+')) neg = s_[i_++] == '-';
      int64_t e = 0;
      size_t n = 0;
      while (i_ < s_.size() && is_digit(s_[i_]) && n < 4) e = e * 10 + (s_[i_++] - '0'), ++n;
      if (n == 0) return std::nullopt;
      return neg ? -e : e;
    };
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (auto e = digits_after(false)) return *e;
      i_ = save;
      return 0;
    }
    skip_spaces();
    for (std::string_view times : {"\\times", "\\cdot", "*"}) {
      if (!starts_with_at(s_, i_, times)) continue;
      i_ += times.size();
      skip_spaces();
      if (starts_with_at(s_, i_, "10^")) {
        i_ += 3;
        if (auto e = digits_after(true)) return *e;
      }
      break;
    }
    i_ = save;
    return 0;
  }

  std::string_view s_;
  size_t i_ = 0;
  int depth_ = 0;
};

std::optional<std::string> last_boxed(std::string_view text) {
  size_t end = text.size();
  while (true) {
    const size_t b = text.rfind("\\boxed", end);
    const size_t f = text.rfind("\\fbox", end);
    size_t p;
    size_t len;
    if (b == std::string_view::npos && f == std::string_view::npos) return std::nullopt;
    if (f == std::string_view::npos || (b != std::string_view::npos && b > f)) {
      p = b, len = 6;
    } else {
      p = f, len = 5;
    }
    size_t q = p + len;
    const size_t after_name = q;
    while (q < text.size() && is_space(text[q])) ++q;
    if (q < text.size() && text[q] == '{') {
      const size_t close = match_brace(text, q);
      if (close != std::string_view::npos) return trim(text.substr(q + 1, close - q - 1));
    } else if (q > after_name && q < text.size()) {  // "\boxed 5": one token up to a space or '$'
      size_t e = q;
      while (e < text.size() && !is_space(text[e]) && text[e] != '$') ++e;
      return std::string(text.substr(q, e - q));
    }
    if (p == 0) return std::nullopt;
    end = p - 1;
  }
}

std::optional<std::string> after_hashes(std::string_view text) {
  const size_t p = text.rfind("####");
  if (p == std::string_view::npos) return std::nullopt;
  std::string_view rest = text.substr(p + 4);
  rest = rest.substr(0, rest.find('\n'));
  std::string t = trim(rest);
  if (t.empty()) return std::nullopt;
  return t;
}

// The last number in running text: \frac{..}{..}, or [-]digits[,ddd]*[.digits][/digits]. '-' is a
// sign only where it cannot be a binary minus (not after a letter, digit or closing bracket).
std::optional<std::string> last_number(std::string_view t) {
  std::optional<std::string> last;
  size_t i = 0;
  while (i < t.size()) {
    for (std::string_view f : {"\\frac", "\\dfrac", "\\tfrac"}) {
      if (!starts_with_at(t, i, f)) continue;
      size_t q = i + f.size();
      bool ok = true;
      for (int part = 0; part < 2 && ok; ++part) {
        while (q < t.size() && is_space(t[q])) ++q;
        if (q < t.size() && t[q] == '{') {
          const size_t c = match_brace(t, q);
          ok = c != std::string_view::npos;
          q = ok ? c + 1 : q;
        } else {
          ok = q < t.size() && is_digit(t[q]);
          ++q;
        }
      }
      if (ok) {
        size_t s = i;
        if (s > 0 && t[s - 1] == '-' && (s == 1 || !(std::isalnum((unsigned char)t[s - 2]) || t[s - 2] == ')'))) --s;
        last = std::string(t.substr(s, q - s));
        i = q;
        goto next;
      }
    }
    if (is_digit(t[i]) || (t[i] == '.' && i + 1 < t.size() && is_digit(t[i + 1]))) {
      size_t s = i, e = i;
      while (e < t.size() && is_digit(t[e])) ++e;
      if (e - s <= 3)
        while (thousands_group_at(t, e)) e += 4;
      if (e + 1 < t.size() && t[e] == '.' && is_digit(t[e + 1])) {
        ++e;
        while (e < t.size() && is_digit(t[e])) ++e;
      }
      if (e + 1 < t.size() && t[e] == '/' && is_digit(t[e + 1])) {
        ++e;
        while (e < t.size() && is_digit(t[e])) ++e;
      }
      if (s > 0 && t[s - 1] == '-' && (s == 1 || !(std::isalnum((unsigned char)t[s - 2]) || t[s - 2] == ')'))) --s;
      last = std::string(t.substr(s, e - s));
      i = e;
      continue;
    }
    ++i;
  next:;
  }
  return last;
}

}  // namespace

std::optional<std::string> extract_math_answer(std::string_view completion, bool boxed_only) {
  if (auto b = last_boxed(completion)) return b;
  if (boxed_only) return std::nullopt;
  if (auto h = after_hashes(completion)) return h;
  return last_number(completion);
}

std::string reference_math_answer(std::string_view reference) {
  if (auto b = last_boxed(reference)) return *b;
  if (auto h = after_hashes(reference)) return *h;
  std::string whole = trim(reference);
  if (parse_math_number(whole) || whole.size() <= 40 || whole.find(' ') == std::string::npos) return whole;
  if (auto n = last_number(whole)) return *n;
  return whole;
}

std::optional<MathNumber> parse_math_number(std::string_view answer) {
  const std::string s = clean_answer(answer);
  if (s.empty()) return std::nullopt;
  return NumberParser(s).answer();
}

std::string normalize_math_text(std::string_view answer) {
  std::string s = clean_answer(answer), out;
  for (char c : s)
    if (!is_space(c)) out += c;
  if (out.size() == 3 && out[0] == '(' && out[2] == ')' && is_alpha(out[1])) out = out.substr(1, 1);
  return out;
}

bool math_answers_equal(std::string_view a, std::string_view b, double rel_tol) {
  const auto na = parse_math_number(a), nb = parse_math_number(b);
  if (na && nb) {
    if (!na->decimal.empty() && !nb->decimal.empty()) return na->decimal == nb->decimal;
    if (na->exact && nb->exact) return na->num == nb->num && na->den == nb->den;
    const double x = na->value, y = nb->value;
    if (!std::isfinite(x) || !std::isfinite(y)) return false;
    return std::fabs(x - y) <= rel_tol * std::max(std::fabs(x), std::fabs(y));
  }
  if (na || nb) return false;
  const std::string sa = normalize_math_text(a), sb = normalize_math_text(b);
  return !sa.empty() && sa == sb;
}

}  // namespace tandem::reward
