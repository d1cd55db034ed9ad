// Walking a Dataset as a trainer does: epoch after epoch in the seeded order of
// Dataset::epoch_plan, skipping what truncation=drop and skip_bad_lines leave out, tokenizing a
// block of upcoming examples ahead on `threads` threads (the results do not depend on it).
// The state is (epoch, position in the epoch's plan) plus the data's fingerprint and the counts:
// a stream restored from state() yields exactly the examples the uninterrupted stream would have.
// A bad line throws when the stream reaches it, not when it was read ahead.
// Not here: collation into engine batches (data/collate.h).
#pragma once
#include <deque>

#include "data/dataset.h"

namespace tandem::data {

template <class T>
class ExampleStream {
 public:
  ExampleStream(const Dataset& ds, uint64_t seed, int threads = 1);

  T next();
  std::vector<T> next_batch(size_t n);
  // Padding-free batching: examples while their token_count sum stays <= max_tokens (at least one).
  std::vector<T> next_by_tokens(int64_t max_tokens);

  Json state() const;
  // Error when the state was saved for other data (sources, line counts, weights) or another seed.
  void restore(const Json& state);

  int64_t epoch() const { return epoch_; }
  int64_t position() const { return int64_t(pos_); }  // plan entries of this epoch consumed
  size_t epoch_size() const { return plan_.size(); }
  double fractional_epoch() const { return double(epoch_) + (plan_.empty() ? 0.0 : double(pos_) / double(plan_.size())); }
  const DataStats& stats() const { return stats_; }  // of the examples consumed so far
  const Dataset& dataset() const { return ds_; }

 private:
  const T* peek();  // the next usable example, consuming dropped / skipped ones before it
  void start_epoch(int64_t e);

  const Dataset& ds_;
  uint64_t seed_;
  int threads_;
  int64_t epoch_ = 0;
  size_t pos_ = 0;
  std::vector<uint32_t> plan_;
  std::deque<typename Dataset::Produced<T>> ahead_;  // plan positions pos_, pos_ + 1, ...
  DataStats stats_;
  bool whole_epoch_ = true;  // this epoch was walked from its start (for the all-dropped check)
  int64_t usable_in_epoch_ = 0;
};

using SftStream = ExampleStream<SftExample>;
using PreferenceStream = ExampleStream<PreferenceExample>;
using UnpairedStream = ExampleStream<UnpairedExample>;
using PromptStream = ExampleStream<PromptExample>;

}  // namespace tandem::data
