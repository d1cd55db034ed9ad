// Python semantics of the value model: truthiness, equality, ordering, str() and repr(),
// float formatting, JSON input and UTF-8 code point helpers.
// Not here: json.dumps (pyjson.cpp), operators (interpreter.cpp).
#include "tokenizer/jinja/value.h"

#include <utf8proc.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "core/error.h"

namespace tandem::tokenizer::jinja {

namespace {

// Records what element e adds to its container: its depth and any namespace in it.
void contain(int& depth, bool& holds_ns, const Value& e) {
  depth = std::max(depth, e.depth() + 1);
  holds_ns = holds_ns || e.is_namespace() || e.holds_namespace();
}

void check_depth(int depth) {
  if (depth > Value::kMaxValueDepth)
    throw Failure(cat("value nested deeper than ", Value::kMaxValueDepth, " levels (lists or dicts inside each other)"));
}

thread_local size_t tl_value_limit = SIZE_MAX, tl_built_limit = SIZE_MAX, tl_built = 0;

std::string bytes_text(size_t n) { return n == SIZE_MAX ? std::string("more than 2^64") : std::to_string(n); }

}  // namespace

ValueBudget::ValueBudget(size_t max_value_bytes, size_t max_built_bytes) : saved_{tl_value_limit, tl_built_limit, tl_built} {
  tl_value_limit = max_value_bytes;
  tl_built_limit = max_built_bytes;
  tl_built = 0;
}
ValueBudget::~ValueBudget() {
  tl_value_limit = saved_[0];
  tl_built_limit = saved_[1];
  tl_built = saved_[2];
}
size_t ValueBudget::value_limit() { return tl_value_limit; }
size_t ValueBudget::built() { return tl_built; }

void check_value_size(size_t bytes, const char* what) {
  if (bytes > tl_value_limit)
    throw Failure(cat("a ", what, " of ", bytes_text(bytes), " bytes exceeds the limit of ", tl_value_limit,
                      " bytes for one template value"));
}

void count_built(size_t bytes, const char* what) {
  check_value_size(bytes, what);
  if (tl_built_limit == SIZE_MAX) return;  // no render in progress: nothing to count against
  tl_built = bytes > SIZE_MAX - tl_built ? SIZE_MAX : tl_built + bytes;
  if (tl_built > tl_built_limit)
    throw Failure(cat("the values this render built add up to more than ", tl_built_limit,
                      " bytes (the same large value made over and over?)"));
}

size_t saturating_mul(size_t a, size_t b) {
  size_t r;
  return __builtin_mul_overflow(a, b, &r) ? SIZE_MAX : r;
}

Value Value::list(List items, bool tuple) {
  count_built(saturating_mul(items.size(), sizeof(Value)), "list");
  Value v(Kind::kList);
  int depth = 1;
  for (const Value& e : items) contain(depth, v.holds_ns_, e);
  check_depth(depth);
  v.depth_ = uint16_t(depth);
  v.list_ = std::make_shared<const List>(std::move(items));
  v.tuple_ = tuple;
  return v;
}
Value Value::dict(std::shared_ptr<Dict> d) {
  count_built(saturating_mul(d->items.size(), 2 * sizeof(Value)), "dict");
  Value v(Kind::kDict);
  int depth = 1;
  for (const auto& [k, e] : d->items) {
    contain(depth, v.holds_ns_, k);
    contain(depth, v.holds_ns_, e);
  }
  check_depth(depth);
  v.depth_ = uint16_t(depth);
  v.dict_ = std::move(d);
  return v;
}
Value Value::dict() { return dict(std::make_shared<Dict>()); }
Value Value::ns(std::shared_ptr<Dict> d) {
  Value v(Kind::kNamespace);
  for (const auto& [k, e] : d->items) check_namespace_attribute(e);
  v.dict_ = std::move(d);
  return v;
}

void check_namespace_attribute(const Value& e) {
  if (e.is_namespace() || e.holds_namespace())
    throw Failure("a namespace cannot hold a namespace, not even inside a list or dict (that could make a cycle)");
  check_depth(e.depth() + 1);
}
Value Value::callable(std::string name, NativeFn fn) {
  Value v(Kind::kCallable);
  v.str_ = std::move(name);
  v.fn_ = std::make_shared<const NativeFn>(std::move(fn));
  return v;
}

bool Value::truthy() const {
  switch (kind_) {
    case Kind::kUndefined:
    case Kind::kNone: return false;
    case Kind::kBool: return b_;
    case Kind::kInt: return i_ != 0;
    case Kind::kFloat: return f_ != 0.0;
    case Kind::kString: return !str_.empty();
    case Kind::kList: return !list_->empty();
    case Kind::kDict: return dict_->size() != 0;
    case Kind::kCallable:
    case Kind::kNamespace: return true;
  }
  return false;
}

const char* Value::type_name() const {
  switch (kind_) {
    case Kind::kUndefined: return "Undefined";
    case Kind::kNone: return "NoneType";
    case Kind::kBool: return "bool";
    case Kind::kInt: return "int";
    case Kind::kFloat: return "float";
    case Kind::kString: return "str";
    case Kind::kList: return tuple_ ? "tuple" : "list";
    case Kind::kDict: return "dict";
    case Kind::kCallable: return "function";
    case Kind::kNamespace: return "Namespace";
  }
  return "?";
}

const Value* Dict::find(const Value& key) const {
  for (const auto& [k, v] : items)
    if (py_equal(k, key)) return &v;
  return nullptr;
}
const Value* Dict::find_key(std::string_view key) const {
  for (const auto& [k, v] : items)
    if (k.is_string() && k.as_string() == key) return &v;
  return nullptr;
}
void Dict::set(Value key, Value value) {
  for (auto& [k, v] : items)
    if (py_equal(k, key)) {
      v = std::move(value);
      return;
    }
  items.emplace_back(std::move(key), std::move(value));
}

Value Args::get(size_t i, const char* name, Value dflt) const {
  if (i < pos.size()) return pos[i];
  for (const auto& [k, v] : kw)
    if (k == name) return v;
  return dflt;
}
bool Args::has(size_t i, const char* name) const {
  if (i < pos.size()) return true;
  for (const auto& kv : kw)
    if (kv.first == name) return true;
  return false;
}

bool py_equal(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_float() == b.as_float();
    return a.as_int() == b.as_int();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Kind::kUndefined:
    case Kind::kNone: return true;
    case Kind::kString: return a.as_string() == b.as_string();
    case Kind::kList: {
      const List &x = a.as_list(), &y = b.as_list();
      if (x.size() != y.size() || a.is_tuple() != b.is_tuple()) return false;
      for (size_t i = 0; i < x.size(); ++i)
        if (!py_equal(x[i], y[i])) return false;
      return true;
    }
    case Kind::kDict:
    case Kind::kNamespace: {
      if (&a.as_dict() == &b.as_dict()) return true;
      if (a.is_namespace()) return false;  // identity only, as Python objects
      if (a.as_dict().size() != b.as_dict().size()) return false;
      for (const auto& [k, v] : a.as_dict().items) {
        const Value* o = b.as_dict().find(k);
        if (!o || !py_equal(v, *o)) return false;
      }
      return true;
    }
    case Kind::kCallable: return &a.fn() == &b.fn();
    default: return false;
  }
}

