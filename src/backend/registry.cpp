#include "backend/registry.h"

#include <cstdlib>

#include "backend/cpu/cpu_ops.h"
#include "backend/profiled_ops.h"

namespace tandem {

const Ops& ops_for(Device device) {
  static const bool profile = [] {
    const char* e = std::getenv("TANDEM_DEBUG_PROFILE");
    return e && e[0] == '1';
  }();
  if (device.kind == DeviceKind::kCpu) return profile ? profiled(cpu::cpu_ops()) : cpu::cpu_ops();
  throw Error("backend", cat("no backend for device ", device.str(), " in this build (CUDA backend not built)"));
}

}  // namespace tandem
