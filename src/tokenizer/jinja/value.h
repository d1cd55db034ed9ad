// The value model of the Jinja interpreter: what a template expression evaluates to.
// Semantics follow Python as jinja2 exposes it to templates (truthiness, 1 == 1.0 == True,
// str() of floats, repr() of strings inside lists and dicts), because chat templates are
// written against jinja2 and transformers and their output must match byte for byte.
// Lists and dicts are shared by pointer (cheap copies); they are never mutated after
// construction because transformers renders in an *immutable* sandbox. The one mutable
// object is namespace(), whose attributes `{% set ns.x = ... %}` assigns.
// Nesting is bounded where containers are made: a list or dict at most kMaxValueDepth levels
// deep (a template that wrapped a list 10^5 times overflowed the stack when the value was
// released), and a namespace never holds a namespace, even inside a list or dict (the one way to
// build a cycle, which shared pointers would leak). jinja2 allows both; no real template needs them.
// Not here: operators (interpreter), filters, tests and methods (their own files).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tandem::tokenizer::jinja {

// A template-level failure (type error, undefined access, bad filter argument). The interpreter
// catches it and rethrows a tandem::Error that names the template line and column.
struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// raise_exception("...") from a template: its message must reach the user verbatim.
struct Raised : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class Kind : uint8_t { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kCallable, kNamespace };

// What the values of one render may cost, held per thread while Template::render runs
// (RenderLimits::max_value_bytes and max_built_bytes): the bytes of any one string, list or dict
// (a list or dict counts sizeof(Value) per element), and the bytes of all of them together. A
// template can grow a value far faster than its output (`'ab' * 10**9`, replace,
// self-concatenation in a loop, str() or tojson of a list that holds one big list many times), or
// build a large value over and over in a long loop; either would exhaust memory or run for hours
// before a byte reached the output. Filters, methods and the Python helpers build values with no
// render at hand, hence a thread-local budget rather than a parameter through every one of them.
// Outside a render nothing is bounded.
class ValueBudget {
 public:
  ValueBudget(size_t max_value_bytes, size_t max_built_bytes);
  ~ValueBudget();
  ValueBudget(const ValueBudget&) = delete;
  ValueBudget& operator=(const ValueBudget&) = delete;
  static size_t value_limit();
  static size_t built();  // bytes counted so far in this thread's render

 private:
  size_t saved_[3];
};

// Counts a value of `bytes` being built: throws Failure when it alone, or all built so far,
// exceed the budget.
void count_built(size_t bytes, const char* what);
// Throws Failure naming `what` when `bytes` exceed the one-value bound: for strings checked while
// or before they are built (the Value made from one is counted by count_built).
void check_value_size(size_t bytes, const char* what);
// a * b, or SIZE_MAX when the product overflows (for checks made before building).
size_t saturating_mul(size_t a, size_t b);

class Value;
struct Dict;
struct Args;
using List = std::vector<Value>;
// Native functions, macros and bound methods. Args are already evaluated.
using NativeFn = std::function<Value(Args&)>;

