// What `tandem data inspect` tells a user before they spend compute: length statistics, packing
// and padding efficiency, the shape a file holds, and examples rendered with the trained tokens
// marked (ANSI colour on a terminal, [[...]] otherwise).
// Not here: the command line (cli/data_inspect.cpp), reading examples (data/dataset.h).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace tandem::data {

struct LengthStats {
  int64_t count = 0, min = 0, median = 0, p95 = 0, max = 0;
  double mean = 0;
  std::string str() const;  // "min 12, median 80, p95 300, max 512 (mean 97.3, n 1000)"
};
LengthStats length_stats(std::vector<int64_t> lengths);

// Best-fit packing of all lengths into rows of max_length: tokens / (rows x max_length).
double packing_efficiency(const std::vector<int64_t>& lengths, int64_t max_length, int64_t* rows = nullptr);
// One sequence per row, consecutive batches of batch_size padded to their longest.
double padding_efficiency(const std::vector<int64_t>& lengths, int64_t batch_size);

// Which example kind a line's canonical fields look like: sft | preference | unpaired | prompt.
std::string detect_kind(const OrderedJson& canonical_line);

// ids with the runs where trained[t] = 1 marked; decoding run by run (so a character split
// across a run boundary may show as U+FFFD).
std::string highlight(const tokenizer::Tokenizer& tok, const std::vector<int32_t>& ids,
                      const std::vector<uint8_t>& trained, bool color);

}  // namespace tandem::data
