// Python's json.dumps over template values, as transformers' tojson filter calls it
// (json.dumps(x, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys)).
// Tool schemas are printed into prompts with it, so escaping, float text, key order and the
// separators with and without indent must match Python exactly.
// Not here: parsing JSON (nlohmann in value.cpp).
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "tokenizer/jinja/value.h"

namespace tandem::tokenizer::jinja {

namespace {

// The escapes json.dumps writes in both modes; false for characters it passes through.
bool short_escape(std::string& out, uint32_t c) {
  switch (c) {
    case '"': out += "\\\""; return true;
    case '\\': out += "\\\\"; return true;
    case '\n': out += "\\n"; return true;
    case '\r': out += "\\r"; return true;
    case '\t': out += "\\t"; return true;
    case '\b': out += "\\b"; return true;
    case '\f': out += "\\f"; return true;
    default: return false;
  }
}

void dump_string(std::string& out, const std::string& s, bool ensure_ascii) {
  out += '"';
  auto hex4 = [&](uint32_t u) {
    char b[16];
    std::snprintf(b, sizeof(b), "\\u%04x", u);
    out += b;
  };
  if (!ensure_ascii) {  // bytes pass through: UTF-8 stays UTF-8
    for (unsigned char c : s) {
      if (short_escape(out, c)) continue;
      if (c < 0x20) hex4(c);
      else out += char(c);
    }
  } else {  // every non-ASCII code point as \uXXXX, astral ones as a surrogate pair
    for (uint32_t cp : utf8_decode(s)) {
      if (short_escape(out, cp)) continue;
      if (cp < 0x20 || (cp > 0x7e && cp < 0x10000)) {
        hex4(cp);
      } else if (cp >= 0x10000) {
        const uint32_t v = cp - 0x10000;
        hex4(0xD800 | (v >> 10));
        hex4(0xDC00 | (v & 0x3FF));
      } else {
        out += char(cp);
      }
    }
  }
  out += '"';
}

std::string float_text(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d < 0 ? "-Infinity" : "Infinity";
  return py_float_repr(d);
}

std::string key_text(const Value& k) {
  switch (k.kind()) {
    case Kind::kString: return k.as_string();
    case Kind::kInt: return std::to_string(k.as_int());
    case Kind::kFloat: return float_text(k.as_float());
    case Kind::kBool: return k.as_bool() ? "true" : "false";
    case Kind::kNone: return "null";
    default: throw Failure(cat("keys must be str, int, float, bool or None, not ", k.type_name()));
  }
}

struct Dumper {
  const JsonDumpOptions& opt;
  std::string unit;  // one level of indentation
  bool indented;
  std::string item_sep, key_sep;
  int depth = 0;

  explicit Dumper(const JsonDumpOptions& o) : opt(o) {
    indented = o.indent >= 0 || !o.indent_str.empty();
    check_value_size(size_t(std::max(o.indent, 0)), "string");
    unit = !o.indent_str.empty() ? o.indent_str : std::string(std::max(o.indent, 0), ' ');
    item_sep = o.has_separators ? o.item_sep : (indented ? "," : ", ");
    key_sep = o.has_separators ? o.key_sep : ": ";
  }

  void newline(std::string& out, int level) {
    check_value_size(out.size() + 1 + saturating_mul(size_t(level), unit.size()), "string");
    out += '\n';
    for (int i = 0; i < level; ++i) out += unit;
  }

  void dump(std::string& out, const Value& v) {
    if (++depth > 512) throw Failure("maximum recursion depth exceeded while encoding a JSON object");
    // Checked as it grows: a list can hold one big list many times at no cost in memory.
    check_value_size(out.size(), "string");
    switch (v.kind()) {
      case Kind::kNone: out += "null"; break;
      case Kind::kBool: out += v.as_bool() ? "true" : "false"; break;
      case Kind::kInt: out += std::to_string(v.as_int()); break;
      case Kind::kFloat: out += float_text(v.as_float()); break;
      case Kind::kString: dump_string(out, v.as_string(), opt.ensure_ascii); break;
      case Kind::kList: {
        const List& l = v.as_list();
        if (l.empty()) {
          out += "[]";
          break;
        }
        out += '[';
        for (size_t i = 0; i < l.size(); ++i) {
          if (i) out += item_sep;
          if (indented) newline(out, depth);
          dump(out, l[i]);
        }
        if (indented) newline(out, depth - 1);
        out += ']';
        break;
      }
      case Kind::kDict: {
        std::vector<const std::pair<Value, Value>*> items;
        for (const auto& kv : v.as_dict().items) items.push_back(&kv);
        if (items.empty()) {
          out += "{}";
          break;
        }
        if (opt.sort_keys)
          std::stable_sort(items.begin(), items.end(),
                           [](auto* a, auto* b) { return py_compare(a->first, b->first) < 0; });
        out += '{';
        for (size_t i = 0; i < items.size(); ++i) {
          if (i) out += item_sep;
          if (indented) newline(out, depth);
          dump_string(out, key_text(items[i]->first), opt.ensure_ascii);
          out += key_sep;
          dump(out, items[i]->second);
        }
        if (indented) newline(out, depth - 1);
        out += '}';
        break;
      }
      default: throw Failure(cat("Object of type ", v.type_name(), " is not JSON serializable"));
    }
    --depth;
  }
};

}  // namespace

std::string py_json_dumps(const Value& v, const JsonDumpOptions& opt) {
  Dumper d(opt);
  std::string out;
  d.dump(out, v);
  return out;
}

}  // namespace tandem::tokenizer::jinja
