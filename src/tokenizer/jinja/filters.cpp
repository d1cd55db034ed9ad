// jinja2's built-in filters that chat templates use, with jinja2's argument names and
// defaults, plus transformers' tojson (json.dumps with ensure_ascii=False; its positional
// order is ensure_ascii, indent, separators, sort_keys, which differs from jinja2's own).
// Not here: tests (is_tests.cpp), which select/reject call through apply_test.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <utf8proc.h>

#include "core/error.h"
#include "tokenizer/jinja/runtime.h"

namespace tandem::tokenizer::jinja {

namespace {

// attribute="a.b.0" as jinja's make_attrgetter: each part through getitem, digits as ints.
Value attr_path(const Value& v, const Value& attr) {
  if (!attr.is_string()) return get_item(v, attr);
  Value cur = v;
  const std::string& s = attr.as_string();
  size_t i = 0;
  while (true) {
    const size_t e = s.find('.', i);
    const std::string part = s.substr(i, e == std::string::npos ? std::string::npos : e - i);
    if (!part.empty() && part.find_first_not_of("0123456789") == std::string::npos)
      cur = get_item(cur, Value(int64_t(std::stoll(part))));
    else
      cur = get_item(cur, Value(part));
    if (e == std::string::npos) return cur;
    i = e + 1;
  }
}

// Sort key of jinja's ignore_case: strings lower-cased.
Value fold(const Value& v, bool case_sensitive) {
  return (!case_sensitive && v.is_string()) ? Value(str_lower(v.as_string())) : v;
}

int64_t length(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined: return 0;
    case Kind::kString: return int64_t(utf8_length(v.as_string()));
    case Kind::kList: return int64_t(v.as_list().size());
    case Kind::kDict: return int64_t(v.as_dict().size());
    default: throw Failure(cat("object of type '", v.type_name(), "' has no len()"));
  }
}

// Python int(str) / float(str): surrounding whitespace and underscores between digits allowed.
bool parse_int(const std::string& raw, int64_t base, int64_t* out) {
  std::string s = py_strip(raw, Value::none(), true, true);
  std::string t;
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i] != '_' || (i > 0 && i + 1 < s.size() && std::isalnum((unsigned char)s[i - 1]))) t += s[i];
  if (t.empty()) return false;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(t.c_str(), &end, int(base));
  if (errno || *end) return false;
  *out = v;
  return true;
}
bool parse_float(const std::string& raw, double* out) {
  const std::string s = py_strip(raw, Value::none(), true, true);
  if (s.empty()) return false;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (*end) return false;
  *out = v;
  return true;
}

List sorted(std::vector<Value> items, bool reverse, bool case_sensitive, const Value& attribute) {
  std::vector<std::pair<Value, Value>> keyed;
  for (auto& v : items) {
    Value k = attribute.is_undefined() || attribute.is_none() ? v : attr_path(v, attribute);
    keyed.emplace_back(fold(k, case_sensitive), std::move(v));
  }
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
    return reverse ? py_compare(b.first, a.first) < 0 : py_compare(a.first, b.first) < 0;
  });
  List out;
  for (auto& kv : keyed) out.push_back(std::move(kv.second));
  return out;
}

std::string indent(std::string s, const Value& width, bool first, bool blank) {
  const size_t n = width.is_string() ? 0 : size_t(std::max<int64_t>(0, to_index(width, "width")));
  check_value_size(n, "string");
  const std::string ind = width.is_string() ? width.as_string() : std::string(n, ' ');
  s += "\n";
  // str.splitlines on the boundaries templates meet: \n, \r\n, \r, \v, \f, \x1c-\x1e.
  std::vector<std::string> lines;
  std::string cur;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\n' || c == '\r' || c == '\v' || c == '\f' || (c >= 0x1c && c <= 0x1e)) {
      lines.push_back(cur);
      cur.clear();
      if (c == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) lines.push_back(cur);
  // Every line may gain the indent: bounded before anything is built.
  check_value_size(s.size() + saturating_mul(lines.size() + 1, ind.size()), "string");
  std::string rv;
  if (blank) {
    for (size_t i = 0; i < lines.size(); ++i) rv += (i ? "\n" + ind : "") + lines[i];
  } else {
    rv = lines.empty() ? "" : lines[0];
    for (size_t i = 1; i < lines.size(); ++i) rv += "\n" + (lines[i].empty() ? "" : ind) + lines[i];
  }
  return first ? ind + rv : rv;
}

