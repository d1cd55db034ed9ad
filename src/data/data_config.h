// The data keys every trainer shares (TRL's names where TRL has one), listed once so `tandem sft`,
// the preference and RL trainers and `tandem data inspect` read them the same way. Trainer configs
// embed this struct and list its fields flat (train_file, max_length, ... at the top level).
// Not here: reading the files (the data layer's readers), training keys.
#pragma once
#include <cstdint>
#include <string>

#include "core/error.h"
#include "core/json.h"

namespace tandem::data {

struct DataConfig {
  std::string train_file, eval_file;
  // A list of sources mixed with weights, instead of (or beside) train_file:
  //   [{path: a.jsonl, weight: 2, split: train|eval, columns: {prompt: instruction, ...}, format: alpaca|sharegpt}]
  Json datasets = Json::array();
  double eval_fraction = 0.0;        // held out from the training sources when no eval file is given
  int64_t max_length = 1024;
  int64_t max_prompt_length = 0;     // > 0: a prompt (pairs, unpaired, RL) keeps at most its last this many tokens
  std::string truncation = "truncate";  // truncate (drop the end) | keep_end (drop the start of the prompt) | drop
  bool packing = false;
  int64_t max_tokens_per_batch = 0;  // >0: padding-free batches by token budget instead of a fixed example count
  bool assistant_only_loss = false;
  std::string assistant_turns = "all";  // all | last: which assistant turns are trained when assistant_only_loss
  bool completion_only_loss = true;  // prompt-completion data: loss on the completion only
  bool skip_bad_lines = false;       // report and count bad lines instead of stopping at the first

  template <class V> void for_each_field(V&& v) {
    v("train_file", train_file, "JSONL training data (any shape in docs/data.md)");
    v("eval_file", eval_file, "JSONL held-out data, same shape");
    v("datasets", datasets, "list of {path, weight, split, columns, format} mixed with weights");
    v("eval_fraction", eval_fraction, "fraction of the training examples held out when there is no eval file");
    v("max_length", max_length, "longest sequence in tokens");
    v("max_prompt_length", max_prompt_length, "prompts of pairs and RL keep their last N tokens (0: only max_length)");
    v("truncation", truncation, "truncate | keep_end | drop: what happens to a longer example");
    v("packing", packing, "best-fit pack examples into rows of max_length");
    v("max_tokens_per_batch", max_tokens_per_batch, "padding-free batches of at most this many tokens (0: off)");
    v("assistant_only_loss", assistant_only_loss, "conversations: loss on assistant turns only");
    v("assistant_turns", assistant_turns, "all | last: assistant turns trained with assistant_only_loss");
    v("completion_only_loss", completion_only_loss, "prompt-completion data: loss on the completion only");
    v("skip_bad_lines", skip_bad_lines, "skip and count bad lines instead of stopping");
  }

  void validate() const {
    if (train_file.empty() && (!datasets.is_array() || datasets.empty()))
      throw Error("train_file", "required (or a non-empty datasets list)");
    if (max_length < 2) throw Error("max_length", cat("must be >= 2, got ", max_length));
    if (max_prompt_length < 0) throw Error("max_prompt_length", cat("must be >= 0, got ", max_prompt_length));
    if (eval_fraction < 0 || eval_fraction >= 1) throw Error("eval_fraction", cat("must be in [0, 1), got ", eval_fraction));
    if (truncation != "truncate" && truncation != "keep_end" && truncation != "drop")
      throw Error("truncation", cat("expected truncate, keep_end or drop, got '", truncation, "'"));
    if (assistant_turns != "all" && assistant_turns != "last")
      throw Error("assistant_turns", cat("expected all or last, got '", assistant_turns, "'"));
    if (max_tokens_per_batch < 0) throw Error("max_tokens_per_batch", "must be >= 0");
  }
};

}  // namespace tandem::data
