// Leveled logging to stderr. The level comes from the caller (cli sets it from flags);
// there is no global configuration file. TANDEM_DEBUG_LOG=1 forces debug level.
#pragma once
#include <string>

#include "core/error.h"

namespace tandem {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void set_log_level(LogLevel level);
LogLevel log_level();
void log_line(LogLevel level, const std::string& msg);

template <class... A> void log_debug(const A&... a) { if (log_level() <= LogLevel::kDebug) log_line(LogLevel::kDebug, cat(a...)); }
template <class... A> void log_info(const A&... a) { if (log_level() <= LogLevel::kInfo) log_line(LogLevel::kInfo, cat(a...)); }
template <class... A> void log_warn(const A&... a) { if (log_level() <= LogLevel::kWarn) log_line(LogLevel::kWarn, cat(a...)); }

}  // namespace tandem
