// See normalizer.h. Semantics follow the Rust tokenizers crate: Strip removes Rust-whitespace,
// Prepend only touches non-empty text, Replace with a regex pattern replaces every match.
#include "tokenizer/normalizer.h"

#include <utf8proc.h>

#include <cstdlib>
#include <vector>

#include "tokenizer/component_json.h"
#include "tokenizer/pattern.h"
#include "tokenizer/unicode.h"

namespace tandem::tokenizer {

namespace {
std::string normalize_run(std::string_view s, int opts) {
  utf8proc_uint8_t* out = nullptr;
  const auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()), utf8proc_ssize_t(s.size()), &out,
                              utf8proc_option_t(opts));
  if (n < 0) return std::string(s);  // invalid UTF-8 cannot come from a JSON string; keep the text as is
  std::string r(reinterpret_cast<char*>(out), size_t(n));
  std::free(out);
  return r;
}
}  // namespace

// Only the non-ASCII runs (with the ASCII character just before each, which a following combining
// mark may compose with) go through utf8proc. This is exact for all four forms: an ASCII character
// never changes, is a starter, and is never the second half of a composition, so cutting before one
// cannot change the result.
std::string unicode_normalize(const std::string& s, const std::string& form) {
  int opts = UTF8PROC_STABLE;
  if (form == "NFC") opts |= UTF8PROC_COMPOSE;
  else if (form == "NFD") opts |= UTF8PROC_DECOMPOSE;
  else if (form == "NFKC") opts |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
  else opts |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
  size_t first = 0;
  while (first < s.size() && static_cast<unsigned char>(s[first]) < 0x80) ++first;
  if (first == s.size()) return s;
  std::string out;
  out.reserve(s.size() + 16);
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i;
    while (j < s.size() && static_cast<unsigned char>(s[j]) < 0x80) ++j;
    if (j == s.size()) {
      out.append(s, i, j - i);
      break;
    }
    const size_t start = j > i ? j - 1 : j;
    out.append(s, i, start - i);
    size_t k = j;
    while (k < s.size() && static_cast<unsigned char>(s[k]) >= 0x80) ++k;
    out += normalize_run(std::string_view(s).substr(start, k - start), opts);
    i = k;
  }
  return out;
}

namespace {

class UnicodeForm : public Normalizer {
 public:
  explicit UnicodeForm(std::string f) : form_(std::move(f)) {}
  void normalize(std::string& s) const override { s = unicode_normalize(s, form_); }

 private:
  std::string form_;
};

class Lowercase : public Normalizer {
 public:
  void normalize(std::string& s) const override {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
      const uint32_t cp = utf8_next(s, i);
      if (cp == 0x130) out += "i\xCC\x87";  // the one code point whose lowercase is two (Rust char::to_lowercase)
      else utf8_append(out, to_lower(cp));
    }
    s.swap(out);
  }
};

class Strip : public Normalizer {
 public:
  Strip(bool l, bool r) : left_(l), right_(r) {}
  void normalize(std::string& s) const override {
    size_t b = 0, e = s.size();
    if (left_) {
      while (b < e) {
        size_t i = b;
        if (!is_whitespace(utf8_next(s, i))) break;
        b = i;
      }
    }
    if (right_) {
      while (e > b) {
        size_t k = e - 1;
        while (k > b && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
        size_t i = k;
        if (!is_whitespace(utf8_next(s, i))) break;
        e = k;
      }
    }
    s = s.substr(b, e - b);
  }

 private:
  bool left_, right_;
};

class Replace : public Normalizer {
 public:
  Replace(Pattern p, std::string content) : pattern_(std::move(p)), content_(std::move(content)) {}
  void normalize(std::string& s) const override { s = replace_all(pattern_, content_, s); }

 private:
  Pattern pattern_;
  std::string content_;
};

class Prepend : public Normalizer {
 public:
  explicit Prepend(std::string p) : prefix_(std::move(p)) {}
  void normalize(std::string& s) const override {
    if (!s.empty()) s.insert(0, prefix_);
  }

