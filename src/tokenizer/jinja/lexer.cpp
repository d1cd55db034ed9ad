// Jinja lexer. The whitespace rules are jinja2's, restated:
//  - `{%-`/`{{-`/`{#-` strip all whitespace before the tag; `-%}`/`-}}`/`-#}` all after it.
//  - trim_blocks: a block or comment tag's closing `%}`/`#}` eats one following "\n" (not `+%}`).
//  - lstrip_blocks: spaces/tabs between a line start and `{%`/`{#` are dropped (not `{%+`, not `{{`).
//  - The source's newlines are normalised to "\n" first and one trailing newline is dropped.
//  - {% raw %}...{% endraw %} is text; its closing tag takes the same whitespace rules, its
//    opening tag's `%}` does not trim (jinja2 quirk kept).
// Inside a tag, `}}`/`%}` only closes it when no bracket is open, so `{{ {'a': {}} }}` works.
#include "tokenizer/jinja/lexer.h"

#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "tokenizer/jinja/value.h"

namespace tandem::tokenizer::jinja {

void template_error(const std::string& origin, int line, int col, const std::string& what) {
  throw Error("tokenizer.jinja", cat("line ", line, " column ", col, ": ", what, " (", origin, ")"));
}

const char* token_desc(Tok t) {
  switch (t) {
    case Tok::kText: return "text";
    case Tok::kVarBegin: return "'{{'";
    case Tok::kVarEnd: return "'}}'";
    case Tok::kBlockBegin: return "'{%'";
    case Tok::kBlockEnd: return "'%}'";
    case Tok::kName: return "name";
    case Tok::kString: return "string";
    case Tok::kInt: return "integer";
    case Tok::kFloat: return "float";
    case Tok::kOp: return "operator";
    case Tok::kEof: return "end of template";
  }
  return "?";
}

namespace {

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

class Lexer {
 public:
  Lexer(std::string src, const std::string& origin, const LexOptions& opt) : s_(std::move(src)), origin_(origin), opt_(opt) {
    line_starts_.push_back(0);
    for (size_t i = 0; i < s_.size(); ++i)
      if (s_[i] == '\n') line_starts_.push_back(i + 1);
  }

  std::vector<Token> run() {
    size_t pos = 0;
    bool line_starting = true;
    while (pos < s_.size()) {
      size_t p = find_tag(pos);
      std::string text = s_.substr(pos, (p == std::string::npos ? s_.size() : p) - pos);
      if (p == std::string::npos) {
        push_text(text, pos);
        break;
      }
      const char kind = s_[p + 1];
      size_t q = p + 2;
      char mod = 0;
      if (q < s_.size() && (s_[q] == '-' || (s_[q] == '+' && kind != '{'))) mod = s_[q++];
      if (mod == '-') {
        size_t e = text.size();
        while (e > 0 && is_ws(text[e - 1])) --e;
        text.resize(e);
      } else if (mod != '+' && kind != '{' && opt_.lstrip_blocks) {
        const size_t nl = text.rfind('\n');
        const size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
        if (l_pos > 0 || line_starting) {
          bool all_ws = true;
          for (size_t i = l_pos; i < text.size(); ++i) all_ws &= is_ws(text[i]);
          if (all_ws) text.resize(l_pos);
        }
      }
      push_text(text, pos);
      if (kind == '#') {
        pos = close_comment(p, q);
      } else if (kind == '%' && is_raw(q)) {
        pos = raw_block(p, q);
      } else {
        pos = tag(p, q, kind == '{');
      }
      line_starting = pos > 0 && s_[pos - 1] == '\n';
    }
    Token eof;
    eof.type = Tok::kEof;
    locate(eof, s_.size());
    out_.push_back(eof);
    return std::move(out_);
  }

 private:
  size_t find_tag(size_t from) const {
    for (size_t i = s_.find('{', from); i != std::string::npos && i + 1 < s_.size(); i = s_.find('{', i + 1)) {
      const char c = s_[i + 1];
      if (c == '{' || c == '%' || c == '#') return i;
    }
    return std::string::npos;
  }

  void locate(Token& t, size_t pos) const {
    size_t lo = 0, hi = line_starts_.size();
    while (hi - lo > 1) {
      const size_t mid = (lo + hi) / 2;
      (line_starts_[mid] <= pos ? lo : hi) = mid;
    }
    t.line = int(lo + 1);
    t.col = int(pos - line_starts_[lo] + 1);
  }

  [[noreturn]] void fail(size_t pos, const std::string& what) const {
    Token t;
    locate(t, pos);
    template_error(origin_, t.line, t.col, what);
  }

  void push_text(const std::string& text, size_t pos) {
    if (text.empty()) return;
    Token t;
    t.type = Tok::kText;
    t.text = text;
    locate(t, pos);
    out_.push_back(std::move(t));
  }

