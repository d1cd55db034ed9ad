// Tree-walking renderer: executes statements into an output buffer and evaluates expressions
// with Python's operator semantics. Scoping follows jinja2: a for-loop iteration and a macro
// call get their own frame (a `set` inside them does not leak out), if/else does not; namespace()
// objects are how templates carry state out of loops.
// Every Failure raised while evaluating a node is rethrown here as a tandem::Error naming that
// node's line and column (the innermost node wins). Resource limits (call depth, output bytes,
// loop iterations) are checked where they grow.
// Not here: filters, tests, methods, globals (their own files), parsing.
#include <cmath>
#include <unordered_map>

#include "core/error.h"
#include "core/stack.h"
#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/lexer.h"
#include "tokenizer/jinja/parser.h"
#include "tokenizer/jinja/runtime.h"
#include "tokenizer/jinja/template.h"

namespace tandem::tokenizer::jinja {

namespace {

struct Frame;
using FramePtr = std::shared_ptr<Frame>;

struct Frame {
  std::unordered_map<std::string, Value> vars;
  FramePtr parent;
  const Value* lookup(const std::string& n) const {
    for (const Frame* f = this; f; f = f->parent.get()) {
      auto it = f->vars.find(n);
      if (it != f->vars.end()) return &it->second;
    }
    return nullptr;
  }
};

FramePtr child(const FramePtr& parent) {
  auto f = std::make_shared<Frame>();
  f->parent = parent;
  return f;
}

enum class Flow { kNormal, kBreak, kContinue };

// Which of the names the interpreter binds on demand a body mentions. jinja2 only lets a macro
// take extra positional arguments, extra keywords or a caller when its body uses varargs, kwargs
// or caller; a for loop builds its `loop` object (a dict, a closure and a dozen entries per
// iteration) only for a body that can read it. Over-counting is harmless: a nested loop's
// `loop` also marks the outer one.
struct NameUses {
  bool varargs = false, kwargs = false, caller = false, loop = false;
  void name(const std::string& n) {
    varargs |= n == "varargs";
    kwargs |= n == "kwargs";
    caller |= n == "caller";
    loop |= n == "loop";
  }
  void expr(const Expr* e) {
    if (!e) return;
    if (e->kind == EK::kName) name(e->name);
    for (const auto& k : e->kids) expr(k.get());
    for (const auto& k : e->args) expr(k.get());
    for (const auto& kv : e->kwargs) expr(kv.second.get());
  }
  void body(const std::vector<NodePtr>& nodes) {
    for (const auto& n : nodes) {
      name(n->name);  // `{% set loop.x = ... %}` reads loop as a namespace
      expr(n->expr.get());
      expr(n->cond.get());
      expr(n->filter.get());
      for (const auto& p : n->params) expr(p.dflt.get());
      body(n->body);
      body(n->else_body);
    }
  }
};

std::string undefined_msg(const Value& v) {
  return v.undefined_name().empty() ? std::string("undefined value") : cat("'", v.undefined_name(), "' is undefined");
}

void check_defined(const Value& v) {
  if (v.is_undefined()) throw Failure(undefined_msg(v));
}

[[noreturn]] void bad_operands(const char* op, const Value& a, const Value& b) {
  throw Failure(cat("unsupported operand type(s) for ", op, ": '", a.type_name(), "' and '", b.type_name(), "'"));
}

Value repeat(const Value& seq, int64_t n) {
  if (n > 0) {
    const size_t unit = seq.is_string() ? seq.as_string().size() : saturating_mul(seq.as_list().size(), sizeof(Value));
    check_value_size(saturating_mul(unit, size_t(n)), seq.is_string() ? "string" : "list");
  }
  if (seq.is_string()) {
    std::string out;
    for (int64_t i = 0; i < n; ++i) out += seq.as_string();
    return Value(std::move(out));
  }
  List out;
  for (int64_t i = 0; i < n; ++i)
    for (const auto& x : seq.as_list()) out.push_back(x);
  return Value::list(std::move(out), seq.is_tuple());
}

Value binary(const std::string& op, const Value& a, const Value& b) {
  if (op == "~") return Value(py_str(a) + py_str(b));
  if (op == "%" && a.is_string()) return Value(percent_format(a.as_string(), b));
  check_defined(a);
  check_defined(b);
  const bool nums = a.is_number() && b.is_number();
  const bool ints = nums && !a.is_float() && !b.is_float();
  if (op == "+") {
    if (ints) {
      int64_t r;
      if (__builtin_add_overflow(a.as_int(), b.as_int(), &r)) throw Failure("integer overflow in '+'");
      return Value(r);
    }
    if (nums) return Value(a.as_float() + b.as_float());
    if (a.is_string() && b.is_string()) return Value(a.as_string() + b.as_string());
    if (a.is_list() && b.is_list() && a.is_tuple() == b.is_tuple()) {
      List out = a.as_list();
      out.insert(out.end(), b.as_list().begin(), b.as_list().end());
      return Value::list(std::move(out), a.is_tuple());
    }
    if (a.is_string() || b.is_string())
      throw Failure(cat("can only concatenate str (not \"", (a.is_string() ? b : a).type_name(), "\") to str"));
    bad_operands("+", a, b);
  }
  if (op == "-") {
    if (ints) {
      int64_t r;
      if (__builtin_sub_overflow(a.as_int(), b.as_int(), &r)) throw Failure("integer overflow in '-'");
      return Value(r);
    }
    if (nums) return Value(a.as_float() - b.as_float());
    bad_operands("-", a, b);
  }
  if (op == "*") {
    if (ints) {
      int64_t r;
      if (__builtin_mul_overflow(a.as_int(), b.as_int(), &r)) throw Failure("integer overflow in '*'");
      return Value(r);
    }
    if (nums) return Value(a.as_float() * b.as_float());
    if ((a.is_string() || a.is_list()) && b.is_number() && !b.is_float()) return repeat(a, b.as_int());
    if ((b.is_string() || b.is_list()) && a.is_number() && !a.is_float()) return repeat(b, a.as_int());
    bad_operands("*", a, b);
  }
  if (op == "/") {
    if (!nums) bad_operands("/", a, b);
    if (b.as_float() == 0) throw Failure("division by zero");
    return Value(a.as_float() / b.as_float());
  }
  if (op == "//") {
    if (!nums) bad_operands("//", a, b);
    if (ints) {
      if (b.as_int() == 0) throw Failure("integer division or modulo by zero");
      if (b.as_int() == -1 && a.as_int() == INT64_MIN) throw Failure("integer overflow in '//'");
      int64_t q = a.as_int() / b.as_int();
      if ((a.as_int() % b.as_int() != 0) && ((a.as_int() < 0) != (b.as_int() < 0))) --q;
      return Value(q);
    }
    if (b.as_float() == 0) throw Failure("float floor division by zero");
    return Value(std::floor(a.as_float() / b.as_float()));
  }
  if (op == "%") {
    if (a.is_string()) return Value(percent_format(a.as_string(), b));
    if (!nums) bad_operands("%", a, b);
    if (ints) {
      if (b.as_int() == 0) throw Failure("integer division or modulo by zero");
      if (b.as_int() == -1) return Value(int64_t(0));  // INT64_MIN % -1 traps in C++
      int64_t r = a.as_int() % b.as_int();
      if (r != 0 && ((r < 0) != (b.as_int() < 0))) r += b.as_int();
      return Value(r);
    }
    if (b.as_float() == 0) throw Failure("float modulo");
    double r = std::fmod(a.as_float(), b.as_float());
    if (r != 0 && ((r < 0) != (b.as_float() < 0))) r += b.as_float();
    return Value(r);
  }
  if (op == "**") {
    if (!nums) bad_operands("**", a, b);
    if (ints && b.as_int() >= 0) {
      // By squaring: `0 ** 8000800600` looped eight billion times (a fuzzer timeout). A square
      // that overflows while exponent bits remain means the result overflows too.
      int64_t r = 1, base = a.as_int();
      for (int64_t e = b.as_int(); e > 0;) {
        if ((e & 1) && __builtin_mul_overflow(r, base, &r)) throw Failure("integer overflow in '**'");
        e >>= 1;
        if (e > 0 && __builtin_mul_overflow(base, base, &base)) throw Failure("integer overflow in '**'");
      }
      return Value(r);
    }
    return Value(std::pow(a.as_float(), b.as_float()));
  }
  throw Failure(cat("unknown operator '", op, "'"));
}

bool compare(const std::string& op, const Value& a, const Value& b) {
  if (op == "==") return py_equal(a, b);
  if (op == "!=") return !py_equal(a, b);
  if (op == "in") return contains(b, a);
  if (op == "notin") return !contains(b, a);
  check_defined(a);
  check_defined(b);
  const int c = py_compare(a, b);
  if (op == "<") return c < 0;
  if (op == "<=") return c <= 0;
  if (op == ">") return c > 0;
  return c >= 0;
}

class Interp {
 public:
  Interp(const std::string& origin, const RenderLimits& lim) : origin_(origin), lim_(lim) { out_ = &result_.text; }

