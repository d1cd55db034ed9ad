// safetensors files: an 8-byte little-endian header length N, N bytes of JSON
// ({name: {dtype, shape, data_offsets: [begin, end]}}, optional "__metadata__"), then raw
// little-endian data with offsets relative to the end of the header.
// Reading memory-maps the file and validates every entry against the file before any tensor is
// touched (sizes, overlaps, bounds, dtype names, overflow). Writing is atomic (temp + rename).
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/file.h"
#include "tensor/tensor.h"

namespace tandem::model {

struct SafetensorsEntry {
  std::string name;
  DType dtype;
  Shape shape;
  size_t begin = 0, end = 0;  // relative to the data section
};

class SafetensorsFile {
 public:
  // Limits a hostile file cannot exceed.
  static constexpr size_t kMaxHeaderBytes = 100u << 20;
  static constexpr int kMaxDims = 8;

  explicit SafetensorsFile(const std::string& path);
  const std::string& path() const { return map_->path(); }
  const std::vector<SafetensorsEntry>& entries() const { return entries_; }
  const SafetensorsEntry* find(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // A tensor over the mapped bytes (no copy); alive as long as any view of it.
  Tensor view(const SafetensorsEntry& e) const;
  // Drops e's pages from this process's resident memory once it has been copied elsewhere.
  void release(const SafetensorsEntry& e) const { map_->release(data_offset_ + e.begin, e.end - e.begin); }

 private:
  std::shared_ptr<MappedFile> map_;
  size_t data_offset_ = 0;
  std::vector<SafetensorsEntry> entries_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

struct NamedTensor {
  std::string name;
  Tensor tensor;    // F32 source (CPU)
  DType out_dtype;  // F32, BF16, F16 or F64 on disk
};
// Writes tensors (converted to out_dtype) atomically to path.
void write_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace tandem::model
