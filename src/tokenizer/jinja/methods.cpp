// Python methods that templates call on values: str (startswith, split, strip, format, ...),
// dict (get, items, keys, values) and list (index, count). Methods that mutate (list.append,
// dict.update, ...) exist but fail when called, with jinja2's ImmutableSandboxedEnvironment
// message, because transformers renders in that sandbox and a template relying on them fails
// there too.
// Not here: attribute lookup order (runtime.cpp).
#include <utf8proc.h>

#include <algorithm>

#include "core/error.h"
#include "tokenizer/jinja/runtime.h"

namespace tandem::tokenizer::jinja {

bool py_isspace(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0d) || (cp >= 0x1c && cp <= 0x20) || cp == 0x85 || cp == 0xa0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f ||
         cp == 0x3000;
}

std::string py_strip(const std::string& s, const Value& chars, bool left, bool right) {
  std::vector<uint32_t> set;
  const bool ws = chars.is_none() || chars.is_undefined();
  if (!ws) {
    if (!chars.is_string()) throw Failure(cat("strip arg must be None or str, not ", chars.type_name()));
    set = utf8_decode(chars.as_string());
  }
  auto strip_it = [&](uint32_t cp) {
    if (ws) return py_isspace(cp);
    for (uint32_t c : set)
      if (c == cp) return true;
    return false;
  };
  const std::vector<uint32_t> cps = utf8_decode(s);
  size_t a = 0, b = cps.size();
  if (left)
    while (a < b && strip_it(cps[a])) ++a;
  if (right)
    while (b > a && strip_it(cps[b - 1])) --b;
  return utf8_encode(std::vector<uint32_t>(cps.begin() + long(a), cps.begin() + long(b)));
}

std::string py_capitalize(const std::string& s) {
  std::vector<uint32_t> cps = utf8_decode(s);
  for (size_t i = 0; i < cps.size(); ++i)
    cps[i] = uint32_t(i == 0 ? utf8proc_totitle(utf8proc_int32_t(cps[i])) : utf8proc_tolower(utf8proc_int32_t(cps[i])));
  return utf8_encode(cps);
}

