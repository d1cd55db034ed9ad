// Errors with context, and the invariant check.
// Two tiers (style.md): TD_ASSERT for invariants only a Tandem bug can break (aborts, stays on in
// release), tandem::Error for anything a user can cause, formatted
//   [dotted.where] what, expected X, got Y (origin)  (file:line)
// This file deliberately holds no logging and no recovery policy: only cli/main.cpp catches.
#pragma once
#include <source_location>
#include <sstream>
#include <stdexcept>
#include <string>

namespace tandem {

template <class... A>
std::string cat(const A&... a) {
  std::ostringstream os;
  (os << ... << a);
  return os.str();
}

class Error : public std::runtime_error {
 public:
  // where: dotted path of the thing at fault, e.g. "model.config.num_attention_heads"
  Error(std::string where, const std::string& what, std::source_location loc = std::source_location::current());
  const std::string& where() const { return where_; }
  const std::string& what_only() const { return what_; }

 private:
  std::string where_;
  std::string what_;
};

[[noreturn]] void assert_fail(const char* expr, const char* file, int line, const std::string& msg);

}  // namespace tandem

#define TD_ASSERT(cond, ...)                                                                  \
  do {                                                                                        \
    if (!(cond)) ::tandem::assert_fail(#cond, __FILE__, __LINE__, ::tandem::cat(__VA_ARGS__)); \
  } while (0)