  // After the closing delimiter at e (its length n, modifier mod): where data resumes.
  size_t after_close(size_t e, size_t n, char mod, bool trims) const {
    size_t pos = e + n;
    if (mod == '-') {
      while (pos < s_.size() && is_ws(s_[pos])) ++pos;
    } else if (mod != '+' && trims && opt_.trim_blocks && pos < s_.size() && s_[pos] == '\n') {
      ++pos;
    }
    return pos;
  }

  size_t close_comment(size_t p, size_t q) {
    const size_t e = s_.find("#}", q);
    if (e == std::string::npos) fail(p, "comment opened here is never closed, expected '#}'");
    const char mod = (e > q && (s_[e - 1] == '-' || s_[e - 1] == '+')) ? s_[e - 1] : 0;
    return after_close(e, 2, mod, true);
  }

  bool is_raw(size_t q) const {
    size_t i = q;
    while (i < s_.size() && is_ws(s_[i])) ++i;
    if (s_.compare(i, 3, "raw") != 0 || (i + 3 < s_.size() && is_name_char(s_[i + 3]))) return false;
    i += 3;
    while (i < s_.size() && is_ws(s_[i])) ++i;
    if (i < s_.size() && s_[i] == '-') ++i;
    return s_.compare(i, 2, "%}") == 0;
  }

  size_t raw_block(size_t p, size_t q) {
    size_t i = s_.find("%}", q);
    const char open_mod = s_[i - 1] == '-' ? '-' : 0;
    size_t body = after_close(i, 2, open_mod, false);
    // Find `{%[-+]? endraw [-+]?%}`.
    for (size_t k = s_.find("{%", body); k != std::string::npos; k = s_.find("{%", k + 2)) {
      size_t j = k + 2;
      char mod = 0;
      if (j < s_.size() && (s_[j] == '-' || s_[j] == '+')) mod = s_[j++];
      while (j < s_.size() && is_ws(s_[j])) ++j;
      if (s_.compare(j, 6, "endraw") != 0) continue;
      j += 6;
      while (j < s_.size() && is_ws(s_[j])) ++j;
      char close_mod = 0;
      if (j < s_.size() && (s_[j] == '-' || s_[j] == '+')) close_mod = s_[j++];
      if (s_.compare(j, 2, "%}") != 0) continue;
      std::string text = s_.substr(body, k - body);
      if (mod == '-') {
        size_t e = text.size();
        while (e > 0 && is_ws(text[e - 1])) --e;
        text.resize(e);
      } else if (mod != '+' && opt_.lstrip_blocks) {
        const size_t nl = text.rfind('\n');
        if (nl != std::string::npos) {
          bool all_ws = true;
          for (size_t x = nl + 1; x < text.size(); ++x) all_ws &= is_ws(text[x]);
          if (all_ws) text.resize(nl + 1);
        }
      }
      push_text(text, body);
      return after_close(j, 2, close_mod, true);
    }
    fail(p, "'raw' block opened here is never closed, expected '{% endraw %}'");
  }

  size_t tag(size_t p, size_t q, bool is_var) {
    Token b;
    b.type = is_var ? Tok::kVarBegin : Tok::kBlockBegin;
    locate(b, p);
    out_.push_back(b);
    int depth = 0;
    size_t pos = q;
    const char* close = is_var ? "}}" : "%}";
    for (;;) {
      while (pos < s_.size() && is_ws(s_[pos])) ++pos;
      if (pos >= s_.size())
        fail(p, cat("tag opened here is never closed, expected '", close, "' before the end of the template"));
      if (depth == 0) {
        char mod = 0;
        size_t e = pos;
        if ((s_[e] == '-' || (s_[e] == '+' && !is_var)) && s_.compare(e + 1, 2, close) == 0) mod = s_[e++];
        if (s_.compare(e, 2, close) == 0) {
          Token t;
          t.type = is_var ? Tok::kVarEnd : Tok::kBlockEnd;
          locate(t, pos);
          out_.push_back(t);
          return after_close(e, 2, mod, !is_var);
        }
      }
      Token t;
      locate(t, pos);
      const char c = s_[pos];
      if (is_name_start(c)) {
        size_t e = pos;
        while (e < s_.size() && is_name_char(s_[e])) ++e;
        t.type = Tok::kName;
        t.text = s_.substr(pos, e - pos);
        pos = e;
      } else if (is_digit(c)) {
        pos = number(pos, t);
      } else if (c == '\'' || c == '"') {
        pos = string_literal(pos, t);
      } else {
        const size_t n = op_length(pos);
        if (n == 0) fail(pos, cat("unexpected character '", std::string(1, c), "' inside a tag"));
        t.type = Tok::kOp;
        t.text = s_.substr(pos, n);
        pos += n;
        if (t.text == "(" || t.text == "[" || t.text == "{") ++depth;
        if (t.text == ")" || t.text == "]" || t.text == "}") {
          if (depth == 0) fail(pos - 1, cat("unexpected '", t.text, "' with no opening bracket"));
          --depth;
        }
      }
      out_.push_back(std::move(t));
    }
  }