namespace {

bool is_cased(uint32_t cp) {
  const auto c = utf8proc_category(utf8proc_int32_t(cp));
  return c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LL || c == UTF8PROC_CATEGORY_LT;
}

std::string py_title(const std::string& s) {
  std::vector<uint32_t> cps = utf8_decode(s);
  bool prev_cased = false;
  for (auto& cp : cps) {
    const bool cased = is_cased(cp);
    cp = uint32_t(prev_cased ? utf8proc_tolower(utf8proc_int32_t(cp)) : utf8proc_totitle(utf8proc_int32_t(cp)));
    prev_cased = cased;
  }
  return utf8_encode(cps);
}

std::string need_str(const Value& v, const char* what) {
  if (!v.is_string()) throw Failure(cat(what, " must be str, not ", v.type_name()));
  return v.as_string();
}

// split/rsplit. sep none: runs of whitespace, with Python's maxsplit rules.
List split(const std::string& s, const Value& sep, int64_t maxsplit, bool from_right) {
  List out;
  if (sep.is_none() || sep.is_undefined()) {
    std::vector<uint32_t> cps = utf8_decode(s);
    std::vector<std::string> parts;
    if (!from_right) {
      size_t i = 0;
      while (true) {
        while (i < cps.size() && py_isspace(cps[i])) ++i;
        if (i >= cps.size()) break;
        if (maxsplit >= 0 && int64_t(parts.size()) == maxsplit) {
          size_t e = cps.size();
          parts.push_back(utf8_encode(std::vector<uint32_t>(cps.begin() + long(i), cps.begin() + long(e))));
          break;
        }
        size_t j = i;
        while (j < cps.size() && !py_isspace(cps[j])) ++j;
        parts.push_back(utf8_encode(std::vector<uint32_t>(cps.begin() + long(i), cps.begin() + long(j))));
        i = j;
      }
    } else {
      size_t i = cps.size();
      while (true) {
        while (i > 0 && py_isspace(cps[i - 1])) --i;
        if (i == 0) break;
        if (maxsplit >= 0 && int64_t(parts.size()) == maxsplit) {
          parts.push_back(utf8_encode(std::vector<uint32_t>(cps.begin(), cps.begin() + long(i))));
          break;
        }
        size_t j = i;
        while (j > 0 && !py_isspace(cps[j - 1])) --j;
        parts.push_back(utf8_encode(std::vector<uint32_t>(cps.begin() + long(j), cps.begin() + long(i))));
        i = j;
      }
      std::reverse(parts.begin(), parts.end());
    }
    for (auto& p : parts) out.emplace_back(std::move(p));
    return out;
  }
  const std::string d = need_str(sep, "separator");
  if (d.empty()) throw Failure("empty separator");
  std::vector<std::string> parts;
  if (!from_right) {
    size_t i = 0;
    for (size_t p; (maxsplit < 0 || int64_t(parts.size()) < maxsplit) && (p = s.find(d, i)) != std::string::npos;
         i = p + d.size())
      parts.push_back(s.substr(i, p - i));
    parts.push_back(s.substr(i));
  } else {
    size_t end = s.size();
    while (maxsplit < 0 || int64_t(parts.size()) < maxsplit) {
      if (end < d.size()) break;
      const size_t p = s.rfind(d, end - d.size());
      if (p == std::string::npos) break;
      parts.push_back(s.substr(p + d.size(), end - p - d.size()));
      end = p;
    }
    parts.push_back(s.substr(0, end));
    std::reverse(parts.begin(), parts.end());
  }
  for (auto& p : parts) out.emplace_back(std::move(p));
  return out;
}

std::string replace(const std::string& s, const std::string& old, const std::string& rep, int64_t count) {
  std::string out;
  if (old.empty()) {
    int64_t n = 0;
    const std::vector<uint32_t> cps = utf8_decode(s);
    for (size_t i = 0; i <= cps.size(); ++i) {
      if (count < 0 || n < count) {
        out += rep;
        ++n;
        check_value_size(out.size(), "string");
      }
      if (i < cps.size()) utf8_append(out, cps[i]);
    }
    return out;
  }
  size_t i = 0;
  int64_t n = 0;
  for (size_t p; (count < 0 || n < count) && (p = s.find(old, i)) != std::string::npos; i = p + old.size(), ++n) {
    out.append(s, i, p - i);
    out += rep;
    check_value_size(out.size(), "string");
  }
  out.append(s, i, std::string::npos);
  return out;
}

bool affix(const std::string& s, const Value& what, bool start) {
  auto one = [&](const Value& v) {
    const std::string a = need_str(v, start ? "startswith first arg" : "endswith first arg");
    if (a.size() > s.size()) return false;
    return start ? s.compare(0, a.size(), a) == 0 : s.compare(s.size() - a.size(), a.size(), a) == 0;
  };
  if (what.is_tuple()) {
    for (const auto& v : what.as_list())
      if (one(v)) return true;
    return false;
  }
  return one(what);
}

// str.format: {} {0} {name} {name.attr} {0[key]} and {{ }}; a format spec after ':' is only
// honoured when empty (templates use none).
std::string format(const std::string& fmt, const Args& a) {
  std::string out;
  size_t auto_idx = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    const char c = fmt[i];
    if (c == '{' && i + 1 < fmt.size() && fmt[i + 1] == '{') {
      out += '{';
      ++i;
    } else if (c == '}' && i + 1 < fmt.size() && fmt[i + 1] == '}') {
      out += '}';
      ++i;
    } else if (c == '{') {
      const size_t e = fmt.find('}', i);
      if (e == std::string::npos) throw Failure("Single '{' encountered in format string");
      std::string field = fmt.substr(i + 1, e - i - 1);
      if (field.find(':') != std::string::npos || field.find('!') != std::string::npos)
        throw Failure(cat("format spec or conversion in '{", field, "}' is not supported"));
      size_t cut = field.find_first_of(".[");
      std::string head = field.substr(0, cut);
      Value v;
      if (head.empty()) {
        if (auto_idx >= a.pos.size()) throw Failure("Replacement index out of range for positional args tuple");
        v = a.pos[auto_idx++];
      } else if (head.find_first_not_of("0123456789") == std::string::npos) {
        const size_t k = std::stoul(head);
        if (k >= a.pos.size()) throw Failure("Replacement index out of range for positional args tuple");
        v = a.pos[k];
      } else {
        bool found = false;
        for (const auto& [n, x] : a.kw)
          if (n == head) v = x, found = true;
        if (!found) throw Failure(cat("KeyError: '", head, "'"));
      }
      while (cut != std::string::npos && cut < field.size()) {
        if (field[cut] == '.') {
          const size_t nx = field.find_first_of(".[", cut + 1);
          v = get_attr(v, field.substr(cut + 1, nx == std::string::npos ? std::string::npos : nx - cut - 1));
          cut = nx;
        } else {
          const size_t close = field.find(']', cut);
          std::string key = field.substr(cut + 1, close - cut - 1);
          v = key.find_first_not_of("0123456789") == std::string::npos && !key.empty()
                  ? get_item(v, Value(int64_t(std::stoll(key))))
                  : get_item(v, Value(key));
          cut = close + 1 < field.size() ? close + 1 : std::string::npos;
        }
      }
      out += py_str(v);
      i = e;
    } else if (c == '}') {
      throw Failure("Single '}' encountered in format string");
    } else {
      out += c;
    }
  }
  return out;
}

