// Where examples come from and how their columns are named: the sources of a DataConfig
// (train_file, eval_file and the `datasets:` list with weights, splits, column mappings and the
// alpaca / sharegpt layouts), and the conversion of one line of any source into the canonical
// field names of formats.md (text, messages, tools, prompt, completion, chosen, rejected, label,
// the pre-tokenized *_input_ids, and every other column untouched).
// Not here: what the canonical fields mean for each kind of example (data/shapes.h).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "data/bad_line.h"
#include "data/data_config.h"

namespace tandem::data {

struct SourceSpec {
  std::string path;
  double weight = 1.0;         // examples of this source per epoch = weight x its lines (see dataset.h)
  std::string split = "train"; // train | eval
  std::string format;          // "" (formats.md shapes) | alpaca | sharegpt
  std::map<std::string, std::string> columns;  // canonical name -> the file's column name
  std::map<std::string, std::string> tags;     // sharegpt: role_tag, content_tag, user_tag, ...
  std::string where;           // "datasets[2]" or "train_file", for messages

  // train_file (split train), eval_file (split eval), then each `datasets:` entry, validated.
  static std::vector<SourceSpec> from_config(const DataConfig& cfg);
};

// One JSONL line as JSON with key order kept (chat templates print JSON in that order); invalid
// JSON is a BadLine with the column where parsing failed.
OrderedJson parse_line(const std::string& text, const Origin& origin);

// The line with the source's columns renamed and alpaca / sharegpt layouts turned into
// messages, prompt / completion or prompt / chosen / rejected (LLaMA-Factory's meaning of them).
OrderedJson to_canonical(OrderedJson line, const SourceSpec& src, const Origin& origin);

}  // namespace tandem::data
