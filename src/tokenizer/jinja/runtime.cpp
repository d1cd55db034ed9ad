// jinja2's lookup rules and Python's sequence protocol over the value model:
// attribute vs item access (Environment.getattr/getitem), slicing, iteration, `in`, case
// mapping and "%" formatting.
// Not here: the method, filter, test and global tables (methods.cpp, filters.cpp, is_tests.cpp,
// globals.cpp).
#include <utf8proc.h>

#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "tokenizer/jinja/runtime.h"

namespace tandem::tokenizer::jinja {

namespace {

[[noreturn]] void undefined_access(const Value& obj) {
  throw Failure(obj.undefined_name().empty() ? std::string("undefined value has no attributes or items")
                                             : cat("'", obj.undefined_name(), "' is undefined"));
}

bool is_dict_method(const std::string& n) {
  static const char* kNames[] = {"get", "items", "keys", "values", "pop", "update", "setdefault",
                                 "clear", "popitem", "copy"};
  for (const char* k : kNames)
    if (n == k) return true;
  return false;
}

// Python's index normalisation: negative counts from the end; nullopt-like -1 when out of range.
int64_t norm_index(int64_t i, int64_t n) { return i < 0 ? i + n : i; }

}  // namespace

void check_hashable(const Value& v) {
  if ((v.is_list() && !v.is_tuple()) || v.is_mapping()) throw Failure(cat("unhashable type: '", v.type_name(), "'"));
}

int64_t to_index(const Value& v, const char* what) {
  if (v.is_number() && !v.is_float()) return v.as_int();
  throw Failure(cat(what, " must be an integer, not ", v.type_name()));
}

Value get_attr(const Value& obj, const std::string& name) {
  switch (obj.kind()) {
    case Kind::kUndefined: undefined_access(obj);
    case Kind::kDict:
      if (is_dict_method(name)) return method(obj, name);
      if (const Value* v = obj.as_dict().find_key(name)) return *v;
      return Value::undefined(name);
    case Kind::kNamespace:
      if (const Value* v = obj.as_dict().find_key(name)) return *v;
      return Value::undefined(name);
    case Kind::kString:
    case Kind::kList: {
      Value m = method(obj, name);
      return m.is_undefined() ? Value::undefined(name) : m;
    }
    default: return Value::undefined(name);
  }
}

Value get_item(const Value& obj, const Value& key) {
  switch (obj.kind()) {
    case Kind::kUndefined: undefined_access(obj);
    case Kind::kDict:
    case Kind::kNamespace:
      if (const Value* v = obj.as_dict().find(key)) return *v;
      if (key.is_string() && obj.is_dict() && is_dict_method(key.as_string())) return method(obj, key.as_string());
      return Value::undefined(key.is_string() ? key.as_string() : py_repr(key));
    case Kind::kList:
      if (key.is_number() && !key.is_float()) {
        const List& l = obj.as_list();
        const int64_t i = norm_index(key.as_int(), int64_t(l.size()));
        if (i < 0 || i >= int64_t(l.size())) return Value::undefined(cat("index ", key.as_int()));
        return l[size_t(i)];
      }
      if (key.is_string()) return get_attr(obj, key.as_string());
      return Value::undefined();
    case Kind::kString:
      if (key.is_number() && !key.is_float()) {
        const std::vector<uint32_t> cps = utf8_decode(obj.as_string());
        const int64_t i = norm_index(key.as_int(), int64_t(cps.size()));
        if (i < 0 || i >= int64_t(cps.size())) return Value::undefined(cat("index ", key.as_int()));
        std::string s;
        utf8_append(s, cps[size_t(i)]);
        return Value(std::move(s));
      }
      if (key.is_string()) return get_attr(obj, key.as_string());
      return Value::undefined();
    default: return Value::undefined();
  }
}

Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step) {
  if (obj.is_undefined()) undefined_access(obj);
  // jinja2 compiles slices to a plain Python subscript (not Environment.getitem), so slicing
  // something that is not a sequence is a TypeError rather than undefined.
  if (!obj.is_list() && !obj.is_string()) throw Failure(cat("'", obj.type_name(), "' object is not subscriptable"));
  const int64_t st = step.is_none() ? 1 : to_index(step, "slice step");
  if (st == 0) throw Failure("slice step cannot be zero");
  std::vector<uint32_t> cps;
  int64_t n;
  if (obj.is_string()) {
    cps = utf8_decode(obj.as_string());
    n = int64_t(cps.size());
  } else {
    n = int64_t(obj.as_list().size());
  }
  // PySlice_AdjustIndices.
  auto adjust = [&](const Value& v, int64_t dflt) {
    if (v.is_none()) return dflt;
    int64_t i = to_index(v, "slice index");
    if (i < 0) {
      i += n;
      if (i < 0) i = st < 0 ? -1 : 0;
    } else if (i >= n) {
      i = st < 0 ? n - 1 : n;
    }
    return i;
  };
  const int64_t a = adjust(start, st < 0 ? n - 1 : 0);
  const int64_t b = adjust(stop, st < 0 ? -1 : n);
  std::vector<int64_t> idx;
  if (st > 0)
    for (int64_t i = a; i < b; i += st) idx.push_back(i);
  else
    for (int64_t i = a; i > b; i += st) idx.push_back(i);
  if (obj.is_string()) {
    std::string s;
    for (int64_t i : idx) utf8_append(s, cps[size_t(i)]);
    return Value(std::move(s));
  }
  List out;
  for (int64_t i : idx) out.push_back(obj.as_list()[size_t(i)]);
  return Value::list(std::move(out), obj.is_tuple());
}