std::string title(const std::string& s) {
  // jinja's do_title: words begin after runs of whitespace or -([{<.
  auto sep = [](uint32_t c) { return py_isspace(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<'; };
  std::vector<uint32_t> cps = utf8_decode(s);
  bool start = true;
  for (auto& cp : cps) {
    if (sep(cp)) {
      start = true;
      continue;
    }
    cp = uint32_t(start ? utf8proc_toupper(utf8proc_int32_t(cp)) : utf8proc_tolower(utf8proc_int32_t(cp)));
    start = false;
  }
  return utf8_encode(cps);
}

std::string html_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&#34;"; break;
      case '\'': o += "&#39;"; break;
      default: o += c;
    }
  }
  return o;
}

Value select(const Value& v, Args& a, bool by_attr, bool keep) {
  List out;
  const Value attr = by_attr ? a.get(0, "attribute") : Value();
  const size_t t0 = by_attr ? 1 : 0;
  const bool has_test = a.pos.size() > t0;
  std::string test;
  Args targs;
  if (has_test) {
    if (!a.pos[t0].is_string()) throw Failure("the test name must be a string");
    test = a.pos[t0].as_string();
    targs.pos.assign(a.pos.begin() + long(t0) + 1, a.pos.end());
    targs.kw = a.kw;
  }
  if (!v.truthy()) return Value::list(std::move(out));  // jinja2 yields nothing for a falsy input
  for (const Value& x : iterate(v)) {
    const Value subject = by_attr ? attr_path(x, attr) : x;
    const bool ok = has_test ? apply_test(test, subject, targs) : subject.truthy();
    if (ok == keep) out.push_back(x);
  }
  return Value::list(std::move(out));
}

Value tojson(const Value& v, Args& a) {
  JsonDumpOptions o;
  o.ensure_ascii = a.get(0, "ensure_ascii", Value(false)).truthy();
  const Value ind = a.get(1, "indent", Value::none());
  if (ind.is_string()) {
    o.indent_str = ind.as_string();
    o.indent = 0;
  } else if (!ind.is_none()) {
    const int64_t n = to_index(ind, "indent");
    check_value_size(size_t(std::max<int64_t>(n, 0)), "string");
    o.indent = int(std::clamp<int64_t>(n, 0, INT32_MAX));  // Python: a negative indent indents by ""
  }
  const Value sep = a.get(2, "separators", Value::none());
  if (!sep.is_none()) {
    const std::vector<Value> parts = iterate(sep);
    if (parts.size() != 2 || !parts[0].is_string() || !parts[1].is_string())
      throw Failure("tojson separators must be a pair of strings (item_separator, key_separator)");
    o.has_separators = true;
    o.item_sep = parts[0].as_string();
    o.key_sep = parts[1].as_string();
  }
  o.sort_keys = a.get(3, "sort_keys", Value(false)).truthy();
  return Value(py_json_dumps(v, o));
}

double round_half_even_digits(double x, int64_t nd) {
  // glibc's printf rounds the exact binary value correctly, which is what Python's round() does.
  char buf[512];
  std::snprintf(buf, sizeof(buf), "%.*f", int(std::clamp<int64_t>(nd, 0, 300)), x);
  return std::strtod(buf, nullptr);
}

}  // namespace

