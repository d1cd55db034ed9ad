// Recursive-descent parser for the Jinja subset chat templates use. The grammar mirrors
// jinja2's own parser so that precedence corner cases agree: `messages|length - 1` is
// (messages|length) - 1, `-2**2` is (-2)**2, `not x is defined` is not (x is defined).
// Unsupported tags (extends, include, import, block, do) are reported by name, not misparsed.
#include "tokenizer/jinja/parser.h"

#include <set>

#include "core/error.h"

namespace tandem::tokenizer::jinja {

namespace {

constexpr int kMaxNesting = 200;

class Parser {
 public:
  Parser(const std::vector<Token>& t, const std::string& origin) : t_(t), origin_(origin) {}

  std::vector<NodePtr> run() {
    std::vector<NodePtr> body;
    parse_body({}, body);
    return body;
  }

 private:
  struct Open {
    std::string tag;
    Pos pos;
  };

  const Token& peek(size_t k = 0) const { return t_[std::min(i_ + k, t_.size() - 1)]; }
  const Token& next() {
    const Token& t = t_[i_];
    if (i_ + 1 < t_.size()) ++i_;
    return t;
  }
  static Pos pos_of(const Token& t) { return {t.line, t.col}; }
  bool at_op(const char* op, size_t k = 0) const { return peek(k).type == Tok::kOp && peek(k).text == op; }
  bool at_name(const char* n, size_t k = 0) const { return peek(k).type == Tok::kName && peek(k).text == n; }

  static std::string describe(const Token& t) {
    switch (t.type) {
      case Tok::kName: return cat("name '", t.text, "'");
      case Tok::kOp: return cat("'", t.text, "'");
      case Tok::kString: return "a string";
      case Tok::kInt:
      case Tok::kFloat: return cat("number ", t.text);
      case Tok::kText: return "text";
      default: return token_desc(t.type);
    }
  }
  [[noreturn]] void fail_at(const Token& t, const std::string& what) const {
    template_error(origin_, t.line, t.col, what);
  }
  [[noreturn]] void expected(const std::string& what) const {
    fail_at(peek(), cat("expected ", what, ", got ", describe(peek())));
  }
  void expect_op(const char* op) {
    if (!at_op(op)) expected(cat("'", op, "'"));
    next();
  }
  void expect_end() {
    if (peek().type != Tok::kBlockEnd) expected("end of tag '%}'");
    next();
  }
  std::string expect_name(const char* what = "a name") {
    if (peek().type != Tok::kName) expected(what);
    return next().text;
  }

  // Parses nodes until a block tag whose name is in ends; consumes `{% name` and returns name.
  std::string parse_body(const std::set<std::string>& ends, std::vector<NodePtr>& out) {
    for (;;) {
      const Token& t = peek();
      if (t.type == Tok::kEof) {
        if (ends.empty()) return "";
        const Open& o = open_.back();
        fail_at(t, cat("unexpected end of template, expected ", list(ends), " to close the '", o.tag, "' at line ",
                       o.pos.line, " column ", o.pos.col));
      }
      if (t.type == Tok::kText) {
        auto n = std::make_unique<Node>(NK::kText, pos_of(t));
        n->text = next().text;
        out.push_back(std::move(n));
      } else if (t.type == Tok::kVarBegin) {
        auto n = std::make_unique<Node>(NK::kOutput, pos_of(next()));
        n->expr = parse_tuple(true);
        if (peek().type != Tok::kVarEnd) expected("end of expression '}}'");
        next();
        out.push_back(std::move(n));
      } else if (t.type == Tok::kBlockBegin) {
        tag_pos_ = pos_of(next());
        const Token& nt = peek();
        if (nt.type != Tok::kName) expected("a tag name");
        if (ends.count(nt.text)) return next().text;
        out.push_back(statement());
      } else {
        fail_at(t, cat("unexpected ", describe(t)));
      }
    }
  }

  static std::string list(const std::set<std::string>& s) {
    std::string r;
    for (const auto& x : s) r += (r.empty() ? "'" : " or '") + x + "'";
    return r;
  }

