// Owned (or borrowed, e.g. memory-mapped) bytes on one device. A Storage is shared by the
// tensors that view it; it frees its bytes through the device's allocator when the last view dies.
#pragma once
#include <cstddef>
#include <functional>
#include <memory>

#include "tensor/device.h"

namespace tandem {

class Storage {
 public:
  // Fresh, 64-byte aligned, uninitialised bytes on device.
  static std::shared_ptr<Storage> allocate(size_t nbytes, Device device);
  // Borrowed bytes kept alive by keep_alive (e.g. a shared_ptr to a MappedFile); never freed here.
  static std::shared_ptr<Storage> borrow(void* data, size_t nbytes, Device device, std::shared_ptr<const void> keep_alive);

  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage();
  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }

  // Bytes currently held by allocate() on the CPU, and the peak since start (for benchmarks).
  static size_t cpu_bytes_in_use();
  static size_t cpu_bytes_peak();

 private:
  Storage() = default;
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  Device device_;
  bool owned_ = false;
  std::shared_ptr<const void> keep_alive_;
};

// Device allocators register here; the CPU one is built in. A CUDA backend adds its own.
struct DeviceAllocator {
  std::function<void*(size_t)> alloc;
  std::function<void(void*, size_t)> free;
};
void register_device_allocator(DeviceKind kind, DeviceAllocator a);

}  // namespace tandem
