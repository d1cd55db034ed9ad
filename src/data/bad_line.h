// The one shape of a data error: `file:line[:column]: field: expected X, found Y`. BadLine is the
// Error subclass for problems of one line (so skip_bad_lines can skip exactly those and nothing
// else, e.g. never an unreadable file), and describe() renders a JSON value for "found ...".
// Not here: the policy (stop or skip and count: data/dataset.cpp).
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.h"
#include "data/example.h"

namespace tandem::data {

using OrderedJson = nlohmann::ordered_json;

class BadLine : public Error {
 public:
  BadLine(const Origin& origin, const std::string& field, const std::string& expected, const std::string& found,
          int64_t column = 0, std::source_location loc = std::source_location::current());
  const Origin& origin() const { return origin_; }
  // "file:line[:column]: field: expected X, found Y", without the [where] prefix and source location.
  const std::string& message() const { return message_; }

 private:
  Origin origin_;
  std::string message_;
};

// "string 'abc'", "integer 3", "null", "a list of 2", "an object with keys a, b" (long text elided).
std::string describe(const OrderedJson& v);

}  // namespace tandem::data
