// Base64 (RFC 4648, standard alphabet, '=' padding) of raw bytes, for binary arrays that must travel
// inside JSON (an online run's in-flight rollout batch in its checkpoint state): 4 characters per 3
// bytes instead of ~20 per float as decimal text, and exact.
// Not here: any interpretation of the bytes (the caller writes and reads its own little-endian arrays).
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace tandem {

std::string base64_encode(const void* data, size_t n);
// Error("base64") on a character outside the alphabet or a length that is not a multiple of 4.
std::vector<uint8_t> base64_decode(std::string_view text);

// A vector of plain values as base64 of its bytes, and back (the element count must divide evenly).
template <class T>
std::string base64_of(const std::vector<T>& v) {
  return base64_encode(v.data(), v.size() * sizeof(T));
}
template <class T>
std::vector<T> vector_of_base64(std::string_view text, bool* ok) {
  const std::vector<uint8_t> b = base64_decode(text);
  *ok = b.size() % sizeof(T) == 0;
  std::vector<T> v(*ok ? b.size() / sizeof(T) : 0);
  if (!v.empty()) std::memcpy(v.data(), b.data(), v.size() * sizeof(T));
  return v;
}

}  // namespace tandem