  // After `{% tag` parsed; reads the body up to one of ends and returns which end was found.
  std::string block(const std::string& tag, Pos p, const std::set<std::string>& ends, std::vector<NodePtr>& body) {
    open_.push_back({tag, p});
    std::string e = parse_body(ends, body);
    open_.pop_back();
    return e;
  }

  NodePtr statement() {
    const Token& nt = next();
    const std::string& tag = nt.text;
    const Pos p = tag_pos_;
    if (tag == "if") return if_stmt(p);
    if (tag == "for") return for_stmt(p);
    if (tag == "set") return set_stmt(p);
    if (tag == "macro") return macro_stmt(p);
    if (tag == "call") return call_stmt(p);
    if (tag == "filter") {
      auto n = std::make_unique<Node>(NK::kFilterBlock, p);
      n->filter = filter_chain(nullptr);
      expect_end();
      block("filter", p, {"endfilter"}, n->body);
      expect_end();
      return n;
    }
    if (tag == "with") {
      auto n = std::make_unique<Node>(NK::kWith, p);
      while (peek().type != Tok::kBlockEnd) {
        if (!n->params.empty()) expect_op(",");
        Param prm;
        prm.name = expect_name("a variable name");
        expect_op("=");
        prm.dflt = parse_expression();
        n->params.push_back(std::move(prm));
      }
      expect_end();
      block("with", p, {"endwith"}, n->body);
      expect_end();
      return n;
    }
    if (tag == "generation") {
      auto n = std::make_unique<Node>(NK::kGeneration, p);
      expect_end();
      block("generation", p, {"endgeneration"}, n->body);
      expect_end();
      return n;
    }
    if (tag == "break" || tag == "continue") {
      if (loops_ == 0) fail_at(nt, cat("'", tag, "' outside of a loop"));
      auto n = std::make_unique<Node>(tag == "break" ? NK::kBreak : NK::kContinue, p);
      expect_end();
      return n;
    }
    static const std::set<std::string> kUnsupported = {"extends", "include", "import", "from", "block", "do",
                                                       "autoescape", "trans"};
    if (kUnsupported.count(tag)) fail_at(nt, cat("the '", tag, "' tag is not supported by Tandem's chat templates"));
    if (!open_.empty())
      fail_at(nt, cat("unexpected tag '", tag, "' inside the '", open_.back().tag, "' opened at line ",
                      open_.back().pos.line, " column ", open_.back().pos.col));
    fail_at(nt, cat("unknown tag '", tag, "'"));
  }

  NodePtr if_stmt(Pos p) {
    auto n = std::make_unique<Node>(NK::kIf, p);
    n->expr = parse_expression();
    expect_end();
    std::string e = block("if", p, {"elif", "else", "endif"}, n->body);
    if (e == "elif") {
      n->else_body.push_back(if_stmt(tag_pos_));
      return n;  // the nested if consumed the endif
    }
    if (e == "else") {
      expect_end();
      block("if", p, {"endif"}, n->else_body);
    }
    expect_end();
    return n;
  }

  void targets(Node& n) {
    const bool paren = at_op("(");
    if (paren) next();
    n.targets.push_back(expect_name("a variable name"));
    while (at_op(",")) {
      next();
      n.unpack = true;
      n.targets.push_back(expect_name("a variable name"));
    }
    if (paren) {
      expect_op(")");
      n.unpack = true;
    }
  }

  NodePtr for_stmt(Pos p) {
    auto n = std::make_unique<Node>(NK::kFor, p);
    targets(*n);
    if (!at_name("in")) expected("'in'");
    next();
    n->expr = parse_tuple(false);
    if (at_name("if")) {
      next();
      n->cond = parse_expression();
    }
    if (at_name("recursive")) fail_at(peek(), "recursive loops are not supported");
    expect_end();
    ++loops_;
    std::string e = block("for", p, {"endfor", "else"}, n->body);
    --loops_;
    if (e == "else") {
      expect_end();
      block("for", p, {"endfor"}, n->else_body);
    }
    expect_end();
    return n;
  }

