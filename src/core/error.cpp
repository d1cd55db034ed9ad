#include "core/error.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace tandem {

namespace {
// Only the file's name relative to src/ is useful to a user reading the message.
const char* short_path(const char* file) {
  const char* p = std::strstr(file, "/src/");
  return p ? p + 1 : file;
}
}  // namespace

Error::Error(std::string where, const std::string& what, std::source_location loc)
    : std::runtime_error(cat("[", where, "] ", what, "  (", short_path(loc.file_name()), ":", loc.line(), ")")),
      where_(std::move(where)),
      what_(what) {}

void assert_fail(const char* expr, const char* file, int line, const std::string& msg) {
  std::fprintf(stderr, "tandem: internal error: TD_ASSERT(%s) failed at %s:%d%s%s\n", expr, short_path(file), line,
               msg.empty() ? "" : ": ", msg.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace tandem
