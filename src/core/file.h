// Whole-file reads, atomic writes and read-only memory maps.
// Atomic write = write to "<path>.tmp.<pid>", fsync, rename: a crash never leaves a half-written
// file under the user's name. Not here: formats (safetensors, JSON) live in the layers that own them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace tandem {

std::string read_file(const std::string& path);
bool file_exists(const std::string& path);
bool is_directory(const std::string& path);
void make_directories(const std::string& path);
std::string join_path(const std::string& dir, const std::string& name);

// Calls write(fd) on a temporary file next to path, then renames it over path.
// write must write everything or throw; on throw the temporary is removed and path is untouched.
void write_file_atomic(const std::string& path, const std::function<void(int fd)>& write);
void write_file_atomic(const std::string& path, std::string_view contents);
// Writes all n bytes to fd or throws Error naming path.
void write_all(int fd, const void* data, size_t n, const std::string& path);

// A read-only, private memory map of a whole file. Pages are shared with the page cache,
// so mapping a weight file costs no copy until a tensor is converted.
class MappedFile {
 public:
  MappedFile() = default;
  explicit MappedFile(const std::string& path);
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  MappedFile(MappedFile&& o) noexcept;
  MappedFile& operator=(MappedFile&& o) noexcept;
  ~MappedFile();
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // Drops the pages of [offset, offset + n) from this process's memory (they stay in the page
  // cache): after a tensor has been converted, its source pages need not count in our RSS.
  void release(size_t offset, size_t n) const;

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace tandem