  // Length of the operator at pos, the two-character ones first (** // == != <= >=); 0 if none.
  size_t op_length(size_t pos) const {
    const char c = s_[pos], next = pos + 1 < s_.size() ? s_[pos + 1] : '\0';
    if ((c == '*' || c == '/') && next == c) return 2;
    if (next == '=' && (c == '=' || c == '!' || c == '<' || c == '>')) return 2;
    return c != '\0' && std::strchr("+-*/%~<>=()[]{},.:|", c) ? 1 : 0;
  }

  size_t number(size_t pos, Token& t) const {
    size_t e = pos;
    auto digits = [&]() {
      while (e < s_.size() && (is_digit(s_[e]) || (s_[e] == '_' && e + 1 < s_.size() && is_digit(s_[e + 1])))) ++e;
    };
    digits();
    bool is_float = false;
    if (e + 1 < s_.size() && s_[e] == '.' && is_digit(s_[e + 1])) {
      ++e;
      digits();
      is_float = true;
    }
    if (e < s_.size() && (s_[e] == 'e' || s_[e] == 'E')) {
      size_t x = e + 1;
      if (x < s_.size() && (s_[x] == '+' || s_[x] == '-')) ++x;
      if (x < s_.size() && is_digit(s_[x])) {
        e = x;
        digits();
        is_float = true;
      }
    }
    std::string lit;
    for (size_t i = pos; i < e; ++i)
      if (s_[i] != '_') lit += s_[i];
    if (is_float) {
      t.type = Tok::kFloat;
      t.fval = std::strtod(lit.c_str(), nullptr);  // out of range gives +-inf, as Python's float()
    } else {
      t.type = Tok::kInt;
      try {
        t.ival = std::stoll(lit);
      } catch (const std::exception&) {
        fail(pos, cat("integer literal ", lit, " does not fit in 64 bits"));
      }
    }
    t.text = lit;
    return e;
  }

  // Python unicode-escape decoding of the literal body, as jinja2 does; unknown escapes stay.
  size_t string_literal(size_t pos, Token& t) const {
    const char q = s_[pos];
    std::string v;
    size_t i = pos + 1;
    auto hexval = [&](size_t at, int n) -> uint32_t {
      uint32_t cp = 0;
      for (int k = 0; k < n; ++k) {
        const char h = at + k < s_.size() ? s_[at + k] : 0;
        int d = (h >= '0' && h <= '9') ? h - '0' : (h >= 'a' && h <= 'f') ? h - 'a' + 10 : (h >= 'A' && h <= 'F') ? h - 'A' + 10 : -1;
        if (d < 0) fail(at, "truncated \\x/\\u escape in string literal");
        cp = cp * 16 + uint32_t(d);
      }
      return cp;
    };
    for (;;) {
      if (i >= s_.size()) fail(pos, "string literal opened here is never closed");
      const char c = s_[i];
      if (c == q) break;
      if (c != '\\') {
        v += c;
        ++i;
        continue;
      }
      const char e = i + 1 < s_.size() ? s_[i + 1] : 0;
      i += 2;
      switch (e) {
        case 'n': v += '\n'; break;
        case 't': v += '\t'; break;
        case 'r': v += '\r'; break;
        case '\\': v += '\\'; break;
        case '\'': v += '\''; break;
        case '"': v += '"'; break;
        case 'a': v += '\a'; break;
        case 'b': v += '\b'; break;
        case 'f': v += '\f'; break;
        case 'v': v += '\v'; break;
        case '\n': break;  // line continuation
        case 'x': utf8_append(v, hexval(i, 2)); i += 2; break;
        case 'u': utf8_append(v, hexval(i, 4)); i += 4; break;
        case 'U': utf8_append(v, hexval(i, 8)); i += 8; break;
        default:
          if (e >= '0' && e <= '7') {
            uint32_t cp = uint32_t(e - '0');
            for (int k = 0; k < 2 && i < s_.size() && s_[i] >= '0' && s_[i] <= '7'; ++k) cp = cp * 8 + uint32_t(s_[i++] - '0');
            utf8_append(v, cp);
          } else {
            v += '\\';
            v += e;
          }
      }
    }
    t.type = Tok::kString;
    t.text = std::move(v);
    return i + 1;
  }

  std::string s_;
  const std::string& origin_;
  LexOptions opt_;
  std::vector<size_t> line_starts_;
  std::vector<Token> out_;
};

std::string normalise_newlines(const std::string& src) {
  std::string out;
  if (src.find('\r') == std::string::npos) {
    out = src;  // the usual template: nothing to rewrite
  } else {
    out.reserve(src.size());
    for (size_t i = 0; i < src.size(); ++i) {
      if (src[i] == '\r') {
        out += '\n';
        if (i + 1 < src.size() && src[i + 1] == '\n') ++i;
      } else {
        out += src[i];
      }
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace

std::vector<Token> lex(const std::string& source, const std::string& origin, const LexOptions& opt) {
  return Lexer(normalise_newlines(source), origin, opt).run();
}

}  // namespace tandem::tokenizer::jinja
