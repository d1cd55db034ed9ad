// A JSONL file indexed by line offsets, read one line at a time on demand: opening a 2 GB file
// costs one sequential pass with a buffer of at most 1 MiB and 12 bytes per non-blank line, never a
// load of the file. Reads use pread on one descriptor, so threads may read lines concurrently.
// Not here: parsing the JSON or what its fields mean (data/record.h), error policies.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/json.h"

namespace tandem::data {

class JsonlIndex {
 public:
  // A line longer than max_line_bytes is refused here, before anything reads it (Error naming the
  // file and line); tests pass a small limit.
  explicit JsonlIndex(const std::string& path, uint64_t max_line_bytes = kMaxJsonBytes);
  ~JsonlIndex();
  JsonlIndex(const JsonlIndex&) = delete;
  JsonlIndex& operator=(const JsonlIndex&) = delete;

  const std::string& path() const { return path_; }
  size_t size() const { return offsets_.size(); }  // non-blank lines
  uint64_t file_bytes() const { return file_bytes_; }
  // 1-based line number of non-blank line i, for messages.
  int64_t line_number(size_t i) const { return lines_[i]; }
  // The text of non-blank line i, without its newline (and without a trailing '\r'). Thread-safe.
  std::string line(size_t i) const;
  // Bytes held by the index itself (what grows with the file).
  size_t index_bytes() const { return offsets_.capacity() * 8 + lines_.capacity() * 4; }

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t file_bytes_ = 0;
  uint64_t max_line_bytes_ = 0;
  std::vector<uint64_t> offsets_;  // byte offset of each non-blank line
  std::vector<uint32_t> lines_;    // its 1-based line number
};

}  // namespace tandem::data