Value unsafe(const Value& obj, const std::string& name) {
  const std::string msg = cat("access to attribute '", name, "' of '", obj.type_name(), "' object is unsafe.");
  return Value::callable(name, [msg](Args&) -> Value { throw Failure(msg); });
}

Value string_method(const Value& obj, const std::string& name) {
  const std::string s = obj.as_string();
  auto m = [&](auto fn) { return Value::callable(name, fn); };
  if (name == "startswith" || name == "endswith") {
    const bool start = name == "startswith";
    return m([s, start](Args& a) { return Value(affix(s, a.get(0, "prefix"), start)); });
  }
  if (name == "split" || name == "rsplit") {
    const bool right = name == "rsplit";
    return m([s, right](Args& a) {
      const Value ms = a.get(1, "maxsplit", Value(int64_t(-1)));
      return Value::list(split(s, a.get(0, "sep", Value::none()), to_index(ms, "maxsplit"), right));
    });
  }
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    const bool l = name != "rstrip", r = name != "lstrip";
    return m([s, l, r](Args& a) { return Value(py_strip(s, a.get(0, "chars", Value::none()), l, r)); });
  }
  if (name == "replace")
    return m([s](Args& a) {
      return Value(replace(s, need_str(a.get(0, "old"), "replace() argument 1"),
                           need_str(a.get(1, "new"), "replace() argument 2"),
                           to_index(a.get(2, "count", Value(int64_t(-1))), "count")));
    });
  if (name == "upper") return m([s](Args&) { return Value(str_upper(s)); });
  if (name == "lower") return m([s](Args&) { return Value(str_lower(s)); });
  if (name == "title") return m([s](Args&) { return Value(py_title(s)); });
  if (name == "capitalize") return m([s](Args&) { return Value(py_capitalize(s)); });
  if (name == "format") return m([s](Args& a) { return Value(format(s, a)); });
  if (name == "find" || name == "rfind" || name == "index" || name == "rindex") {
    const bool right = name[0] == 'r', raise = name.find("index") != std::string::npos;
    return m([s, right, raise](Args& a) {
      const std::string sub = need_str(a.get(0, "sub"), "must be str");
      const size_t p = right ? s.rfind(sub) : s.find(sub);
      if (p == std::string::npos) {
        if (raise) throw Failure("substring not found");
        return Value(int64_t(-1));
      }
      return Value(int64_t(utf8_length(std::string_view(s).substr(0, p))));
    });
  }
  if (name == "count")
    return m([s](Args& a) {
      const std::string sub = need_str(a.get(0, "sub"), "must be str");
      if (sub.empty()) return Value(int64_t(utf8_length(s) + 1));
      int64_t n = 0;
      for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
      return Value(n);
    });
  if (name == "join")
    return m([s](Args& a) {
      std::string out;
      size_t i = 0;
      for (const Value& v : iterate(a.get(0, "iterable"))) {
        if (!v.is_string()) throw Failure(cat("sequence item ", i, ": expected str instance, ", v.type_name(), " found"));
        if (i++) out += s;
        out += v.as_string();
        check_value_size(out.size(), "string");
      }
      return Value(out);
    });
  if (name == "splitlines")
    return m([s](Args&) {
      List out;
      std::string cur;
      for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\n' || s[i] == '\r') {
          out.emplace_back(cur);
          cur.clear();
          if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
        } else {
          cur += s[i];
        }
      }
      if (!cur.empty()) out.emplace_back(cur);
      return Value::list(std::move(out));
    });
  if (name == "removeprefix" || name == "removesuffix") {
    const bool pre = name == "removeprefix";
    return m([s, pre](Args& a) {
      const std::string x = need_str(a.get(0, "prefix"), "argument");
      if (affix(s, Value(x), pre)) return Value(pre ? s.substr(x.size()) : s.substr(0, s.size() - x.size()));
      return Value(s);
    });
  }
  if (name == "isspace" || name == "isdigit" || name == "isalpha" || name == "isalnum" || name == "islower" ||
      name == "isupper")
    return m([s, name](Args&) {
      const std::vector<uint32_t> cps = utf8_decode(s);
      if (cps.empty()) return Value(false);
      if (name == "islower" || name == "isupper") {
        const bool up = name == "isupper";
        bool any = false;
        for (uint32_t cp : cps) {
          if (!is_cased(cp)) continue;
          any = true;
          const bool is_up = utf8proc_category(utf8proc_int32_t(cp)) != UTF8PROC_CATEGORY_LL;
          if (is_up != up) return Value(false);
        }
        return Value(any);
      }
      for (uint32_t cp : cps) {
        const auto c = utf8proc_category(utf8proc_int32_t(cp));
        const bool digit = c == UTF8PROC_CATEGORY_ND;
        const bool alpha = c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO;
        const bool ok = name == "isspace"   ? py_isspace(cp)
                        : name == "isdigit" ? digit
                        : name == "isalpha" ? alpha
                                            : (digit || alpha);
        if (!ok) return Value(false);
      }
      return Value(true);
    });
  return Value::undefined(name);
}

}  // namespace

