// See pre_tokenizer.h. Every component is "split each piece, then keep order", so they share
// split_pieces(); the per-type logic is the pattern and behaviour, as in the Rust crate.
#include "tokenizer/pre_tokenizer.h"

#include "tokenizer/component_json.h"
#include "tokenizer/pattern.h"
#include "tokenizer/unicode.h"

namespace tandem::tokenizer {

void byte_level_encode(std::string_view s, std::string& out) {
  // UTF-8 of each byte's alphabet character, built once: {length, byte0, byte1}.
  struct Table {
    unsigned char enc[256][3];
    Table() {
      for (int b = 0; b < 256; ++b) {
        const uint32_t cp = byte_to_char(uint8_t(b));
        if (cp < 0x80) {
          enc[b][0] = 1;
          enc[b][1] = uint8_t(cp);
        } else {  // all alphabet code points are below U+0800: two bytes
          enc[b][0] = 2;
          enc[b][1] = uint8_t(0xC0 | (cp >> 6));
          enc[b][2] = uint8_t(0x80 | (cp & 0x3F));
        }
      }
    }
  };
  static const Table t;
  const size_t base = out.size();
  out.resize(base + 2 * s.size());
  char* p = out.data() + base;
  for (unsigned char b : s) {
    const unsigned char* e = t.enc[b];
    p[0] = char(e[1]);
    p[1] = char(e[2]);
    p += e[0];
  }
  out.resize(size_t(p - out.data()));
}

namespace {

void split_pieces(std::vector<Piece>& pieces, const Pattern& p, SplitBehavior b) {
  std::vector<Piece> out;
  out.reserve(pieces.size() * 4);
  std::vector<Span> spans;
  std::vector<std::pair<size_t, size_t>> ranges;
  for (auto& pc : pieces) {
    p.spans(pc.text, spans);
    apply_behavior(spans, b, ranges);
    for (auto [s, e] : ranges) out.push_back({pc.text.substr(s, e - s), pc.at_start && s == 0});
  }
  pieces.swap(out);
}

const char* kGpt2Regex =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

class ByteLevel : public PreTokenizer {
 public:
  ByteLevel(bool add_prefix_space, bool use_regex, const std::string& origin) : add_prefix_space_(add_prefix_space) {
    if (use_regex) pattern_.regex = std::make_shared<Regex>(kGpt2Regex, "tokenizer.pre_tokenizer", origin);
  }
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    if (add_prefix_space_)
      for (auto& pc : pieces)
        if (pc.text.empty() || pc.text[0] != ' ') pc.text = " " + pc.text;
    if (pattern_.regex) split_pieces(pieces, pattern_, SplitBehavior::kIsolated);
    std::string tmp;
    for (auto& pc : pieces) {
      tmp.clear();
      byte_level_encode(pc.text, tmp);
      pc.text.swap(tmp);
    }
  }

 private:
  bool add_prefix_space_;
  Pattern pattern_;
};

class Split : public PreTokenizer {
 public:
  Split(Pattern p, SplitBehavior b) : pattern_(std::move(p)), behavior_(b) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override { split_pieces(pieces, pattern_, behavior_); }

 private:
  Pattern pattern_;
  SplitBehavior behavior_;
};

enum class PrependScheme { kAlways, kFirst, kNever };

class Metaspace : public PreTokenizer {
 public:
  Metaspace(uint32_t replacement, PrependScheme scheme, bool split) : scheme_(scheme), split_(split) {
    utf8_append(rep_, replacement);
    pattern_.literal = rep_;
  }
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    Pattern space;
    space.literal = " ";
    for (auto& pc : pieces) {
      pc.text = replace_all(space, rep_, pc.text);
      const bool starts = pc.text.compare(0, rep_.size(), rep_) == 0;
      if (!starts && (scheme_ == PrependScheme::kAlways || (scheme_ == PrependScheme::kFirst && pc.at_start)))
        pc.text.insert(0, rep_);
    }
    if (split_) split_pieces(pieces, pattern_, SplitBehavior::kMergedWithNext);
  }

 private:
  std::string rep_;
  PrependScheme scheme_;
  bool split_;
  Pattern pattern_;
};

class Sequence : public PreTokenizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<PreTokenizer>> v) : items_(std::move(v)) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    for (const auto& p : items_) p->pre_tokenize(pieces);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> items_;
};