  Rendered run(const std::vector<NodePtr>& body, const FramePtr& root) {
    exec(body, root);
    return std::move(result_);
  }

 private:
  [[noreturn]] void fail(Pos p, const std::string& what) const { template_error(origin_, p.line, p.col, what); }

  void emit(const std::string& s) {
    total_ += s.size();
    if (total_ > lim_.max_output_bytes)
      throw Failure(cat("rendered output exceeds the limit of ", lim_.max_output_bytes, " bytes"));
    out_->append(s);
  }

  std::string capture(const std::vector<NodePtr>& body, const FramePtr& f) {
    std::string buf;
    std::string* saved = out_;
    out_ = &buf;
    ++capturing_;
    try {
      exec(body, f);
    } catch (...) {
      out_ = saved;
      --capturing_;
      throw;
    }
    out_ = saved;
    --capturing_;
    return buf;
  }

  Flow exec(const std::vector<NodePtr>& body, const FramePtr& f) {
    for (const auto& n : body) {
      Flow fl;
      try {
        fl = exec_node(*n, f);
      } catch (const Failure& x) {
        fail(n->pos, x.what());
      }
      if (fl != Flow::kNormal) return fl;
    }
    return Flow::kNormal;
  }

  Flow exec_node(const Node& n, const FramePtr& f) {
    switch (n.kind) {
      case NK::kText: emit(n.text); return Flow::kNormal;
      case NK::kOutput: emit(py_str(eval(*n.expr, *f))); return Flow::kNormal;
      case NK::kIf: return exec(eval(*n.expr, *f).truthy() ? n.body : n.else_body, f);
      case NK::kFor: return exec_for(n, f);
      case NK::kSet: exec_set(n, f); return Flow::kNormal;
      case NK::kMacro: f->vars[n.name] = make_macro(n, f); return Flow::kNormal;
      case NK::kCallBlock: emit(py_str(call_block(n, f))); return Flow::kNormal;
      case NK::kFilterBlock: {
        const Value body(capture(n.body, child(f)));
        emit(py_str(with_hole(*n.filter, body, *f)));
        return Flow::kNormal;
      }
      case NK::kWith: {
        FramePtr c = child(f);
        for (const auto& p : n.params) c->vars[p.name] = eval(*p.dflt, *f);
        return exec(n.body, c);
      }
      case NK::kBreak: return Flow::kBreak;
      case NK::kContinue: return Flow::kContinue;
      case NK::kGeneration: {
        const size_t begin = out_->size();
        const Flow fl = exec(n.body, f);
        if (capturing_ == 0) result_.generation.push_back({begin, out_->size()});
        return fl;
      }
    }
    return Flow::kNormal;
  }

