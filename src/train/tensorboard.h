// TensorBoard event files: scalars written as `Event` protobufs (wall_time, step, summary with
// one tagged simple_value) in TFRecord framing (length, masked CRC32C of the length, data, masked
// CRC32C of the data). Written by hand: the format is small and fixed, and no Debian package
// offers a C++ writer. The file is flushed after every step so a crash loses at most one step.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace tandem::train {

uint32_t crc32c(const void* data, size_t n);
uint32_t masked_crc32c(const void* data, size_t n);

class TensorBoardWriter {
 public:
  // Creates dir/events.out.tfevents.<unix time>.<host>.<pid> and writes the file-version event.
  explicit TensorBoardWriter(const std::string& dir);
  ~TensorBoardWriter();
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;
  void add_scalars(int64_t step, const std::vector<std::pair<std::string, double>>& scalars, double wall_time = -1);
  const std::string& path() const { return path_; }

 private:
  void write_record(const std::string& data);
  std::string path_;
  FILE* f_ = nullptr;
};

}  // namespace tandem::train