// Applies a fixed list of (pattern, behaviour) splits.
class Splits : public PreTokenizer {
 public:
  void add(Pattern p, SplitBehavior b) { steps_.emplace_back(std::move(p), b); }
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    for (const auto& [p, b] : steps_) split_pieces(pieces, p, b);
  }

 private:
  std::vector<std::pair<Pattern, SplitBehavior>> steps_;
};

Pattern predicate(bool (*f)(uint32_t)) {
  Pattern p;
  p.predicate = f;
  return p;
}

}  // namespace

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const Json& j, const std::string& where, const std::string& origin) {
  if (j.is_null()) return nullptr;
  const std::string type = component_type(j, where, origin);
  if (type == "ByteLevel")
    return std::make_unique<ByteLevel>(json_bool_or(j, "add_prefix_space", true, where, origin),
                                       json_bool_or(j, "use_regex", true, where, origin), origin);
  if (type == "Split") {
    Pattern p = parse_pattern(json_field(j, "pattern", where, origin), where + ".pattern", origin);
    p.invert = json_bool_or(j, "invert", false, where, origin);
    return std::make_unique<Split>(
        std::move(p), parse_split_behavior(json_string(j, "behavior", where, origin), where + ".behavior", origin));
  }
  if (type == "Metaspace") {
    PrependScheme scheme = PrependScheme::kAlways;
    if (j.contains("prepend_scheme") && !j["prepend_scheme"].is_null()) {
      const std::string s = json_string(j, "prepend_scheme", where, origin);
      if (s == "always") scheme = PrependScheme::kAlways;
      else if (s == "first") scheme = PrependScheme::kFirst;
      else if (s == "never") scheme = PrependScheme::kNever;
      else
        throw Error(where + ".prepend_scheme",
                    cat("expected one of always, first, never, got \"", s, "\" (", origin, ")"));
    } else if (!json_bool_or(j, "add_prefix_space", true, where, origin)) {
      scheme = PrependScheme::kNever;  // the older spelling of the same setting
    }
    return std::make_unique<Metaspace>(json_char(j, "replacement", where, origin), scheme,
                                       json_bool_or(j, "split", true, where, origin));
  }
  if (type == "Digits") {
    auto s = std::make_unique<Splits>();
    s->add(predicate(is_numeric), json_bool_or(j, "individual_digits", false, where, origin)
                                      ? SplitBehavior::kIsolated
                                      : SplitBehavior::kContiguous);
    return s;
  }
  if (type == "Punctuation") {
    auto s = std::make_unique<Splits>();
    s->add(predicate(is_punctuation),
           parse_split_behavior(json_string_or(j, "behavior", "Isolated", where, origin), where + ".behavior", origin));
    return s;
  }
  if (type == "Whitespace") {
    auto s = std::make_unique<Splits>();
    Pattern p;
    // The crate compiles this one with Rust's regex crate, not Oniguruma: \w is UTS #18's
    // (Alphabetic, marks, decimal digits, connector punctuation, join controls) and \s White_Space.
    p.regex = std::make_shared<Regex>(
        "[\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}]+"
        "|[^\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}\\p{White_Space}]+",
        where, origin);
    p.invert = true;
    s->add(std::move(p), SplitBehavior::kRemoved);
    return s;
  }
  if (type == "WhitespaceSplit" || type == "BertPreTokenizer") {
    auto s = std::make_unique<Splits>();
    s->add(predicate(is_whitespace), SplitBehavior::kRemoved);
    if (type == "BertPreTokenizer") s->add(predicate(is_punctuation), SplitBehavior::kIsolated);
    return s;
  }
  if (type == "Sequence") {
    const Json& arr = json_array(j, "pretokenizers", where, origin);
    std::vector<std::unique_ptr<PreTokenizer>> v;
    for (size_t k = 0; k < arr.size(); ++k) {
      auto p = make_pre_tokenizer(arr[k], cat(where, ".pretokenizers[", k, "]"), origin);
      if (p) v.push_back(std::move(p));
    }
    return std::make_unique<Sequence>(std::move(v));
  }
  throw Error(where + ".type", cat("unknown pre_tokenizer type, expected one of ByteLevel, Split, Metaspace, Digits, "
                                   "Punctuation, Whitespace, WhitespaceSplit, BertPreTokenizer, Sequence, got \"",
                                   type, "\" (", origin, ")"));
}

}  // namespace tandem::tokenizer
