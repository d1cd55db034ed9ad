#include "data/tokenized_jsonl.h"

#include "core/error.h"
#include "core/json.h"
#include "core/line_reader.h"
#include "core/rng.h"
#include "data/input_ids.h"

namespace tandem::data {

TokenizedJsonl::TokenizedJsonl(const std::string& path) : path_(path), in_(path, std::ios::binary) {
  if (!in_) throw Error("data", cat("cannot open '", path, "'"));
  std::string line;
  uint64_t off = 0;
  int64_t lineno = 0;
  while (read_line_capped(in_, line, kMaxJsonBytes, "data", path, lineno + 1)) {
    ++lineno;
    if (line.find_first_not_of(" \t\r") != std::string::npos) {
      offsets_.push_back(off);
      lines_.push_back(lineno);
    }
    off += line.size() + 1;
  }
  in_.clear();
  if (offsets_.empty()) throw Error("data", cat("'", path, "' holds no examples"));
}

TokenizedExample TokenizedJsonl::get(size_t i) {
  TD_ASSERT(i < offsets_.size(), "example ", i, " of ", offsets_.size());
  in_.seekg(std::streamoff(offsets_[i]));
  std::string line;
  read_line_capped(in_, line, kMaxJsonBytes, "data", path_, lines_[i]);
  TokenizedExample ex;
  ex.line = lines_[i];
  const std::string where = cat(path_, ":", ex.line);
  const Json j = parse_json(line, where, "data");
  if (!j.is_object()) throw Error("data", cat(where, ": expected a JSON object"));
  ex.ids = parse_input_ids(j, where, -1, 2, "data");
  const char* mask_key = j.contains("completion_mask") ? "completion_mask" : j.contains("assistant_masks") ? "assistant_masks" : nullptr;
  ex.trained.assign(ex.ids.size(), 1);
  ex.trained[0] = 0;  // nothing predicts the first token
  if (mask_key) {
    const Json& m = j[mask_key];
    if (!m.is_array() || m.size() != ex.ids.size())
      throw Error("data", cat(where, ": ", mask_key, ": expected a list of ", ex.ids.size(), " zeros and ones (one per input id)"));
    for (size_t t = 0; t < m.size(); ++t) {
      if (!m[t].is_number_integer() || (m[t].get<int64_t>() != 0 && m[t].get<int64_t>() != 1))
        throw Error("data", cat(where, ": ", mask_key, "[", t, "]: expected 0 or 1, got ", m[t].dump()));
      ex.trained[t] = t > 0 && m[t].get<int64_t>() == 1;
    }
  }
  return ex;
}

std::vector<uint32_t> epoch_order(size_t n, uint64_t seed, int64_t epoch) {
  std::vector<uint32_t> p(n);
  for (size_t i = 0; i < n; ++i) p[i] = uint32_t(i);
  const Rng rng(seed, 0x5eed0000ull + uint64_t(epoch));
  for (size_t i = n; i > 1; --i) {  // Fisher-Yates with a counter-based stream
    const uint64_t r = (uint64_t(rng.bits(2 * i)) << 32) | rng.bits(2 * i + 1);
    std::swap(p[i - 1], p[size_t(r % i)]);
  }
  return p;
}

}  // namespace tandem::data
