// Writes a GGUF v3 file (gguf.h has the layout): metadata key/values in insertion order, then
// tensor infos and data aligned to 32 bytes. Tensor data is produced per tensor at write time
// by a callback, so a model is converted one tensor at a time instead of held twice in memory.
// The file is written under a temporary name and renamed (core/file.h), so a failed export
// never leaves a half-written file under the user's name.
// Not here: which keys and names llama.cpp expects (gguf_export.h); reading (gguf_reader.h).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "model/gguf.h"

namespace tandem::model {

class GgufWriter {
 public:
  // Fills exactly ggml_nbytes(type, numel) bytes.
  using Producer = std::function<void(uint8_t* out)>;

  // Sets key (replacing an earlier value, keeping its position).
  void set(const std::string& key, GgufValue v);
  const GgufValue* get(const std::string& key) const;
  // ne: dimensions innermost first (the reverse of PyTorch's shape). ne[0] must be a multiple of
  // the type's block size (32 for Q8_0). Names are unique and at most 63 bytes (ggml's limit).
  void add_tensor(const std::string& name, GgmlType type, std::vector<int64_t> ne, Producer produce);
  size_t tensor_count() const { return tensors_.size(); }

  // Writes the file atomically; returns its size in bytes.
  uint64_t write(const std::string& path) const;

 private:
  struct TensorEntry {
    std::string name;
    GgmlType type;
    std::vector<int64_t> ne;
    uint64_t nbytes;
    Producer produce;
  };
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::vector<TensorEntry> tensors_;
};

}  // namespace tandem::model