  Value with_hole(const Expr& filter, const Value& v, Frame& f) {
    const Value* saved = hole_;
    hole_ = &v;
    Value r = eval(filter, f);
    hole_ = saved;
    return r;
  }

  void assign(Frame& f, const Node& n, const Value& v) {
    if (!n.unpack) {
      f.vars[n.targets[0]] = v;
      return;
    }
    std::vector<Value> items = iterate(v);
    if (items.size() != n.targets.size())
      throw Failure(cat("cannot unpack ", items.size(), " values into ", n.targets.size(), " names"));
    for (size_t i = 0; i < items.size(); ++i) f.vars[n.targets[i]] = items[i];
  }

  void exec_set(const Node& n, const FramePtr& f) {
    Value v;
    if (n.expr) {
      v = eval(*n.expr, *f);
    } else {
      v = Value(capture(n.body, child(f)));
      if (n.filter) v = with_hole(*n.filter, v, *f);
    }
    if (!n.attr.empty()) {
      const Value* ns = f->lookup(n.name);
      if (!ns || !ns->is_namespace())
        throw Failure(cat("cannot assign attribute '", n.attr, "' on '", n.name,
                          "': only namespace() objects take attribute assignment"));
      check_namespace_attribute(v);
      ns->mutable_namespace().set(Value(n.attr), v);
      return;
    }
    assign(*f, n, v);
  }

