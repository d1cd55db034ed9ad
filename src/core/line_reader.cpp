#include "core/line_reader.h"

#include "core/error.h"

namespace tandem {

void throw_line_too_long(const std::string& where, const std::string& path, int64_t line_number, uint64_t max_bytes) {
  throw Error(where, cat(path, ":", line_number, ": a line of more than ", max_bytes,
                         " bytes, the limit for one line (a broken or hostile file?)"));
}

bool read_line_capped(std::istream& in, std::string& line, uint64_t max_bytes, const std::string& where,
                      const std::string& path, int64_t line_number) {
  line.clear();
  // istream::getline into a fixed chunk scans the stream's buffer for the newline as fast as
  // std::getline does; a line longer than the chunk arrives in pieces.
  char chunk[1 << 16];
  bool partial = false;  // part of this line was read by an earlier chunk
  auto check = [&] {
    if (line.size() > max_bytes) throw_line_too_long(where, path, line_number, max_bytes);
  };
  for (;;) {
    in.getline(chunk, sizeof chunk);
    const size_t n = size_t(in.gcount());
    if (in.bad()) throw Error(where, cat("cannot read ", path, " at line ", line_number));
    if (!in.fail()) {
      // A newline ended the line (extracted: counted by gcount, not stored), or the input did.
      line.append(chunk, in.eof() ? n : n - 1);
      check();
      return true;
    }
    if (n == sizeof chunk - 1) {  // the chunk filled before the line ended
      in.clear(in.rdstate() & ~std::ios::failbit);
      line.append(chunk, n);
      partial = true;
      check();
      continue;
    }
    return partial;  // nothing left to read (or the last piece ended exactly at the end)
  }
}

}  // namespace tandem
