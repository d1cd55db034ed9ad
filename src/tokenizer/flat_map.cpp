// See flat_map.h. Load factor at most 1/2 keeps linear-probe chains short.
#include "tokenizer/flat_map.h"

#include <algorithm>
#include <bit>

namespace tandem::tokenizer {

void FlatMap::reserve(size_t n) {
  size_t cap = 16;
  while (cap < n * 2) cap <<= 1;
  keys_.assign(cap, kEmpty);
  values_.assign(cap, 0);
  mask_ = cap - 1;
  shift_ = 64 - std::countr_zero(cap);
  size_ = 0;
}

void FlatMap::insert(uint64_t key, uint64_t value) {
  if ((size_ + 1) * 2 > keys_.size()) {
    std::vector<uint64_t> k = std::move(keys_), v = std::move(values_);
    reserve(std::max<size_t>(16, (size_ + 1) * 2));
    for (size_t i = 0; i < k.size(); ++i)
      if (k[i] != kEmpty) insert(k[i], v[i]);
  }
  for (size_t i = slot(key);; i = (i + 1) & mask_) {
    if (keys_[i] == key) {
      values_[i] = value;  // a repeated merge takes its last rank, as the crate's HashMap collect does
      return;
    }
    if (keys_[i] == kEmpty) {
      keys_[i] = key;
      values_[i] = value;
      ++size_;
      return;
    }
  }
}

}  // namespace tandem::tokenizer
