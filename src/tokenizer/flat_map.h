// FlatMap: an open-addressing hash map from 64-bit keys to 64-bit values, used on the hot paths of
// tokenization (BPE merge ranks, character ids, the added-token trie). Not a general container:
// no erase, and the all-ones key is reserved.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace tandem::tokenizer {

// Open-addressing map from a 64-bit key to a 64-bit value (linear probing, power-of-two size).
class FlatMap {
 public:
  void reserve(size_t n);
  void insert(uint64_t key, uint64_t value);  // a repeated key takes the new value
  // Returns true and sets *value when key is present.
  bool find(uint64_t key, uint64_t* value) const {
    if (keys_.empty()) return false;
    for (size_t i = slot(key);; i = (i + 1) & mask_) {
      if (keys_[i] == key) {
        *value = values_[i];
        return true;
      }
      if (keys_[i] == kEmpty) return false;
    }
  }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t(0);
  size_t slot(uint64_t key) const { return size_t((key * 0x9E3779B97F4A7C15ull) >> shift_); }
  std::vector<uint64_t> keys_, values_;
  size_t mask_ = 0;
  int shift_ = 64;
  size_t size_ = 0;
};

}  // namespace tandem::tokenizer
