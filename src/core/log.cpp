#include "core/log.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>

namespace tandem {

namespace {
LogLevel initial_level() {
  const char* d = std::getenv("TANDEM_DEBUG_LOG");
  return (d && d[0] == '1') ? LogLevel::kDebug : LogLevel::kInfo;
}
std::atomic<int> g_level{int(initial_level())};
}  // namespace

void set_log_level(LogLevel level) { g_level = int(level); }
LogLevel log_level() { return LogLevel(g_level.load()); }

void log_line(LogLevel level, const std::string& msg) {
  static const char* kTags[] = {"debug", "info", "warn", "error"};
  std::fprintf(stderr, "[tandem %s] %s\n", kTags[int(level)], msg.c_str());
}

}  // namespace tandem