int py_compare(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) {
      const double x = a.as_float(), y = b.as_float();
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    const int64_t x = a.as_int(), y = b.as_int();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.is_string() && b.is_string()) {
    // Byte order of UTF-8 is code point order, which is Python's str order.
    const int c = a.as_string().compare(b.as_string());
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if (a.is_list() && b.is_list() && a.is_tuple() == b.is_tuple()) {
    const List &x = a.as_list(), &y = b.as_list();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (py_equal(x[i], y[i])) continue;
      return py_compare(x[i], y[i]);
    }
    return x.size() < y.size() ? -1 : (x.size() > y.size() ? 1 : 0);
  }
  throw Failure(cat("'<' not supported between instances of '", a.type_name(), "' and '", b.type_name(), "'"));
}

std::string py_float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
  // Shortest round-trip digits, then Python's repr layout: fixed for 1e-4 <= |d| < 1e16, else
  // scientific with a signed, at least two-digit exponent.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  std::string s(buf, res.ptr);
  std::string sign;
  if (s[0] == '-') {
    sign = "-";
    s = s.substr(1);
  }
  const size_t e = s.find('e');
  std::string mant = s.substr(0, e);
  const int exp = std::stoi(s.substr(e + 1));
  std::string digits;
  for (char c : mant)
    if (c != '.') digits += c;
  std::string out;
  if (exp >= -4 && exp < 16) {
    if (exp >= 0) {
      if (int(digits.size()) <= exp + 1) {
        out = digits + std::string(exp + 1 - digits.size(), '0') + ".0";
      } else {
        out = digits.substr(0, exp + 1) + "." + digits.substr(exp + 1);
      }
    } else {
      out = "0." + std::string(-exp - 1, '0') + digits;
    }
  } else {
    out = digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char eb[16];
    std::snprintf(eb, sizeof(eb), "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    out += eb;
  }
  return sign + out;
}

