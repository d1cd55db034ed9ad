#include "tensor/storage.h"

#include <malloc.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "core/error.h"

namespace tandem {

namespace {
std::atomic<size_t> g_cpu_in_use{0}, g_cpu_peak{0};
DeviceAllocator g_allocators[2];

// A training step frees and re-allocates the same activation sizes every step. glibc serves
// large blocks with fresh mmaps by default, so every step would page-fault its whole working set
// in again; keeping freed blocks in the heap makes the next step reuse them (peak is unchanged).
void keep_large_blocks_in_heap() {
  static const bool once = [] {
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    return true;
  }();
  (void)once;
}
}  // namespace

void register_device_allocator(DeviceKind kind, DeviceAllocator a) { g_allocators[int(kind)] = std::move(a); }

std::shared_ptr<Storage> Storage::allocate(size_t nbytes, Device device) {
  std::shared_ptr<Storage> s(new Storage());
  s->nbytes_ = nbytes;
  s->device_ = device;
  s->owned_ = true;
  if (nbytes == 0) return s;
  if (device.kind == DeviceKind::kCpu) {
    keep_large_blocks_in_heap();
    const size_t rounded = (nbytes + 63) / 64 * 64;
    s->data_ = std::aligned_alloc(64, rounded);
    if (!s->data_)
      throw Error("tensor.alloc", cat("out of memory allocating ", nbytes, " bytes on ", device.str()));
    const size_t now = g_cpu_in_use += nbytes;
    size_t peak = g_cpu_peak.load();
    while (now > peak && !g_cpu_peak.compare_exchange_weak(peak, now)) {
    }
  } else {
    auto& a = g_allocators[int(device.kind)];
    if (!a.alloc) throw Error("tensor.alloc", cat("no backend for device ", device.str(), " in this build"));
    s->data_ = a.alloc(nbytes);
  }
  return s;
}

std::shared_ptr<Storage> Storage::borrow(void* data, size_t nbytes, Device device,
                                         std::shared_ptr<const void> keep_alive) {
  std::shared_ptr<Storage> s(new Storage());
  s->data_ = data;
  s->nbytes_ = nbytes;
  s->device_ = device;
  s->keep_alive_ = std::move(keep_alive);
  return s;
}

Storage::~Storage() {
  if (!owned_ || !data_) return;
  if (device_.kind == DeviceKind::kCpu) {
    std::free(data_);
    g_cpu_in_use -= nbytes_;
  } else {
    g_allocators[int(device_.kind)].free(data_, nbytes_);
  }
}

size_t Storage::cpu_bytes_in_use() { return g_cpu_in_use.load(); }
size_t Storage::cpu_bytes_peak() { return g_cpu_peak.load(); }

}  // namespace tandem
