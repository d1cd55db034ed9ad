#include "data/bad_line.h"

namespace tandem::data {

namespace {

std::string format(const Origin& o, const std::string& field, const std::string& expected, const std::string& found,
                   int64_t column) {
  std::string s = o.str();
  if (column > 0) s += cat(":", column);
  s += ": ";
  if (!field.empty()) s += field + ": ";
  s += "expected " + expected;
  if (!found.empty()) s += ", found " + found;
  return s;
}

std::string elide(const std::string& s, size_t n) { return s.size() <= n ? s : s.substr(0, n) + "..."; }

}  // namespace

BadLine::BadLine(const Origin& origin, const std::string& field, const std::string& expected, const std::string& found,
                 int64_t column, std::source_location loc)
    : Error("data", format(origin, field, expected, found, column), loc),
      origin_(origin),
      message_(format(origin, field, expected, found, column)) {}

std::string describe(const OrderedJson& v) {
  switch (v.type()) {
    case OrderedJson::value_t::null: return "null";
    case OrderedJson::value_t::string: return "string '" + elide(v.get<std::string>(), 60) + "'";
    case OrderedJson::value_t::boolean: return cat("boolean ", v.get<bool>() ? "true" : "false");
    case OrderedJson::value_t::number_integer:
    case OrderedJson::value_t::number_unsigned: return "integer " + v.dump();
    case OrderedJson::value_t::number_float: return "number " + v.dump();
    case OrderedJson::value_t::array: return cat("a list of ", v.size());
    case OrderedJson::value_t::object: {
      std::string keys;
      for (auto it = v.begin(); it != v.end(); ++it) keys += (keys.empty() ? "" : ", ") + it.key();
      return keys.empty() ? "an empty object" : "an object with keys " + elide(keys, 80);
    }
    default: return "a value of another kind";
  }
}

}  // namespace tandem::data
