// Where a tensor's bytes live. Model code never branches on this: it asks the backend registry
// for the op table of the tensor's device.
#pragma once
#include <string>

namespace tandem {

enum class DeviceKind : uint8_t { kCpu, kCuda };

struct Device {
  DeviceKind kind = DeviceKind::kCpu;
  int index = 0;
  bool operator==(const Device&) const = default;
  std::string str() const { return kind == DeviceKind::kCpu ? "cpu" : "cuda:" + std::to_string(index); }
};

inline Device cpu_device() { return Device{}; }

}  // namespace tandem