  Flow exec_for(const Node& n, const FramePtr& f) {
    std::vector<Value> items = iterate(eval(*n.expr, *f));
    if (n.cond) {
      std::vector<Value> kept;
      for (auto& it : items) {
        FramePtr c = child(f);
        assign(*c, n, it);
        if (eval(*n.cond, *c).truthy()) kept.push_back(std::move(it));
      }
      items = std::move(kept);
    }
    const int64_t len = int64_t(items.size());
    // jinja2 clears its "else" flag at the end of the loop body, so `else` runs when no iteration
    // reached the end of the body: none at all, or every one left by break/continue.
    bool completed = false;
    NameUses uses;
    uses.body(n.body);
    for (int64_t i = 0; i < len; ++i) {
      if (++iterations_ > lim_.max_loop_iterations)
        throw Failure(cat("loops ran more than ", lim_.max_loop_iterations, " iterations in one render"));
      FramePtr c = child(f);
      assign(*c, n, items[size_t(i)]);
      if (uses.loop) c->vars["loop"] = loop_object(items, i);
      const Flow fl = exec(n.body, c);
      if (fl == Flow::kBreak) break;
      completed |= fl == Flow::kNormal;
    }
    if (!completed && !n.else_body.empty()) return exec(n.else_body, child(f));
    return Flow::kNormal;
  }

  static Value loop_object(const std::vector<Value>& items, int64_t i) {
    const int64_t len = int64_t(items.size());
    auto loop = std::make_shared<Dict>();
    loop->items.reserve(12);
    loop->items.emplace_back(Value("index"), Value(i + 1));
    loop->items.emplace_back(Value("index0"), Value(i));
    loop->items.emplace_back(Value("revindex"), Value(len - i));
    loop->items.emplace_back(Value("revindex0"), Value(len - i - 1));
    loop->items.emplace_back(Value("first"), Value(i == 0));
    loop->items.emplace_back(Value("last"), Value(i == len - 1));
    loop->items.emplace_back(Value("length"), Value(len));
    loop->items.emplace_back(Value("depth"), Value(1));
    loop->items.emplace_back(Value("depth0"), Value(0));
    loop->items.emplace_back(Value("previtem"), i > 0 ? items[size_t(i - 1)] : Value::undefined("previtem"));
    loop->items.emplace_back(Value("nextitem"), i + 1 < len ? items[size_t(i + 1)] : Value::undefined("nextitem"));
    loop->items.emplace_back(Value("cycle"), Value::callable("cycle", [i](Args& a) -> Value {
                               if (a.pos.empty()) throw Failure("loop.cycle() needs at least one argument");
                               return a.pos[size_t(i) % a.pos.size()];
                             }));
    return Value::dict(std::move(loop));
  }

  Value make_macro(const Node& n, const FramePtr& f) {
    keep_.push_back(f);  // closures hold a raw frame pointer; frames live until the render ends
    Frame* closure = f.get();
    const Node* node = &n;
    return Value::callable(n.name, [this, node, closure](Args& a) { return call_macro(*node, closure, a); });
  }

  static const Value* find_kw(const Args& a, const std::string& name) {
    for (const auto& [k, v] : a.kw)
      if (k == name) return &v;
    return nullptr;
  }

