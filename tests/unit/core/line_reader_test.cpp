// read_line_capped against std::getline (the reference) on texts whose lines straddle its 64 KiB
// chunk in every way, from a string and from a file; and the cap: refused with the file and line
// named, having read no more than the limit and one chunk.
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

#include "core/error.h"
#include "core/line_reader.h"
#include "testing/testing.h"

namespace tandem {
namespace {

std::vector<std::string> lines_by(std::istream& in, bool capped) {
  std::vector<std::string> out;
  std::string line;
  if (capped) {
    while (read_line_capped(in, line, uint64_t(1) << 30, "test", "t.jsonl", int64_t(out.size()) + 1)) out.push_back(line);
  } else {
    while (std::getline(in, line)) out.push_back(line);
  }
  return out;
}

TEST(LineReader, SameLinesAsGetlineAcrossChunkBoundaries) {
  testing::TempDir dir("line_reader");
  std::mt19937 rng(11);
  const size_t lengths[] = {0, 1, 2, 65534, 65535, 65536, 65537, 131069, 131070, 131071, 131072, 200000};
  for (int trial = 0; trial < 24; ++trial) {
    std::string text;
    for (int k = 0, n = 1 + int(rng() % 6); k < n; ++k) {
      size_t len = trial % 3 == 2 ? size_t(rng() % 300) : lengths[rng() % std::size(lengths)];
      std::string line(len, 'a');
      for (auto& c : line) c = char('a' + rng() % 26);
      if (len > 0 && rng() % 4 == 0) line.back() = '\r';
      text += line;
      if (k + 1 < n || trial % 2 == 0) text += '\n';  // half the texts end without a newline
    }
    std::istringstream want_in(text), got_in(text);
    const auto want = lines_by(want_in, false);
    EXPECT_EQ(lines_by(got_in, true), want) << "trial " << trial;
    const std::string path = dir.file("t.txt");
    std::ofstream(path, std::ios::binary) << text;
    std::ifstream file_in(path, std::ios::binary);
    EXPECT_EQ(lines_by(file_in, true), want) << "trial " << trial << " from a file";
  }
  std::istringstream empty("");
  EXPECT_TRUE(lines_by(empty, true).empty());
  std::istringstream blank_lines("\n\n");
  EXPECT_EQ(lines_by(blank_lines, true), (std::vector<std::string>{"", ""}));
}

TEST(LineReader, ALineOverTheLimitIsRefusedEarly) {
  std::string line;
  std::istringstream exact(std::string(1000, 'x') + "\nshort\n");
  EXPECT_TRUE(read_line_capped(exact, line, 1000, "data", "d.jsonl", 1));
  EXPECT_EQ(line.size(), 1000u);
  EXPECT_TRUE(read_line_capped(exact, line, 1000, "data", "d.jsonl", 2));
  EXPECT_EQ(line, "short");

  std::istringstream over("ok\n" + std::string(1001, 'x') + "\n");
  EXPECT_TRUE(read_line_capped(over, line, 1000, "data", "d.jsonl", 1));
  try {
    read_line_capped(over, line, 1000, "data", "d.jsonl", 2);
    FAIL() << "a 1001-byte line passed a 1000-byte limit";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("d.jsonl:2: a line of more than 1000 bytes"), std::string::npos) << m;
  }
  // Ten megabytes on one line: refused after the limit and at most one more chunk were read.
  std::istringstream huge(std::string(10 << 20, 'y'));
  EXPECT_THROW(read_line_capped(huge, line, 100000, "data", "h.jsonl", 1), Error);
  huge.clear();
  EXPECT_LE(uint64_t(huge.tellg()), 100000u + 65536u);
}

}  // namespace
}  // namespace tandem
