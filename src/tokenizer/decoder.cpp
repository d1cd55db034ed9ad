// See decoder.h.
#include "tokenizer/decoder.h"

#include "tokenizer/component_json.h"
#include "tokenizer/pattern.h"
#include "tokenizer/unicode.h"

namespace tandem::tokenizer {

namespace {

// Joins the tokens and maps byte-level characters back to bytes; a token with any character outside
// the alphabet contributes its raw UTF-8 instead (added tokens such as "<|im_start|>" pass through).
class ByteLevel : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string bytes;
    for (const auto& t : tokens) {
      const size_t mark = bytes.size();
      bool ok = true;
      for (size_t i = 0; i < t.size() && ok;) {
        const int b = char_to_byte(utf8_next(t, i));
        if (b < 0) ok = false;
        else bytes.push_back(char(b));
      }
      if (!ok) {
        bytes.resize(mark);
        bytes += t;
      }
    }
    tokens.assign(1, utf8_lossy(bytes));
  }
};

enum class Scheme { kAlways, kFirst, kNever };

class Metaspace : public Decoder {
 public:
  Metaspace(uint32_t rep, bool prepend) : rep_(rep), prepend_(prepend) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t k = 0; k < tokens.size(); ++k) {
      std::string out;
      const std::string& t = tokens[k];
      for (size_t i = 0; i < t.size();) {
        const uint32_t cp = utf8_next(t, i);
        if (cp == rep_) {
          if (!(k == 0 && prepend_)) out.push_back(' ');
        } else {
          utf8_append(out, cp);
        }
      }
      tokens[k].swap(out);
    }
  }

 private:
  uint32_t rep_;
  bool prepend_;
};

// Runs of "<0xXX>" tokens become the UTF-8 text they spell, or one U+FFFD per byte when invalid.
class ByteFallback : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    std::string bytes;
    size_t nbytes = 0;
    auto flush = [&] {
      if (nbytes == 0) return;
      if (utf8_valid(bytes)) out.push_back(bytes);
      else
        for (size_t k = 0; k < nbytes; ++k) out.push_back("\xEF\xBF\xBD");
      bytes.clear();
      nbytes = 0;
    };
    for (auto& t : tokens) {
      int byte = -1;
      if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>') {
        char* end = nullptr;
        const std::string hex = t.substr(3, 2);
        const long v = std::strtol(hex.c_str(), &end, 16);
        if (end == hex.c_str() + 2) byte = int(v);
      }
      if (byte >= 0) {
        bytes.push_back(char(byte));
        ++nbytes;
      } else {
        flush();
        out.push_back(std::move(t));
      }
    }
    flush();
    tokens.swap(out);
  }
};

class Fuse : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string all;
    for (const auto& t : tokens) all += t;
    tokens.assign(1, std::move(all));
  }
};

class Strip : public Decoder {
 public:
  Strip(uint32_t c, size_t start, size_t stop) : c_(c), start_(start), stop_(stop) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (auto& t : tokens) {
      std::vector<uint32_t> cps;
      for (size_t i = 0; i < t.size();) cps.push_back(utf8_next(t, i));
      size_t b = 0, e = cps.size();
      while (b < start_ && b < e && cps[b] == c_) ++b;
      for (size_t k = 0; k < stop_ && e > b && cps[e - 1] == c_; ++k) --e;
      std::string out;
      for (size_t k = b; k < e; ++k) utf8_append(out, cps[k]);
      t.swap(out);
    }
  }

 private:
  uint32_t c_;
  size_t start_, stop_;
};

class Replace : public Decoder {
 public:
  Replace(Pattern p, std::string content) : p_(std::move(p)), content_(std::move(content)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (auto& t : tokens) t = replace_all(p_, content_, t);
  }

 private:
  Pattern p_;
  std::string content_;
};

