#include "data/jsonl_index.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/error.h"
#include "core/line_reader.h"

namespace tandem::data {

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

}  // namespace

JsonlIndex::JsonlIndex(const std::string& path, uint64_t max_line_bytes) : path_(path), max_line_bytes_(max_line_bytes) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw Error("data", cat("cannot open '", path, "': ", std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || S_ISDIR(st.st_mode)) {
    ::close(fd_);
    throw Error("data", cat("'", path, "' is not a readable file"));
  }
  file_bytes_ = uint64_t(st.st_size);
  // One pass with a fixed buffer: the start of each line and whether it holds anything. A small
  // file gets a small buffer (a megabyte zeroed for a few lines dominated the index of one).
  std::vector<char> buf(size_t(std::clamp<uint64_t>(file_bytes_, 4096, uint64_t(1) << 20)));
  uint64_t pos = 0, line_start = 0;
  uint32_t lineno = 1;
  bool has_text = false;
  // Only the length is checked: the index never holds a line.
  auto check_length = [&](uint64_t end) {
    if (end - line_start <= max_line_bytes) return;
    ::close(fd_);
    throw_line_too_long("data", path, lineno, max_line_bytes);
  };
  for (;;) {
    const ssize_t n = ::read(fd_, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd_);
      throw Error("data", cat("cannot read '", path, "': ", std::strerror(errno)));
    }
    if (n == 0) break;
    for (ssize_t k = 0; k < n; ++k) {
      const char c = buf[size_t(k)];
      if (c == '\n') {
        check_length(pos + uint64_t(k));
        if (has_text) offsets_.push_back(line_start), lines_.push_back(lineno);
        ++lineno;
        line_start = pos + uint64_t(k) + 1;
        has_text = false;
      } else if (!has_text && !is_blank(c)) {
        has_text = true;
      }
    }
    pos += uint64_t(n);
    check_length(pos);  // refused as soon as the line outgrows the limit, not at its end
  }
  if (has_text) offsets_.push_back(line_start), lines_.push_back(lineno);
  offsets_.shrink_to_fit();
  lines_.shrink_to_fit();
}

JsonlIndex::~JsonlIndex() {
  if (fd_ >= 0) ::close(fd_);
}

std::string JsonlIndex::line(size_t i) const {
  TD_ASSERT(i < offsets_.size(), "line ", i, " of ", offsets_.size());
  const uint64_t begin = offsets_[i];
  std::string out;
  char buf[16384];
  uint64_t at = begin;
  for (;;) {
    const ssize_t n = ::pread(fd_, buf, sizeof buf, off_t(at));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error("data", cat("cannot read '", path_, "' at byte ", at, ": ", std::strerror(errno)));
    }
    if (n == 0) break;
    const void* nl = std::memchr(buf, '\n', size_t(n));
    if (nl) {
      out.append(buf, size_t(static_cast<const char*>(nl) - buf));
      break;
    }
    out.append(buf, size_t(n));
    at += uint64_t(n);
    // The file changed since it was indexed: still never hold more than one line's limit.
    if (out.size() > max_line_bytes_) throw_line_too_long("data", path_, lines_[i], max_line_bytes_);
  }
  if (!out.empty() && out.back() == '\r') out.pop_back();
  return out;
}

}  // namespace tandem::data