class Value {
 public:
  Value() = default;  // undefined
  static Value undefined(std::string name = "") {
    Value v;
    v.str_ = std::move(name);
    return v;
  }
  static Value none() { return Value(Kind::kNone); }
  Value(bool b) : kind_(Kind::kBool), b_(b) {}
  Value(int v) : kind_(Kind::kInt), i_(v) {}
  Value(int64_t v) : kind_(Kind::kInt), i_(v) {}
  Value(double v) : kind_(Kind::kFloat), f_(v) {}
  Value(std::string s) : kind_(Kind::kString), str_(std::move(s)) { count_built(str_.size(), "string"); }
  Value(const char* s) : kind_(Kind::kString), str_(s) {}
  static Value list(List items, bool tuple = false);
  static Value dict(std::shared_ptr<Dict> d);
  static Value dict();
  static Value ns(std::shared_ptr<Dict> d);
  static Value callable(std::string name, NativeFn fn);
  static constexpr int kMaxValueDepth = 512;  // as tojson's limit

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_int() const { return kind_ == Kind::kInt; }
  bool is_float() const { return kind_ == Kind::kFloat; }
  bool is_number() const { return kind_ == Kind::kInt || kind_ == Kind::kFloat || kind_ == Kind::kBool; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_list() const { return kind_ == Kind::kList; }
  bool is_tuple() const { return kind_ == Kind::kList && tuple_; }
  bool is_dict() const { return kind_ == Kind::kDict; }
  bool is_namespace() const { return kind_ == Kind::kNamespace; }
  bool is_mapping() const { return kind_ == Kind::kDict || kind_ == Kind::kNamespace; }
  bool is_callable() const { return kind_ == Kind::kCallable; }

  bool as_bool() const { return b_; }
  int64_t as_int() const { return kind_ == Kind::kBool ? int64_t(b_) : i_; }
  double as_float() const { return kind_ == Kind::kFloat ? f_ : double(as_int()); }
  const std::string& as_string() const { return str_; }
  const std::string& undefined_name() const { return str_; }
  const List& as_list() const { return *list_; }
  const Dict& as_dict() const { return *dict_; }
  Dict& mutable_namespace() const { return *dict_; }
  const NativeFn& fn() const { return *fn_; }
  const std::string& fn_name() const { return str_; }
  int depth() const { return depth_; }  // 0 for scalars, 1 + the deepest element for containers
  bool holds_namespace() const { return holds_ns_; }  // a namespace anywhere inside this list or dict

  bool truthy() const;
  const char* type_name() const;  // Python's type name, for error messages

 private:
  explicit Value(Kind k) : kind_(k) {}
  Kind kind_ = Kind::kUndefined;
  bool b_ = false;
  bool tuple_ = false;
  bool holds_ns_ = false;
  uint16_t depth_ = 0;
  int64_t i_ = 0;
  double f_ = 0;
  std::string str_;  // string, undefined's name, callable's name
  std::shared_ptr<const List> list_;
  std::shared_ptr<Dict> dict_;
  std::shared_ptr<const NativeFn> fn_;
};

// Throws Failure unless e may become an attribute of a namespace (see the header comment).
void check_namespace_attribute(const Value& e);

// Insertion-ordered mapping, as Python's dict. Linear lookup: template dicts are small.
struct Dict {
  std::vector<std::pair<Value, Value>> items;
  const Value* find(const Value& key) const;
  const Value* find_key(std::string_view key) const;
  void set(Value key, Value value);
  size_t size() const { return items.size(); }
};

// Call arguments: positional then keyword, both evaluated.
struct Args {
  std::vector<Value> pos;
  std::vector<std::pair<std::string, Value>> kw;
  // Positional i, else keyword name, else dflt; marks the keyword used.
  Value get(size_t i, const char* name, Value dflt = Value()) const;
  bool has(size_t i, const char* name) const;
};

// Python semantics.
bool py_equal(const Value& a, const Value& b);
// <0, 0, >0; throws Failure for unorderable types ('<' not supported between ...).
int py_compare(const Value& a, const Value& b);
std::string py_str(const Value& v);   // str(v); undefined -> ""
std::string py_repr(const Value& v);  // repr(v)
std::string py_float_repr(double d);
std::string py_string_repr(std::string_view s);

// JSON in (nlohmann::ordered_json keeps the key order of the file, which tojson must reproduce).
Value from_json(const nlohmann::ordered_json& j);

// Python's json.dumps with transformers' tojson options. indent: <0 none; indent_str used when
// non-empty (a string indent). Separators default as Python's: (", ", ": ") without indent,
// (",", ": ") with one.
struct JsonDumpOptions {
  bool ensure_ascii = false;
  int indent = -1;
  std::string indent_str;
  bool has_separators = false;
  std::string item_sep, key_sep;
  bool sort_keys = false;
};
std::string py_json_dumps(const Value& v, const JsonDumpOptions& opt);

// UTF-8 helpers: Python strings index by code point.
size_t utf8_length(std::string_view s);
std::vector<uint32_t> utf8_decode(std::string_view s);
uint32_t utf8_decode_at(std::string_view s, size_t& i);  // the code point at byte i; i moves past it
std::string utf8_encode(const std::vector<uint32_t>& cps);
void utf8_append(std::string& out, uint32_t cp);

}  // namespace tandem::tokenizer::jinja