  NodePtr set_stmt(Pos p) {
    auto n = std::make_unique<Node>(NK::kSet, p);
    if (peek().type == Tok::kName && at_op(".", 1)) {
      n->name = next().text;
      next();
      n->attr = expect_name("an attribute name");
    } else {
      targets(*n);
    }
    if (at_op("=")) {
      next();
      n->expr = parse_tuple(true);
      expect_end();
      return n;
    }
    if (!n->attr.empty() || n->unpack) expected("'='");
    if (at_op("|")) n->filter = filter_chain(nullptr);
    expect_end();
    block("set", p, {"endset"}, n->body);
    expect_end();
    return n;
  }

  void params(std::vector<Param>& out) {
    expect_op("(");
    while (!at_op(")")) {
      if (!out.empty()) expect_op(",");
      if (at_op(")")) break;
      Param prm;
      prm.name = expect_name("a parameter name");
      if (at_op("=")) {
        next();
        prm.dflt = parse_expression();
      }
      out.push_back(std::move(prm));
    }
    next();
  }

  NodePtr macro_stmt(Pos p) {
    auto n = std::make_unique<Node>(NK::kMacro, p);
    n->name = expect_name("a macro name");
    params(n->params);
    expect_end();
    const int saved = loops_;
    loops_ = 0;
    block("macro", p, {"endmacro"}, n->body);
    loops_ = saved;
    if (peek().type == Tok::kName) next();
    expect_end();
    return n;
  }

  NodePtr call_stmt(Pos p) {
    auto n = std::make_unique<Node>(NK::kCallBlock, p);
    if (at_op("(")) params(n->params);
    n->expr = parse_expression();
    if (n->expr->kind != EK::kCall) fail_at(peek(), "expected a macro call after 'call'");
    expect_end();
    const int saved = loops_;  // the body is caller()'s: a loop outside it is not its loop
    loops_ = 0;
    block("call", p, {"endcall"}, n->body);
    loops_ = saved;
    expect_end();
    return n;
  }

  // ---- expressions ----

  struct Nest {
    Parser& p;
    explicit Nest(Parser& x) : p(x) {
      if (++p.nesting_ > kMaxNesting) p.fail_at(p.peek(), cat("expression nested deeper than ", kMaxNesting, " levels"));
    }
    ~Nest() { --p.nesting_; }
  };

  ExprPtr make(EK k, Pos p) { return std::make_unique<Expr>(k, p); }

  ExprPtr parse_tuple(bool with_condexpr) {
    const Pos p = pos_of(peek());
    std::vector<ExprPtr> items;
    bool is_tuple = false;
    for (;;) {
      if (!items.empty()) {
        if (!at_op(",")) break;
        next();
        is_tuple = true;
        const Tok ty = peek().type;
        if (ty == Tok::kVarEnd || ty == Tok::kBlockEnd || at_op(")")) break;
      }
      items.push_back(with_condexpr ? parse_expression() : parse_or());
    }
    if (!is_tuple) return std::move(items[0]);
    auto e = make(EK::kTuple, p);
    e->kids = std::move(items);
    return e;
  }

  ExprPtr parse_expression() {
    Nest guard(*this);
    ExprPtr e = parse_or();
    while (at_name("if")) {
      const Pos p = pos_of(next());
      auto c = make(EK::kCond, p);
      c->kids.push_back(parse_or());
      c->kids.push_back(std::move(e));
      if (at_name("else")) {
        next();
        c->kids.push_back(parse_expression());
      } else {
        c->kids.push_back(nullptr);
      }
      e = std::move(c);
    }
    return e;
  }

