#include "backend/registry.h"

#include "backend/cpu/cpu_ops.h"

namespace tandem {

const Ops& ops_for(Device device) {
  if (device.kind == DeviceKind::kCpu) return cpu::cpu_ops();
  throw Error("backend", cat("no backend for device ", device.str(), " in this build (CUDA backend not built)"));
}

}  // namespace tandem
