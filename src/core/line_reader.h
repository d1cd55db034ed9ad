// Reading a text file line by line with a cap on the length of one line. std::getline holds a
// whole line however long: a hostile JSONL file of one 50 GB line would take the memory before
// any parser could refuse it. Not here: what a line holds (JSON, ids), blank-line policy.
#pragma once
#include <cstdint>
#include <istream>
#include <string>

namespace tandem {

// Reads the next line of `in` into `line`, without its '\n' (a '\r' before it is kept), as
// std::getline does; false once the input is exhausted. A line of more than max_bytes throws
// Error(where) naming path and line_number, having held at most max_bytes + 64 KiB of it.
bool read_line_capped(std::istream& in, std::string& line, uint64_t max_bytes, const std::string& where,
                      const std::string& path, int64_t line_number);
// The error for a line past the limit, for readers that do not go through an istream.
[[noreturn]] void throw_line_too_long(const std::string& where, const std::string& path, int64_t line_number,
                                      uint64_t max_bytes);

}  // namespace tandem