  ExprPtr binary_chain(EK kind, const char* word, ExprPtr (Parser::*sub)()) {
    ExprPtr left = (this->*sub)();
    while (at_name(word)) {
      auto e = make(kind, pos_of(next()));
      e->kids.push_back(std::move(left));
      e->kids.push_back((this->*sub)());
      left = std::move(e);
    }
    return left;
  }
  ExprPtr parse_or() { return binary_chain(EK::kOr, "or", &Parser::parse_and); }
  ExprPtr parse_and() { return binary_chain(EK::kAnd, "and", &Parser::parse_not); }
  ExprPtr parse_not() {
    if (at_name("not")) {
      Nest guard(*this);
      auto e = make(EK::kUnary, pos_of(next()));
      e->name = "not";
      e->kids.push_back(parse_not());
      return e;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    ExprPtr first = parse_math1();
    ExprPtr cmp;
    for (;;) {
      std::string op;
      const Token& t = peek();
      if (t.type == Tok::kOp && (t.text == "==" || t.text == "!=" || t.text == "<" || t.text == "<=" ||
                                 t.text == ">" || t.text == ">=")) {
        op = t.text;
        next();
      } else if (at_name("in")) {
        op = "in";
        next();
      } else if (at_name("not") && at_name("in", 1)) {
        op = "notin";
        next();
        next();
      } else {
        break;
      }
      if (!cmp) {
        cmp = make(EK::kCompare, first->pos);
        cmp->kids.push_back(std::move(first));
      }
      cmp->ops.push_back(op);
      cmp->kids.push_back(parse_math1());
    }
    return cmp ? std::move(cmp) : std::move(first);
  }

  ExprPtr binary_ops(std::initializer_list<const char*> ops, ExprPtr (Parser::*sub)()) {
    ExprPtr left = (this->*sub)();
    for (;;) {
      const char* hit = nullptr;
      for (const char* o : ops)
        if (at_op(o)) hit = o;
      if (!hit) return left;
      auto e = make(EK::kBinary, pos_of(next()));
      e->name = hit;
      e->kids.push_back(std::move(left));
      e->kids.push_back((this->*sub)());
      left = std::move(e);
    }
  }
  ExprPtr parse_math1() { return binary_ops({"+", "-"}, &Parser::parse_concat); }
  ExprPtr parse_concat() { return binary_ops({"~"}, &Parser::parse_math2); }
  ExprPtr parse_math2() { return binary_ops({"*", "/", "//", "%"}, &Parser::parse_pow); }
  ExprPtr parse_pow() { return binary_ops({"**"}, &Parser::parse_unary_f); }
  ExprPtr parse_unary_f() { return parse_unary(true); }

  ExprPtr parse_unary(bool with_filter) {
    Nest guard(*this);
    ExprPtr e;
    if (at_op("-") || at_op("+")) {
      e = make(EK::kUnary, pos_of(peek()));
      e->name = next().text;
      e->kids.push_back(parse_unary(false));
    } else {
      e = parse_primary();
    }
    e = parse_postfix(std::move(e));
    if (with_filter) e = parse_filter_expr(std::move(e));
    return e;
  }

  ExprPtr parse_primary() {
    const Token& t = peek();
    const Pos p = pos_of(t);
    if (t.type == Tok::kName) {
      next();
      auto e = make(EK::kLiteral, p);
      if (t.text == "true" || t.text == "True") {
        e->value = Value(true);
      } else if (t.text == "false" || t.text == "False") {
        e->value = Value(false);
      } else if (t.text == "none" || t.text == "None") {
        e->value = Value::none();
      } else {
        e->kind = EK::kName;
        e->name = t.text;
      }
      return e;
    }
    if (t.type == Tok::kString) {
      std::string s = next().text;
      while (peek().type == Tok::kString) s += next().text;
      auto e = make(EK::kLiteral, p);
      e->value = Value(std::move(s));
      return e;
    }
    if (t.type == Tok::kInt || t.type == Tok::kFloat) {
      auto e = make(EK::kLiteral, p);
      e->value = t.type == Tok::kInt ? Value(t.ival) : Value(t.fval);
      next();
      return e;
    }
    if (at_op("(")) {
      next();
      if (at_op(")")) {
        next();
        return make(EK::kTuple, p);
      }
      ExprPtr e = parse_tuple(true);
      expect_op(")");
      return e;
    }
    if (at_op("[")) {
      next();
      auto e = make(EK::kList, p);
      while (!at_op("]")) {
        if (!e->kids.empty()) expect_op(",");
        if (at_op("]")) break;
        e->kids.push_back(parse_expression());
      }
      next();
      return e;
    }
    if (at_op("{")) {
      next();
      auto e = make(EK::kDict, p);
      while (!at_op("}")) {
        if (!e->kids.empty()) expect_op(",");
        if (at_op("}")) break;
        e->kids.push_back(parse_expression());
        expect_op(":");
        e->kids.push_back(parse_expression());
      }
      next();
      return e;
    }
    expected("an expression");
  }

  void call_args(Expr& e) {
    expect_op("(");
    while (!at_op(")")) {
      if (!e.args.empty() || !e.kwargs.empty()) expect_op(",");
      if (at_op(")")) break;
      if (peek().type == Tok::kName && at_op("=", 1)) {
        std::string k = next().text;
        next();
        e.kwargs.emplace_back(std::move(k), parse_expression());
      } else {
        if (!e.kwargs.empty()) fail_at(peek(), "positional argument after keyword argument");
        e.args.push_back(parse_expression());
      }
    }
    next();
  }

  ExprPtr parse_postfix(ExprPtr e) {
    for (;;) {
      if (at_op(".")) {
        const Pos p = pos_of(next());
        if (peek().type == Tok::kInt) {
          auto x = make(EK::kItem, p);
          x->kids.push_back(std::move(e));
          auto k = make(EK::kLiteral, p);
          k->value = Value(next().ival);
          x->kids.push_back(std::move(k));
          e = std::move(x);
        } else {
          auto x = make(EK::kAttr, p);
          x->name = expect_name("an attribute name after '.'");
          x->kids.push_back(std::move(e));
          e = std::move(x);
        }
      } else if (at_op("[")) {
        const Pos p = pos_of(next());
        ExprPtr a, b, c;
        bool slice = false;
        if (!at_op(":")) a = parse_expression();
        if (at_op(":")) {
          slice = true;
          next();
          if (!at_op("]") && !at_op(":")) b = parse_expression();
          if (at_op(":")) {
            next();
            if (!at_op("]")) c = parse_expression();
          }
        }
        expect_op("]");
        auto x = make(slice ? EK::kSlice : EK::kItem, p);
        x->kids.push_back(std::move(e));
        x->kids.push_back(std::move(a));
        if (slice) {
          x->kids.push_back(std::move(b));
          x->kids.push_back(std::move(c));
        }
        e = std::move(x);
      } else if (at_op("(")) {
        auto x = make(EK::kCall, pos_of(peek()));
        x->kids.push_back(std::move(e));
        call_args(*x);
        e = std::move(x);
      } else {
        return e;
      }
    }
  }

  ExprPtr filter_chain(ExprPtr operand) {
    ExprPtr e = std::move(operand);
    bool first = true;
    while (first || at_op("|")) {
      if (!first || at_op("|")) next();
      first = false;
      auto f = make(EK::kFilter, pos_of(peek()));
      f->name = expect_name("a filter name");
      if (at_op("(")) call_args(*f);
      f->kids.push_back(std::move(e));
      e = std::move(f);
    }
    return e;
  }

  ExprPtr parse_filter_expr(ExprPtr e) {
    for (;;) {
      if (at_op("|")) {
        next();
        auto f = make(EK::kFilter, pos_of(peek()));
        f->name = expect_name("a filter name after '|'");
        if (at_op("(")) call_args(*f);
        f->kids.push_back(std::move(e));
        e = std::move(f);
      } else if (at_name("is")) {
        next();
        auto x = make(EK::kTest, pos_of(peek()));
        if (at_name("not")) {
          next();
          x->negated = true;
        }
        x->name = expect_name("a test name after 'is'");
        x->kids.push_back(std::move(e));
        const Token& t = peek();
        if (at_op("(")) {
          call_args(*x);
        } else if ((t.type == Tok::kName || t.type == Tok::kString || t.type == Tok::kInt || t.type == Tok::kFloat ||
                    at_op("[") || at_op("{")) &&
                   !at_name("else") && !at_name("or") && !at_name("and")) {
          x->args.push_back(parse_postfix(parse_primary()));
        }
        e = std::move(x);
      } else if (at_op("(")) {
        auto x = make(EK::kCall, pos_of(peek()));
        x->kids.push_back(std::move(e));
        call_args(*x);
        e = std::move(x);
      } else {
        return e;
      }
    }
  }

  const std::vector<Token>& t_;
  const std::string& origin_;
  size_t i_ = 0;
  int loops_ = 0;
  int nesting_ = 0;
  Pos tag_pos_;  // the `{%` of the statement being parsed
  std::vector<Open> open_;
};

}  // namespace

std::vector<NodePtr> parse(const std::vector<Token>& tokens, const std::string& origin) {
  return Parser(tokens, origin).run();
}

}  // namespace tandem::tokenizer::jinja