std::vector<Value> iterate(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined: return {};
    case Kind::kList: return v.as_list();
    case Kind::kDict: {
      std::vector<Value> keys;
      for (const auto& kv : v.as_dict().items) keys.push_back(kv.first);
      return keys;
    }
    case Kind::kString: {
      std::vector<Value> out;
      std::string ch;
      for (uint32_t cp : utf8_decode(v.as_string())) {
        ch.clear();
        utf8_append(ch, cp);
        out.emplace_back(ch);
      }
      return out;
    }
    default: throw Failure(cat("'", v.type_name(), "' object is not iterable"));
  }
}

bool contains(const Value& haystack, const Value& needle) {
  switch (haystack.kind()) {
    case Kind::kUndefined: return false;
    case Kind::kString:
      if (!needle.is_string())
        throw Failure(cat("'in <string>' requires string as left operand, not ", needle.type_name()));
      return haystack.as_string().find(needle.as_string()) != std::string::npos;
    case Kind::kList:
      for (const auto& x : haystack.as_list())
        if (py_equal(x, needle)) return true;
      return false;
    case Kind::kDict:
      check_hashable(needle);
      return haystack.as_dict().find(needle) != nullptr;
    default: throw Failure(cat("argument of type '", haystack.type_name(), "' is not iterable"));
  }
}

std::string str_lower(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s)
    if (c >= 0x80) {
      out.clear();
      for (uint32_t cp : utf8_decode(s)) utf8_append(out, uint32_t(utf8proc_tolower(utf8proc_int32_t(cp))));
      return out;
    } else {
      out += char(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
  return out;
}

std::string str_upper(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s)
    if (c >= 0x80) {
      out.clear();
      for (uint32_t cp : utf8_decode(s)) {
        if (cp == 0xDF) {  // Python's full case mapping: "ß".upper() == "SS"
          out += "SS";
          continue;
        }
        utf8_append(out, uint32_t(utf8proc_toupper(utf8proc_int32_t(cp))));
      }
      return out;
    } else {
      out += char(c >= 'a' && c <= 'z' ? c - 32 : c);
    }
  return out;
}