Value method(const Value& obj, const std::string& name) {
  if (obj.is_string()) return string_method(obj, name);
  if (obj.is_dict()) {
    if (name == "get")
      return Value::callable(name, [obj](Args& a) {
        const Value* v = obj.as_dict().find(a.get(0, "key"));
        return v ? *v : a.get(1, "default", Value::none());
      });
    if (name == "items" || name == "keys" || name == "values")
      return Value::callable(name, [obj, name](Args&) {
        List out;
        for (const auto& [k, v] : obj.as_dict().items)
          out.push_back(name == "keys" ? k : name == "values" ? v : Value::list({k, v}, true));
        return Value::list(std::move(out));
      });
    if (name == "copy") return Value::callable(name, [obj](Args&) {
      return Value::dict(std::make_shared<Dict>(obj.as_dict()));
    });
    if (name == "pop" || name == "update" || name == "setdefault" || name == "clear" || name == "popitem")
      return unsafe(obj, name);
    return Value::undefined(name);
  }
  if (obj.is_list()) {
    if (name == "index")
      return Value::callable(name, [obj](Args& a) {
        const Value x = a.get(0, "value");
        const List& l = obj.as_list();
        for (size_t i = 0; i < l.size(); ++i)
          if (py_equal(l[i], x)) return Value(int64_t(i));
        throw Failure(cat(py_repr(x), " is not in list"));
      });
    if (name == "count")
      return Value::callable(name, [obj](Args& a) {
        int64_t n = 0;
        for (const auto& v : obj.as_list()) n += py_equal(v, a.get(0, "value"));
        return Value(n);
      });
    if (!obj.is_tuple() && (name == "append" || name == "pop" || name == "insert" || name == "extend" ||
                            name == "remove" || name == "clear" || name == "sort" || name == "reverse"))
      return unsafe(obj, name);
  }
  return Value::undefined(name);
}

}  // namespace tandem::tokenizer::jinja
