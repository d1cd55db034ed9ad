// jinja2's built-in tests (`x is defined`, `x is string`, `n is divisibleby 3`, ...), with
// jinja2's exact meanings where they surprise: booleans are numbers but not integers, an
// undefined value is iterable and a sequence, a dict is a sequence.
// Not here: the `is` syntax (parser.cpp).
#include <cmath>

#include "core/error.h"
#include "tokenizer/jinja/runtime.h"

namespace tandem::tokenizer::jinja {

namespace {

bool is_lower_or_upper(const Value& v, bool upper) {
  const std::string s = py_str(v);
  return s == (upper ? str_upper(s) : str_lower(s)) && s != (upper ? str_lower(s) : str_upper(s));
}

double num(const Value& v) {
  if (!v.is_number()) throw Failure(cat("unsupported operand type for %: '", v.type_name(), "'"));
  return v.as_float();
}

bool same_as(const Value& a, const Value& b) {
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Kind::kList:
    case Kind::kDict:
    case Kind::kNamespace: return &a.as_dict() == &b.as_dict() || (a.is_list() && &a.as_list() == &b.as_list());
    default: return py_equal(a, b);
  }
}

}  // namespace

bool has_test(const std::string& n) {
  static const char* kNames[] = {"defined", "undefined", "none", "string", "number", "integer", "float", "mapping",
                                 "iterable", "sequence", "boolean", "true", "false", "callable", "equalto", "eq", "==",
                                 "ne", "!=", "lt", "<", "lessthan", "le", "<=", "gt", ">", "greaterthan", "ge", ">=",
                                 "odd", "even", "divisibleby", "in", "sameas", "lower", "upper", "escaped", "filter",
                                 "test"};
  for (const char* k : kNames)
    if (n == k) return true;
  return false;
}

bool apply_test(const std::string& n, const Value& v, Args& a) {
  if (!has_test(n)) throw Failure(cat("no test named '", n, "'"));
  if (n == "defined") return !v.is_undefined();
  if (n == "undefined") return v.is_undefined();
  if (n == "none") return v.is_none();
  if (n == "string") return v.is_string();
  if (n == "number") return v.is_number();
  if (n == "integer") return v.is_int();
  if (n == "float") return v.is_float();
  if (n == "boolean") return v.is_bool();
  if (n == "true") return v.is_bool() && v.as_bool();
  if (n == "false") return v.is_bool() && !v.as_bool();
  if (n == "mapping") return v.is_dict();
  if (n == "iterable") return v.is_undefined() || v.is_string() || v.is_list() || v.is_dict();
  if (n == "sequence") return v.is_undefined() || v.is_string() || v.is_list() || v.is_dict();
  if (n == "callable") return v.is_callable() || v.is_undefined();  // Undefined defines __call__ (to fail)
  if (n == "escaped") return false;
  if (n == "lower") return is_lower_or_upper(v, false);
  if (n == "upper") return is_lower_or_upper(v, true);
  if (n == "odd" || n == "even") {
    const double r = std::fmod(num(v), 2.0);
    return n == "odd" ? (r == 1 || r == -1) : r == 0;
  }
  if (n == "filter" || n == "test") {
    if (!v.is_string()) return false;
    if (n == "test") return has_test(v.as_string());
    try {
      Args none;
      apply_filter(v.as_string(), Value::undefined(), none);
      return true;
    } catch (const Failure& f) {
      return std::string(f.what()).rfind("no filter named", 0) != 0;
    }
  }
  const Value other = a.get(0, "other");
  if (n == "divisibleby") {
    if (v.is_int() && other.is_int()) {
      if (other.as_int() == 0) throw Failure("integer division or modulo by zero");
      return v.as_int() % other.as_int() == 0;
    }
    return std::fmod(num(v), num(other)) == 0;
  }
  if (n == "equalto" || n == "eq" || n == "==") return py_equal(v, other);
  if (n == "ne" || n == "!=") return !py_equal(v, other);
  if (n == "in") return contains(a.get(0, "seq"), v);
  if (n == "sameas") return same_as(v, other);
  if (v.is_undefined() || other.is_undefined()) throw Failure("comparison with an undefined value");
  const int c = py_compare(v, other);
  if (n == "lt" || n == "<" || n == "lessthan") return c < 0;
  if (n == "le" || n == "<=") return c <= 0;
  if (n == "gt" || n == ">" || n == "greaterthan") return c > 0;
  if (n == "ge" || n == ">=") return c >= 0;
  throw Failure(cat("no test named '", n, "'"));
}

}  // namespace tandem::tokenizer::jinja
