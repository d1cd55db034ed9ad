#include "core/stack.h"

#include <pthread.h>

#include <cstdint>

namespace tandem {

namespace {

struct StackBounds {
  uintptr_t low = 0;
  bool read = false;
};

uintptr_t read_low_bound() {
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return 0;
  void* addr = nullptr;
  size_t size = 0;
  const bool ok = pthread_attr_getstack(&attr, &addr, &size) == 0;
  pthread_attr_destroy(&attr);
  return ok ? reinterpret_cast<uintptr_t>(addr) : 0;
}

}  // namespace

size_t stack_left() {
  // glibc reads /proc/self/maps for the main thread's bounds: once per thread, not per call.
  thread_local StackBounds bounds;
  if (!bounds.read) {
    bounds.low = read_low_bound();
    bounds.read = true;
  }
  // The frame address, not a local's: AddressSanitizer may move locals to a heap "fake stack".
  const auto here = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  if (bounds.low == 0 || here <= bounds.low) return SIZE_MAX;
  return size_t(here - bounds.low);
}

}  // namespace tandem
