// Byte-pair encoding as in the Rust tokenizers crate: byte-level (GPT-2, Llama 3, Qwen) and
// SentencePiece-style with "▁" and byte_fallback (Llama 2, Gemma); ignore_merges, unk_token with
// fuse_unk, continuing_subword_prefix and end_of_word_suffix. dropout is an inference no-op only when
// null or 0; any other value is an Error, because Tandem tokenizes for training data and must be
// deterministic.
// Speed: merges live in an open-addressing table keyed by the id pair, single characters map to ids
// through another such table, and each thread keeps a word -> ids cache per BPE instance.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/flat_map.h"
#include "tokenizer/model.h"

namespace tandem::tokenizer {

class Bpe : public Model {
 public:
  Bpe(const Json& j, const std::string& where, const std::string& origin);
  void tokenize(std::string_view word, std::vector<int32_t>& out) const override;
  // How many BPE instances the calling thread holds a word cache for: the live ones it has used,
  // plus the dead ones of before its last first use of an instance (tests).
  static size_t thread_cache_count();

 private:
  void tokenize_uncached(std::string_view word, std::vector<int32_t>& out) const;
  void initial_symbols(std::string_view word, std::vector<int32_t>& syms) const;
  void merge(std::vector<int32_t>& syms) const;
  bool lookup_merge(int32_t a, int32_t b, uint32_t* rank, int32_t* new_id) const {
    uint64_t v;
    if (!merges_.find((uint64_t(uint32_t(a)) << 32) | uint32_t(b), &v)) return false;
    *rank = uint32_t(v >> 32);
    *new_id = int32_t(uint32_t(v));
    return true;
  }

  FlatMap merges_;      // (left id, right id) -> (rank << 32 | merged id)
  FlatMap char_ids_;    // code point -> id, for single-character vocab entries
  std::string prefix_;  // continuing_subword_prefix
  std::string suffix_;  // end_of_word_suffix
  int32_t unk_id_ = -1;
  bool fuse_unk_ = false;
  bool byte_fallback_ = false;
  bool ignore_merges_ = false;
  int32_t byte_ids_[256];  // "<0xXX>" ids for byte_fallback, -1 where absent
  uint64_t instance_;      // key of this instance's per-thread cache
  std::shared_ptr<const bool> alive_ = std::make_shared<const bool>(true);  // expires with the instance
};

}  // namespace tandem::tokenizer