  Value call_macro(const Node& m, Frame* closure, Args& a) {
    if (++depth_ > lim_.max_call_depth) {
      --depth_;
      throw Failure(cat("macro calls nested deeper than ", lim_.max_call_depth, " (runaway recursion?)"));
    }
    struct Guard {
      int& d;
      ~Guard() { --d; }
    } guard{depth_};
    NameUses uses;
    uses.body(m.body);
    if (a.pos.size() > m.params.size() && !uses.varargs)
      throw Failure(cat("macro '", m.name, "' takes not more than ", m.params.size(), " argument(s)"));
    for (const auto& [k, v] : a.kw) {
      size_t idx = m.params.size();
      for (size_t i = 0; i < m.params.size(); ++i)
        if (m.params[i].name == k) idx = i;
      if (k == "caller" && !uses.caller)
        throw Failure(cat("macro '", m.name, "' was called from a call block but never calls caller()"));
      if (idx < m.params.size() && idx < a.pos.size())
        throw Failure(cat("macro '", m.name, "' got multiple values for argument '", k, "'"));
      if (idx == m.params.size() && k != "caller" && !uses.kwargs)
        throw Failure(cat("macro '", m.name, "' takes no keyword argument '", k, "'"));
    }
    auto f = std::make_shared<Frame>();
    f->parent = FramePtr(FramePtr(), closure);  // non-owning alias
    List varargs;
    for (size_t i = m.params.size(); i < a.pos.size(); ++i) varargs.push_back(a.pos[i]);
    auto kwargs = std::make_shared<Dict>();
    for (const auto& [k, v] : a.kw) {
      bool is_param = k == "caller";
      for (const auto& p : m.params) is_param |= p.name == k;
      if (!is_param) kwargs->set(Value(k), v);
      if (k == "caller") f->vars["caller"] = v;
    }
    for (size_t i = 0; i < m.params.size(); ++i) {
      const Param& p = m.params[i];
      if (i < a.pos.size()) {
        f->vars[p.name] = a.pos[i];
      } else if (const Value* kv = find_kw(a, p.name)) {
        f->vars[p.name] = *kv;
      } else if (p.dflt) {
        f->vars[p.name] = eval(*p.dflt, *f);
      } else {
        f->vars[p.name] = Value::undefined(p.name);
      }
    }
    f->vars["varargs"] = Value::list(std::move(varargs), true);
    f->vars["kwargs"] = Value::dict(std::move(kwargs));
    return Value(capture(m.body, f));
  }

  Value call_block(const Node& n, const FramePtr& f) {
    keep_.push_back(f);
    Frame* closure = f.get();
    const Node* node = &n;
    Value caller = Value::callable("caller", [this, node, closure](Args& a) {
      auto f2 = std::make_shared<Frame>();
      f2->parent = FramePtr(FramePtr(), closure);
      for (size_t i = 0; i < node->params.size(); ++i) {
        const Param& p = node->params[i];
        const Value* kv = find_kw(a, p.name);
        f2->vars[p.name] = i < a.pos.size() ? a.pos[i] : kv ? *kv : p.dflt ? eval(*p.dflt, *f2) : Value::undefined(p.name);
      }
      return Value(capture(node->body, f2));
    });
    const Expr& call = *n.expr;
    Value callee = eval(*call.kids[0], *f);
    Args a = eval_args(call, *f);
    a.kw.emplace_back("caller", caller);
    if (!callee.is_callable()) throw Failure(cat("'", callee.type_name(), "' object is not callable"));
    return callee.fn()(a);
  }

  Args eval_args(const Expr& e, Frame& f) {
    Args a;
    for (const auto& x : e.args) a.pos.push_back(eval(*x, f));
    for (const auto& [k, x] : e.kwargs) a.kw.emplace_back(k, eval(*x, f));
    return a;
  }

  Value eval(const Expr& e, Frame& f) {
    // Long left-deep chains (a ~ b ~ c ..., x|f|f|f ...) recurse here once per link; bound the
    // native stack use with a clear error instead of a crash.
    struct Depth {
      int& d;
      ~Depth() { --d; }
    } depth{++eval_depth_};
    if (eval_depth_ > kMaxEvalDepth) fail(e.pos, cat("expression nested deeper than ", kMaxEvalDepth, " levels"));
    // The level count alone does not bound the bytes: frames are several times larger under
    // AddressSanitizer (3000 levels overflowed its 8 MiB main stack) and worker threads may have
    // less. kStackReserve covers one more level, a filter's own recursion (tojson: 512 levels)
    // and unwinding.
    if (stack_left() < kStackReserve)
      fail(e.pos, cat("expression nested deeper than this thread's stack allows (", eval_depth_, " levels)"));
    try {
      return eval_inner(e, f);
    } catch (const Failure& x) {
      fail(e.pos, x.what());
    } catch (const std::logic_error& x) {  // std::stoll and friends on absurd numbers
      fail(e.pos, cat("value out of range (", x.what(), ")"));
    }
  }

