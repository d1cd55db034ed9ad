// Pre-tokenized JSONL, as TRL accepts it: one example a line with `input_ids` (list of ints) and
// optionally `completion_mask` or `assistant_masks` (1 = the token is trained on). Without a mask
// every token after the first is trained on. The file is indexed by line offsets once (8 bytes a
// line) and lines are parsed on demand, so memory does not grow with the file.
// Not here: text, chat templates and their masks (the data layer's tokenizer path).
#pragma once
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace tandem::data {

struct TokenizedExample {
  std::vector<int32_t> ids;
  std::vector<uint8_t> trained;  // [ids.size()]: 1 where token t's log-prob enters the loss
  int64_t line = 0;              // 1-based line in the file, for messages
};

class TokenizedJsonl {
 public:
  explicit TokenizedJsonl(const std::string& path);
  size_t size() const { return offsets_.size(); }
  const std::string& path() const { return path_; }
  // Example i (0-based among non-empty lines); Error "file:line: field: what was expected".
  TokenizedExample get(size_t i);

 private:
  std::string path_;
  std::ifstream in_;
  std::vector<uint64_t> offsets_;
  std::vector<int64_t> lines_;
};

// A permutation of [0, n) from (seed, epoch), the same on every machine and thread count.
std::vector<uint32_t> epoch_order(size_t n, uint64_t seed, int64_t epoch);

}  // namespace tandem::data