Value apply_filter(const std::string& n, const Value& v, Args& a) {
  if (n == "length" || n == "count") return Value(length(v));
  if (n == "default" || n == "d") {
    const bool boolean = a.get(1, "boolean", Value(false)).truthy();
    if (v.is_undefined() || (boolean && !v.truthy())) return a.get(0, "default_value", Value(""));
    return v;
  }
  if (n == "string") return Value(py_str(v));
  if (n == "safe") return v.is_string() ? v : Value(py_str(v));
  if (n == "escape" || n == "e") return Value(html_escape(py_str(v)));
  if (n == "upper") return Value(str_upper(py_str(v)));
  if (n == "lower") return Value(str_lower(py_str(v)));
  if (n == "title") return Value(title(py_str(v)));
  if (n == "capitalize") return Value(py_capitalize(py_str(v)));
  if (n == "trim") return Value(py_strip(py_str(v), a.get(0, "chars", Value::none()), true, true));
  if (n == "tojson") return tojson(v, a);
  if (n == "first" || n == "last") {
    std::vector<Value> items = iterate(v);
    if (items.empty()) return Value::undefined(cat("no ", n, " item, sequence was empty"));
    return n == "first" ? items.front() : items.back();
  }
  if (n == "join") {
    const Value attr = a.get(1, "attribute", Value::none());
    const std::string sep = py_str(a.get(0, "d", Value("")));
    std::string out;
    bool firstv = true;
    for (const Value& x : iterate(v)) {
      if (!firstv) out += sep;
      firstv = false;
      out += py_str(attr.is_none() ? x : attr_path(x, attr));
      check_value_size(out.size(), "string");
    }
    return Value(out);
  }
  if (n == "list") return Value::list(iterate(v));
  if (n == "items") {
    if (v.is_undefined()) return Value::list({});
    if (!v.is_dict()) throw Failure("Can only get item pairs from a mapping.");
    List out;
    for (const auto& [k, x] : v.as_dict().items) out.push_back(Value::list({k, x}, true));
    return Value::list(std::move(out));
  }
  if (n == "replace") {
    const Value count = a.get(2, "count", Value::none());
    Args ra;
    ra.pos = {Value(py_str(a.get(0, "old"))), Value(py_str(a.get(1, "new"))),
              count.is_none() ? Value(int64_t(-1)) : count};
    return method(Value(py_str(v)), "replace").fn()(ra);
  }
  if (n == "int") {
    const Value dflt = a.get(0, "default", Value(int64_t(0)));
    const int64_t base = to_index(a.get(1, "base", Value(int64_t(10))), "base");
    if (v.is_bool() || v.is_int()) return Value(v.as_int());
    // Python's int is unbounded; ours is 64-bit, so a float beyond it is refused, not wrapped.
    auto truncated = [](double d) {
      if (!(std::fabs(d) < 9.2e18)) throw Failure(cat("int(", py_float_repr(d), ") is out of the 64-bit integer range"));
      return Value(int64_t(d));
    };
    if (v.is_float()) return std::isfinite(v.as_float()) ? truncated(v.as_float()) : dflt;
    if (v.is_string()) {
      int64_t out;
      if (parse_int(v.as_string(), base, &out)) return Value(out);
      double d;
      if (parse_float(v.as_string(), &d) && std::isfinite(d)) return truncated(d);
    }
    return dflt;
  }
  if (n == "float") {
    const Value dflt = a.get(0, "default", Value(0.0));
    if (v.is_number()) return Value(v.as_float());
    double d;
    if (v.is_string() && parse_float(v.as_string(), &d)) return Value(d);
    return dflt;
  }
  if (n == "abs") {
    if (v.is_float()) return Value(std::fabs(v.as_float()));
    if (v.is_number()) return Value(v.as_int() < 0 ? -v.as_int() : v.as_int());
    throw Failure(cat("bad operand type for abs(): '", v.type_name(), "'"));
  }
  if (n == "round") {
    const int64_t prec = to_index(a.get(0, "precision", Value(int64_t(0))), "precision");
    const std::string method = py_str(a.get(1, "method", Value("common")));
    if (!v.is_number()) throw Failure(cat("type ", v.type_name(), " doesn't define __round__ method"));
    if (method == "common") {
      if (!v.is_float()) return Value(v.as_int());
      return Value(round_half_even_digits(v.as_float(), prec));
    }
    const double scale = std::pow(10.0, double(prec));
    if (method == "ceil") return Value(std::ceil(v.as_float() * scale) / scale);
    if (method == "floor") return Value(std::floor(v.as_float() * scale) / scale);
    throw Failure("method must be common, ceil or floor");
  }
  if (n == "reverse") {
    if (v.is_string()) {
      std::vector<uint32_t> cps = utf8_decode(v.as_string());
      std::reverse(cps.begin(), cps.end());
      return Value(utf8_encode(cps));
    }
    std::vector<Value> items = iterate(v);
    std::reverse(items.begin(), items.end());
    return Value::list(std::move(items));
  }
  if (n == "sort")
    return Value::list(sorted(iterate(v), a.get(0, "reverse", Value(false)).truthy(),
                              a.get(1, "case_sensitive", Value(false)).truthy(), a.get(2, "attribute")));
  if (n == "dictsort") {
    if (!v.is_dict()) throw Failure("dictsort needs a mapping");
    const bool cs = a.get(0, "case_sensitive", Value(false)).truthy();
    const std::string by = py_str(a.get(1, "by", Value("key")));
    const bool rev = a.get(2, "reverse", Value(false)).truthy();
    const int pos = by == "key" ? 0 : by == "value" ? 1 : -1;
    if (pos < 0) throw Failure("You can only sort by either \"key\" or \"value\"");
    List pairs;
    for (const auto& [k, x] : v.as_dict().items) pairs.push_back(Value::list({k, x}, true));
    return Value::list(sorted(pairs, rev, cs, Value(int64_t(pos))));
  }
  if (n == "unique") {
    const bool cs = a.get(0, "case_sensitive", Value(false)).truthy();
    const Value attr = a.get(1, "attribute", Value::none());
    List out, seen;
    for (const Value& x : iterate(v)) {
      const Value key = fold(attr.is_none() ? x : attr_path(x, attr), cs);
      check_hashable(key);
      bool dup = false;
      for (const auto& s : seen) dup |= py_equal(s, key);
      if (!dup) {
        seen.push_back(key);
        out.push_back(x);
      }
    }
    return Value::list(std::move(out));
  }
  if (n == "min" || n == "max") {
    const bool cs = a.get(0, "case_sensitive", Value(false)).truthy();
    const Value attr = a.get(1, "attribute", Value::none());
    std::vector<Value> items = iterate(v);
    if (items.empty()) return Value::undefined(cat("no ", n, " item, sequence was empty"));
    size_t best = 0;
    for (size_t i = 1; i < items.size(); ++i) {
      const Value ki = fold(attr.is_none() ? items[i] : attr_path(items[i], attr), cs);
      const Value kb = fold(attr.is_none() ? items[best] : attr_path(items[best], attr), cs);
      const int c = py_compare(ki, kb);
      if (n == "min" ? c < 0 : c > 0) best = i;
    }
    return items[best];
  }
  if (n == "sum") {
    const Value attr = a.get(0, "attribute", Value::none());
    Value acc = a.get(1, "start", Value(int64_t(0)));
    for (const Value& x : iterate(v)) {
      const Value y = attr.is_none() ? x : attr_path(x, attr);
      if (!y.is_number() || !acc.is_number()) throw Failure("sum() needs numbers");
      int64_t r = 0;
      if (!acc.is_float() && !y.is_float() && __builtin_add_overflow(acc.as_int(), y.as_int(), &r))
        throw Failure("integer overflow in sum");
      acc = (acc.is_float() || y.is_float()) ? Value(acc.as_float() + y.as_float()) : Value(r);
    }
    return acc;
  }
  if (n == "map") {
    List out;
    if (!v.truthy()) return Value::list(std::move(out));  // jinja2 yields nothing for a falsy input
    const Value attr = a.get(99, "attribute");  // keyword-only: no filter passes 99 positionals
    if (!attr.is_undefined()) {
      const Value dflt = a.get(99, "default");  // keyword-only
      for (const Value& x : iterate(v)) {
        Value y = attr_path(x, attr);
        out.push_back(y.is_undefined() && !dflt.is_undefined() ? dflt : y);
      }
      return Value::list(std::move(out));
    }
    if (a.pos.empty() || !a.pos[0].is_string()) throw Failure("map() needs a filter name or attribute=");
    const std::string f = a.pos[0].as_string();
    Args fa;
    fa.pos.assign(a.pos.begin() + 1, a.pos.end());
    fa.kw = a.kw;
    for (const Value& x : iterate(v)) {
      Args copy = fa;
      out.push_back(apply_filter(f, x, copy));
    }
    return Value::list(std::move(out));
  }
  if (n == "select" || n == "reject") return select(v, a, false, n == "select");
  if (n == "selectattr" || n == "rejectattr") return select(v, a, true, n == "selectattr");
  if (n == "attr") {  // Python getattr only: no item fallback, so dict keys are not attributes
    const std::string name = py_str(a.get(0, "name"));
    if (v.is_dict()) return method(v, name);
    return get_attr(v, name);
  }
  if (n == "indent") {
    // jinja2 appends "\n" to the value itself, which only works for strings.
    if (!v.is_string()) throw Failure(cat("indent needs a string, got ", v.type_name()));
    return Value(indent(v.as_string(), a.get(0, "width", Value(int64_t(4))), a.get(1, "first", Value(false)).truthy(),
                        a.get(2, "blank", Value(false)).truthy()));
  }
  if (n == "wordcount") {
    int64_t words = 0;
    bool in = false;
    for (uint32_t cp : utf8_decode(py_str(v))) {
      const auto c = utf8proc_category(utf8proc_int32_t(cp));
      const bool w = cp == '_' || (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO) ||
                     (c >= UTF8PROC_CATEGORY_ND && c <= UTF8PROC_CATEGORY_NO);
      words += w && !in;
      in = w;
    }
    return Value(words);
  }
  if (n == "format") return Value(percent_format(py_str(v), a.pos.size() == 1 && a.pos[0].is_tuple()
                                                                ? a.pos[0]
                                                                : Value::list(a.pos, true)));
  if (n == "center") {
    const std::string s = py_str(v);
    const int64_t w = to_index(a.get(0, "width", Value(int64_t(80))), "width");
    const int64_t len = int64_t(utf8_length(s));
    if (w <= len) return Value(s);
    check_value_size(size_t(w), "string");
    const int64_t pad = w - len, left = pad / 2 + (pad & w & 1);
    return Value(std::string(size_t(left), ' ') + s + std::string(size_t(pad - left), ' '));
  }
  throw Failure(cat("no filter named '", n, "'"));
}

}  // namespace tandem::tokenizer::jinja