std::string cleanup_spaces(std::string s) {
  static const std::pair<const char*, const char*> kRules[] = {
      {" .", "."},     {" ?", "?"},     {" !", "!"},     {" ,", ","},       {" ' ", "'"},     {" n't", "n't"},
      {" 'm", "'m"},   {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (auto [from, to] : kRules) {
    Pattern p;
    p.literal = from;
    s = replace_all(p, to, s);
  }
  return s;
}

class WordPiece : public Decoder {
 public:
  WordPiece(std::string prefix, bool cleanup) : prefix_(std::move(prefix)), cleanup_(cleanup) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t k = 0; k < tokens.size(); ++k) {
      auto& t = tokens[k];
      if (k != 0) {
        if (t.compare(0, prefix_.size(), prefix_) == 0) t.erase(0, prefix_.size());
        else t = " " + t;
      }
      if (cleanup_) t = cleanup_spaces(t);
    }
  }

 private:
  std::string prefix_;
  bool cleanup_;
};

class BpeSuffix : public Decoder {
 public:
  explicit BpeSuffix(std::string suffix) : suffix_(std::move(suffix)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    Pattern p;
    p.literal = suffix_;
    for (size_t k = 0; k < tokens.size(); ++k)
      tokens[k] = replace_all(p, k + 1 == tokens.size() ? "" : " ", tokens[k]);
  }

 private:
  std::string suffix_;
};

class Sequence : public Decoder {
 public:
  explicit Sequence(std::vector<std::unique_ptr<Decoder>> v) : items_(std::move(v)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (const auto& d : items_) d->decode_chain(tokens);
  }

 private:
  std::vector<std::unique_ptr<Decoder>> items_;
};

}  // namespace

std::unique_ptr<Decoder> make_decoder(const Json& j, const std::string& where, const std::string& origin) {
  if (j.is_null()) return nullptr;
  const std::string type = component_type(j, where, origin);
  if (type == "ByteLevel") return std::make_unique<ByteLevel>();
  if (type == "Metaspace") {
    bool prepend = json_bool_or(j, "add_prefix_space", true, where, origin);
    if (j.contains("prepend_scheme") && j["prepend_scheme"].is_string())
      prepend = j["prepend_scheme"].get<std::string>() != "never";
    return std::make_unique<Metaspace>(json_char(j, "replacement", where, origin), prepend);
  }
  if (type == "ByteFallback") return std::make_unique<ByteFallback>();
  if (type == "Fuse") return std::make_unique<Fuse>();
  if (type == "Strip")
    return std::make_unique<Strip>(json_char(j, "content", where, origin),
                                   size_t(json_int_or(j, "start", 0, where, origin)),
                                   size_t(json_int_or(j, "stop", 0, where, origin)));
  if (type == "Replace")
    return std::make_unique<Replace>(parse_pattern(json_field(j, "pattern", where, origin), where + ".pattern", origin),
                                     json_string(j, "content", where, origin));
  if (type == "WordPiece")
    return std::make_unique<WordPiece>(json_string_or(j, "prefix", "##", where, origin),
                                       json_bool_or(j, "cleanup", true, where, origin));
  if (type == "BPEDecoder") return std::make_unique<BpeSuffix>(json_string_or(j, "suffix", "</w>", where, origin));
  if (type == "Sequence") {
    const Json& arr = json_array(j, "decoders", where, origin);
    std::vector<std::unique_ptr<Decoder>> v;
    for (size_t k = 0; k < arr.size(); ++k) {
      auto d = make_decoder(arr[k], cat(where, ".decoders[", k, "]"), origin);
      if (d) v.push_back(std::move(d));
    }
    return std::make_unique<Sequence>(std::move(v));
  }
  throw Error(where + ".type", cat("unknown decoder type, expected one of ByteLevel, Metaspace, ByteFallback, Fuse, "
                                   "Strip, Replace, WordPiece, BPEDecoder, Sequence, got \"", type, "\" (", origin,
                                   ")"));
}

}  // namespace tandem::tokenizer
