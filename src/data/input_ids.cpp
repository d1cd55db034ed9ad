#include "data/input_ids.h"

#include <climits>
#include <fstream>

#include "core/line_reader.h"

namespace tandem::data {

// Above any model's context (the longest are ~1M tokens): a line past it is a broken or hostile
// file, refused before its ids are copied.
constexpr size_t kMaxSequenceTokens = size_t(1) << 22;

void for_each_jsonl_line(
    const std::string& path, const std::string& where,
    const std::function<void(const Json& line, const std::string& origin, const std::string& raw)>& fn) {
  std::ifstream in(path);
  if (!in) throw Error(where, cat("cannot open '", path, "'"));
  std::string line;
  int64_t lineno = 0;
  while (read_line_capped(in, line, kMaxJsonBytes, where, path, lineno + 1)) {
    ++lineno;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string origin = cat(path, ":", lineno);
    fn(parse_json(line, origin, where), origin, line);
  }
}

std::vector<int32_t> parse_input_ids(const Json& line, const std::string& origin, int64_t vocab, size_t min_len,
                                     const std::string& where) {
  if (!line.is_object() || !line.contains("input_ids"))
    throw Error(where, cat(origin, ": input_ids: missing; expected {\"input_ids\": [int, ...]}"));
  const Json& ids = line["input_ids"];
  if (!ids.is_array() || ids.size() < min_len)
    throw Error(where, cat(origin, ": input_ids: expected a list of at least ", min_len, " integer", min_len == 1 ? "" : "s",
                           ", got ", ids.dump().substr(0, 80)));
  if (ids.size() > kMaxSequenceTokens)
    throw Error(where, cat(origin, ": input_ids: ", ids.size(), " tokens, more than the limit of ", kMaxSequenceTokens));
  std::vector<int32_t> out;
  out.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    if (!ids[i].is_number_integer())
      throw Error(where, cat(origin, ": input_ids[", i, "]: expected an integer, got ", ids[i].dump()));
    const int64_t v = ids[i].get<int64_t>();
    if (v < 0 || v > INT32_MAX || (vocab >= 0 && v >= vocab))
      throw Error(where, cat(origin, ": input_ids[", i, "]: token id ", v, " outside ",
                             vocab >= 0 ? cat("the model's vocabulary [0, ", vocab, ")") : std::string("[0, 2^31)")));
    out.push_back(int32_t(v));
  }
  return out;
}

}  // namespace tandem::data