 private:
  std::string prefix_;
};

// BERT's cleanup: drop control characters, map whitespace to ' ', optionally space out CJK,
// strip accents (NFD then drop Mn) and lowercase.
class Bert : public Normalizer {
 public:
  Bert(bool clean, bool cjk, bool strip_accents, bool lower)
      : clean_(clean), cjk_(cjk), strip_(strip_accents), lower_(lower) {}
  void normalize(std::string& s) const override {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
      const uint32_t cp = utf8_next(s, i);
      if (clean_) {
        if (cp == 0 || cp == 0xFFFD) continue;
        const auto c = utf8proc_category(utf8proc_int32_t(cp));
        const bool ws = is_whitespace(cp);
        if (!ws && cp != '\t' && cp != '\n' && cp != '\r' &&
            (c == UTF8PROC_CATEGORY_CC || c == UTF8PROC_CATEGORY_CF || c == UTF8PROC_CATEGORY_CN ||
             c == UTF8PROC_CATEGORY_CO))
          continue;
        if (ws) {
          out.push_back(' ');
          continue;
        }
      }
      const bool is_cjk = (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
                          (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
                          (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
                          (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
      if (cjk_ && is_cjk) {
        out.push_back(' ');
        utf8_append(out, cp);
        out.push_back(' ');
      } else {
        utf8_append(out, cp);
      }
    }
    if (strip_) {
      const std::string d = unicode_normalize(out, "NFD");
      out.clear();
      for (size_t i = 0; i < d.size();) {
        const uint32_t cp = utf8_next(d, i);
        if (utf8proc_category(utf8proc_int32_t(cp)) != UTF8PROC_CATEGORY_MN) utf8_append(out, cp);
      }
    }
    if (lower_) Lowercase().normalize(out);
    s.swap(out);
  }

 private:
  bool clean_, cjk_, strip_, lower_;
};

// Drops every mark (Mn, Mc, Me: the crate's is_combining_mark) without decomposing first:
// StripAccents is meant to follow NFD/NFKD. (BertNormalizer's accent stripping drops Mn only.)
class StripMarks : public Normalizer {
 public:
  void normalize(std::string& s) const override {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
      const uint32_t cp = utf8_next(s, i);
      const auto c = utf8proc_category(utf8proc_int32_t(cp));
      if (c != UTF8PROC_CATEGORY_MN && c != UTF8PROC_CATEGORY_MC && c != UTF8PROC_CATEGORY_ME) utf8_append(out, cp);
    }
    s.swap(out);
  }
};

class Sequence : public Normalizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<Normalizer>> v) : items_(std::move(v)) {}
  void normalize(std::string& s) const override {
    for (const auto& n : items_) n->normalize(s);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> items_;
};

}  // namespace

std::unique_ptr<Normalizer> make_normalizer(const Json& j, const std::string& where, const std::string& origin) {
  if (j.is_null()) return nullptr;
  const std::string type = component_type(j, where, origin);
  if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD") return std::make_unique<UnicodeForm>(type);
  if (type == "Lowercase") return std::make_unique<Lowercase>();
  if (type == "Strip")
    return std::make_unique<Strip>(json_bool_or(j, "strip_left", true, where, origin),
                                   json_bool_or(j, "strip_right", true, where, origin));
  if (type == "StripAccents") return std::make_unique<StripMarks>();
  if (type == "Replace")
    return std::make_unique<Replace>(parse_pattern(json_field(j, "pattern", where, origin), where + ".pattern", origin),
                                     json_string(j, "content", where, origin));
  if (type == "Prepend") return std::make_unique<Prepend>(json_string(j, "prepend", where, origin));
  if (type == "BertNormalizer") {
    const bool lower = json_bool_or(j, "lowercase", true, where, origin);
    // strip_accents: null means "follow lowercase", as in BERT.
    const bool strip = json_bool_or(j, "strip_accents", lower, where, origin);
    return std::make_unique<Bert>(json_bool_or(j, "clean_text", true, where, origin),
                                  json_bool_or(j, "handle_chinese_chars", true, where, origin), strip, lower);
  }
  if (type == "Sequence") {
    const Json& arr = json_field(j, "normalizers", where, origin);
    if (!arr.is_array())
      throw Error(where + ".normalizers", cat("expected an array, got ", json_type_name(arr), " (", origin, ")"));
    std::vector<std::unique_ptr<Normalizer>> v;
    for (size_t k = 0; k < arr.size(); ++k) {
      auto n = make_normalizer(arr[k], cat(where, ".normalizers[", k, "]"), origin);
      if (n) v.push_back(std::move(n));
    }
    return std::make_unique<Sequence>(std::move(v));
  }
  if (type == "Precompiled" || type == "Nmt")
    throw Error(where + ".type", cat("normalizer type \"", type, "\" (SentencePiece charsmap) is not supported by "
                                     "Tandem yet (", origin, ")"));
  throw Error(where + ".type", cat("unknown normalizer type, expected one of NFC, NFD, NFKC, NFKD, Lowercase, Strip, "
                                   "StripAccents, Replace, Prepend, BertNormalizer, Sequence, got \"", type, "\" (",
                                   origin, ")"));
}

}  // namespace tandem::tokenizer