  Value eval_inner(const Expr& e, Frame& f) {
    switch (e.kind) {
      case EK::kLiteral: return e.value;
      case EK::kName: {
        const Value* v = f.lookup(e.name);
        return v ? *v : Value::undefined(e.name);
      }
      case EK::kList:
      case EK::kTuple: {
        List l;
        l.reserve(e.kids.size());
        for (const auto& k : e.kids) l.push_back(eval(*k, f));
        return Value::list(std::move(l), e.kind == EK::kTuple);
      }
      case EK::kDict: {
        auto d = std::make_shared<Dict>();
        for (size_t i = 0; i + 1 < e.kids.size(); i += 2) d->set(eval(*e.kids[i], f), eval(*e.kids[i + 1], f));
        return Value::dict(std::move(d));
      }
      case EK::kAttr: return get_attr(eval(*e.kids[0], f), e.name);
      case EK::kItem: return get_item(eval(*e.kids[0], f), eval(*e.kids[1], f));
      case EK::kSlice: {
        const Value obj = eval(*e.kids[0], f);
        auto part = [&](int i) { return e.kids[i] ? eval(*e.kids[i], f) : Value::none(); };
        return get_slice(obj, part(1), part(2), part(3));
      }
      case EK::kCall: {
        const Value callee = eval(*e.kids[0], f);
        Args a = eval_args(e, f);
        if (callee.is_undefined()) throw Failure(undefined_msg(callee) + ", so it cannot be called");
        if (!callee.is_callable()) throw Failure(cat("'", callee.type_name(), "' object is not callable"));
        return callee.fn()(a);
      }
      case EK::kFilter: {
        const Value v = e.kids[0] ? eval(*e.kids[0], f) : *hole_;
        Args a = eval_args(e, f);
        return apply_filter(e.name, v, a);
      }
      case EK::kTest: {
        const Value v = eval(*e.kids[0], f);
        Args a = eval_args(e, f);
        return Value(apply_test(e.name, v, a) != e.negated);
      }
      case EK::kUnary: {
        const Value v = eval(*e.kids[0], f);
        if (e.name == "not") return Value(!v.truthy());
        check_defined(v);
        if (!v.is_number()) throw Failure(cat("bad operand type for unary ", e.name, ": '", v.type_name(), "'"));
        if (e.name == "+") return v.is_float() ? v : Value(v.as_int());
        return v.is_float() ? Value(-v.as_float()) : Value(-v.as_int());
      }
      case EK::kBinary: {
        const Value a = eval(*e.kids[0], f);
        const Value b = eval(*e.kids[1], f);
        return binary(e.name, a, b);
      }
      case EK::kAnd: {
        Value a = eval(*e.kids[0], f);
        return a.truthy() ? eval(*e.kids[1], f) : a;
      }
      case EK::kOr: {
        Value a = eval(*e.kids[0], f);
        return a.truthy() ? a : eval(*e.kids[1], f);
      }
      case EK::kCompare: {
        Value left = eval(*e.kids[0], f);
        for (size_t i = 0; i < e.ops.size(); ++i) {
          Value right = eval(*e.kids[i + 1], f);
          if (!compare(e.ops[i], left, right)) return Value(false);
          left = std::move(right);
        }
        return Value(true);
      }
      case EK::kCond:
        if (eval(*e.kids[0], f).truthy()) return eval(*e.kids[1], f);
        return e.kids[2] ? eval(*e.kids[2], f) : Value::undefined();
    }
    return Value();
  }

  const std::string& origin_;
  const RenderLimits& lim_;
  Rendered result_;
  std::string* out_;
  const Value* hole_ = nullptr;
  int capturing_ = 0;
  int depth_ = 0;
  size_t total_ = 0;
  int64_t iterations_ = 0;
  int eval_depth_ = 0;
  static constexpr int kMaxEvalDepth = 3000;
  static constexpr size_t kStackReserve = size_t(1) << 20;
  std::vector<FramePtr> keep_;
};

}  // namespace

Template::Template(const std::string& source, std::string origin) : origin_(std::move(origin)) {
  body_ = std::make_shared<std::vector<NodePtr>>(parse(lex(source, origin_), origin_));
}
Template::~Template() = default;
Template::Template(Template&&) noexcept = default;
Template& Template::operator=(Template&&) noexcept = default;

Rendered Template::render(const std::vector<std::pair<std::string, Value>>& vars, const RenderLimits& limits) const {
  auto root = std::make_shared<Frame>();
  for (auto& [k, v] : global_functions()) root->vars[k] = std::move(v);
  for (const auto& [k, v] : vars) root->vars[k] = v;
  Interp in(origin_, limits);
  ValueBudget budget(limits.max_value_bytes, limits.max_built_bytes);
  try {
    return in.run(*body_, root);
  } catch (const Raised& r) {
    throw Error("tokenizer.jinja.raise_exception", r.what());
  }
}

}  // namespace tandem::tokenizer::jinja
