// Reads a GGUF v3 file back (gguf.h has the layout): metadata, tensor infos, and tensors
// dequantised to F32. It exists for tests and for fuzzing, so it treats its input as hostile:
// every length, count, type and offset is checked against the file before it is used, and a
// bad file is an Error naming the byte offset, never a crash or an unbounded allocation.
// Not here: running the model (llama.cpp is the judge of that); writing (gguf_writer.h).
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/file.h"
#include "model/gguf.h"

namespace tandem::model {

struct GgufTensorInfo {
  std::string name;
  GgmlType type;
  std::vector<int64_t> ne;  // innermost first
  uint64_t offset = 0;      // from the start of the data section
  uint64_t nbytes = 0;
  int64_t numel() const;
};

class GgufReader {
 public:
  static constexpr uint64_t kMaxStringBytes = 64u << 20;
  static constexpr uint64_t kMaxArrayElems = 1u << 26;
  static constexpr uint64_t kMaxCount = 1u << 24;

  explicit GgufReader(const std::string& path);
  // Parses bytes held by the caller (kept alive by keep); origin names them in errors.
  GgufReader(const uint8_t* data, size_t size, std::string origin);

  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return kv_; }
  const GgufValue* find(const std::string& key) const;
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(const std::string& name) const;
  // The tensor's values as F32 (dequantised), in memory order (ne[0] fastest).
  std::vector<float> read_f32(const GgufTensorInfo& t) const;
  uint64_t data_offset() const { return data_offset_; }

 private:
  void parse();
  std::unique_ptr<MappedFile> map_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string origin_;
  uint32_t version_ = 0, alignment_ = kGgufAlignment;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::vector<GgufTensorInfo> tensors_;
};

}  // namespace tandem::model