namespace {
bool py_printable(uint32_t cp) {
  if (cp == ' ') return true;
  if (cp < 0x20 || cp == 0x7f) return false;
  if (cp < 0x7f) return true;
  switch (utf8proc_category(utf8proc_int32_t(cp))) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CN:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
    case UTF8PROC_CATEGORY_ZS: return false;
    default: return true;
  }
}
}  // namespace

std::string py_string_repr(std::string_view s) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char q = (has_single && !has_double) ? '"' : '\'';
  std::string out;
  out.reserve(s.size() + 2);
  out += q;
  for (size_t i = 0; i < s.size();) {
    // Runs of printable ASCII, most of any text, are copied whole.
    size_t run = i;
    while (run < s.size() && s[run] >= 0x20 && s[run] < 0x7f && s[run] != q && s[run] != '\\') ++run;
    if (run > i) {
      out.append(s, i, run - i);
      i = run;
      continue;
    }
    const uint32_t cp = utf8_decode_at(s, i);
    if (cp == uint32_t(q) || cp == '\\') {
      out += '\\';
      out += char(cp);
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (py_printable(cp)) {
      utf8_append(out, cp);
    } else {
      char b[16];
      if (cp < 0x100)
        std::snprintf(b, sizeof(b), "\\x%02x", cp);
      else if (cp < 0x10000)
        std::snprintf(b, sizeof(b), "\\u%04x", cp);
      else
        std::snprintf(b, sizeof(b), "\\U%08x", cp);
      out += b;
    }
  }
  out += q;
  return out;
}

std::string py_str(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined: return "";
    case Kind::kString: return v.as_string();
    default: return py_repr(v);
  }
}

std::string py_repr(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined: return "Undefined";
    case Kind::kNone: return "None";
    case Kind::kBool: return v.as_bool() ? "True" : "False";
    case Kind::kInt: return std::to_string(v.as_int());
    case Kind::kFloat: return py_float_repr(v.as_float());
    case Kind::kString: return py_string_repr(v.as_string());
    case Kind::kList: {
      std::string out = v.is_tuple() ? "(" : "[";
      const List& l = v.as_list();
      for (size_t i = 0; i < l.size(); ++i) {
        if (i) out += ", ";
        out += py_repr(l[i]);
        // Checked as it grows: a list can hold one big list many times at no cost in memory.
        check_value_size(out.size(), "string");
      }
      if (v.is_tuple() && l.size() == 1) out += ",";
      out += v.is_tuple() ? ")" : "]";
      return out;
    }
    case Kind::kDict:
    case Kind::kNamespace: {
      std::string out = v.is_namespace() ? "<Namespace {" : "{";
      bool first = true;
      for (const auto& [k, x] : v.as_dict().items) {
        if (!first) out += ", ";
        first = false;
        out += py_repr(k) + ": " + py_repr(x);
        check_value_size(out.size(), "string");
      }
      return out + (v.is_namespace() ? "}>" : "}");
    }
    case Kind::kCallable: return cat("<function ", v.fn_name(), ">");
  }
  return "";
}

Value from_json(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return Value::none();
    case nlohmann::ordered_json::value_t::boolean: return Value(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return Value(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: return Value(int64_t(j.get<uint64_t>()));
    case nlohmann::ordered_json::value_t::number_float: return Value(j.get<double>());
    case nlohmann::ordered_json::value_t::string: return Value(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      List l;
      l.reserve(j.size());
      for (const auto& x : j) l.push_back(from_json(x));
      return Value::list(std::move(l));
    }
    case nlohmann::ordered_json::value_t::object: {
      auto d = std::make_shared<Dict>();
      d->items.reserve(j.size());
      for (auto it = j.begin(); it != j.end(); ++it) d->items.emplace_back(Value(it.key()), from_json(it.value()));
      return Value::dict(std::move(d));
    }
    default: return Value::none();
  }
}

void utf8_append(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

uint32_t utf8_decode_at(std::string_view s, size_t& i) {
  // Invalid bytes decode to themselves so that no input is lost (inputs come from JSON, so valid).
  const unsigned char c = s[i];
  int n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
  if (i + n > s.size()) n = 1;
  uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
  for (int k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  i += n;
  return cp;
}

std::vector<uint32_t> utf8_decode(std::string_view s) {
  std::vector<uint32_t> out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) out.push_back(utf8_decode_at(s, i));
  return out;
}

std::string utf8_encode(const std::vector<uint32_t>& cps) {
  std::string out;
  out.reserve(cps.size());
  for (uint32_t cp : cps) utf8_append(out, cp);
  return out;
}

size_t utf8_length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace tandem::tokenizer::jinja