namespace {

// One conversion's flags, width and precision (Python's %-format: flags, then digits, then
// '.' and digits). Width and precision are bounded before any padding is built.
struct PercentSpec {
  std::string flags;
  int64_t width = -1, precision = -1;
  bool left() const { return flags.find('-') != std::string::npos; }
  std::string printf_prefix() const {
    std::string p = "%" + flags;
    if (width >= 0) p += std::to_string(width);
    if (precision >= 0) {
      p += '.';
      p += std::to_string(precision);
    }
    return p;
  }
};

int64_t spec_number(const std::string& fmt, size_t& j) {
  int64_t n = 0;
  while (j < fmt.size() && fmt[j] >= '0' && fmt[j] <= '9') {
    n = std::min<int64_t>(n * 10 + (fmt[j++] - '0'), int64_t(1) << 40);  // saturates; refused below
  }
  check_value_size(size_t(n), "formatted field");
  return n;
}

PercentSpec parse_spec(const std::string& fmt, size_t& j) {
  PercentSpec sp;
  while (j < fmt.size() && std::string_view("-+ #0").find(fmt[j]) != std::string_view::npos) sp.flags += fmt[j++];
  if (j < fmt.size() && fmt[j] >= '0' && fmt[j] <= '9') sp.width = spec_number(fmt, j);
  if (j < fmt.size() && fmt[j] == '.') {
    ++j;
    sp.precision = spec_number(fmt, j);
  }
  return sp;
}

// %s and %r: precision cuts and width pads by characters (code points), as Python does.
std::string format_text(const std::string& s, const PercentSpec& sp) {
  std::string out = s;
  if (sp.precision >= 0 && utf8_length(out) > size_t(sp.precision)) {
    std::vector<uint32_t> cps = utf8_decode(out);
    cps.resize(size_t(sp.precision));
    out = utf8_encode(cps);
  }
  const size_t len = utf8_length(out);
  if (sp.width > int64_t(len)) {
    const std::string pad(size_t(sp.width) - len, ' ');
    out = sp.left() ? out + pad : pad + out;
  }
  return out;
}

template <class T>
std::string format_c(const std::string& printf_fmt, T x) {
  const int n = std::snprintf(nullptr, 0, printf_fmt.c_str(), x);
  if (n < 0) throw Failure("bad format");
  std::string out(size_t(n) + 1, '\0');
  std::snprintf(out.data(), out.size(), printf_fmt.c_str(), x);
  out.resize(size_t(n));
  return out;
}

}  // namespace

std::string percent_format(const std::string& fmt, const Value& args) {
  std::vector<Value> vals;
  if (args.is_tuple())
    vals = args.as_list();
  else
    vals.push_back(args);
  std::string out;
  size_t k = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      out += fmt[i];
      continue;
    }
    size_t j = i + 1;
    const PercentSpec sp = parse_spec(fmt, j);
    if (j >= fmt.size()) throw Failure("incomplete format");
    const char c = fmt[j];
    i = j;
    if (c == '%') {
      out += '%';
      continue;
    }
    if (k >= vals.size()) throw Failure("not enough arguments for format string");
    const Value& v = vals[k++];
    if (c == 's' || c == 'r') {
      out += format_text(c == 's' ? py_str(v) : py_repr(v), sp);
    } else if (c == 'd' || c == 'i' || c == 'x' || c == 'X' || c == 'o') {
      if (!v.is_number()) throw Failure(cat("%", c, " format: a real number is required, not ", v.type_name()));
      // A float beyond long long has no C conversion (Python prints every digit): refused.
      if (v.is_float() && !(std::fabs(v.as_float()) < 9.2e18))
        throw Failure(cat("%", c, " format: ", py_repr(v), " is out of the supported integer range"));
      const long long n = v.is_float() ? (long long)v.as_float() : (long long)v.as_int();
      out += format_c(sp.printf_prefix() + "ll" + (c == 'i' ? 'd' : c), n);
    } else if (c == 'f' || c == 'F' || c == 'e' || c == 'E' || c == 'g' || c == 'G') {
      if (!v.is_number()) throw Failure(cat("must be real number, not ", v.type_name()));
      out += format_c(sp.printf_prefix() + c, v.as_float());
    } else {
      throw Failure(cat("unsupported format character '", std::string(1, c), "'"));
    }
    check_value_size(out.size(), "string");
  }
  // A list or dict argument counts as a mapping for Python's %, so leftovers are not an error.
  const bool mapping_like = !args.is_tuple() && (args.is_list() || args.is_dict() || args.is_undefined());
  if (k < vals.size() && !mapping_like) throw Failure("not all arguments converted during string formatting");
  return out;
}

}  // namespace tandem::tokenizer::jinja
