// A Dataset: the examples of one split (train or eval) of a DataConfig's sources, read from disk
// on demand. Each source file is indexed by line offsets (data/jsonl_index.h); an example is
// parsed, mapped to canonical columns, rendered, tokenized, masked and truncated when asked for,
// so memory grows by 12 bytes a line, not with the file.
//
// Splits: eval = eval_file and `datasets:` entries with split: eval; when there are none and
// eval_fraction > 0, a fixed fraction of each training source's lines is held out, chosen by a
// seeded permutation whose seed does not depend on the training seed (the same eval set for
// every run of this data), exactly round(fraction x lines) of each source.
// Weights (train only): per epoch a source contributes floor(w) copies of each of its examples
// plus a seeded choice of round(frac(w) x n) more; the epoch is then shuffled from (seed, epoch).
// With every weight 1 the order is data::epoch_order(size, seed, epoch).
//
// Accessors return nullopt for an example that truncation=drop leaves out or a bad line that
// skip_bad_lines skips, and count both; without skip_bad_lines a bad line throws BadLine
// ("file:line[:column]: field: expected X, found Y").
// Not here: the order in which a trainer walks it and resuming (data/stream.h), batching.
#pragma once
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "data/chat_render.h"
#include "data/data_config.h"
#include "data/jsonl_index.h"
#include "data/shapes.h"
#include "data/source.h"

namespace tandem::data {

enum class Split { kTrain, kEval };
Split parse_split(const std::string& s);  // "train" | "eval"

class Dataset {
 public:
  // model_dir: the model folder whose tokenizer and chat template render the data (pre-tokenized
  // data needs neither). seed: the default shuffle seed of epoch_plan.
  Dataset(const DataConfig& cfg, const std::string& model_dir, Split split = Split::kTrain, uint64_t seed = 0);
  // With a renderer already loaded (ChatRenderer::shared(dir) shares one per folder).
  Dataset(const DataConfig& cfg, std::shared_ptr<const ChatRenderer> renderer, Split split = Split::kTrain,
          uint64_t seed = 0);

  size_t size() const { return total_; }  // examples (lines) of this split, before drops and skips
  bool empty() const { return total_ == 0; }

  std::optional<SftExample> sft(size_t i) const;
  std::optional<PreferenceExample> preference(size_t i) const;
  std::optional<UnpairedExample> unpaired(size_t i) const;
  std::optional<PromptExample> prompt(size_t i) const;
  // Counts of the calls above (mutex-guarded).
  DataStats stats() const;

  // The same for any of the four example types, counting into stats (no shared state: thread-safe).
  template <class T>
  std::optional<T> get(size_t i, DataStats& stats) const;
  // Examples idx[k] computed on `threads` threads (0: the OpenMP default); the results, the stats
  // and the first error are those of a sequential loop, whatever the thread count.
  template <class T>
  std::vector<std::optional<T>> get_many(const std::vector<uint32_t>& idx, int threads, DataStats& stats) const;
  // The same without merging: each item's example, counts and error (for a stream that must
  // surface an error only when it reaches that item).
  template <class T>
  struct Produced {
    std::optional<T> example;
    DataStats stats;
    std::exception_ptr error;
  };
  template <class T>
  std::vector<Produced<T>> produce_many(const std::vector<uint32_t>& idx, int threads) const;

  Origin origin(size_t i) const;
  std::string raw_line(size_t i) const;

  // The example order of one epoch (weights applied, shuffled from seed and epoch).
  std::vector<uint32_t> epoch_plan(int64_t epoch) const { return epoch_plan(epoch, seed_); }
  std::vector<uint32_t> epoch_plan(int64_t epoch, uint64_t seed) const;
  size_t epoch_size() const;  // = epoch_plan(e).size() for every e
  // What a saved stream position depends on: sources, their line counts, split, weights.
  Json fingerprint() const;

  const DataConfig& config() const { return cfg_; }
  const ChatRenderer& renderer() const { return *renderer_; }
  const ShapeOptions& shape_options() const { return opt_; }
  Split split() const { return split_; }

  struct Source {
    SourceSpec spec;
    std::shared_ptr<JsonlIndex> index;
    std::vector<uint32_t> lines;  // indices into index of this split's examples; empty = all
    size_t count = 0;             // examples of this split
    size_t first = 0;             // global index of its first example
  };
  const std::vector<Source>& sources() const { return sources_; }

 private:
  std::pair<const Source*, size_t> locate(size_t i) const;  // source and line index in its file
  template <class T, class Read>
  std::optional<T> produce(size_t i, DataStats& stats, Read read) const;

  DataConfig cfg_;
  Split split_;
  uint64_t seed_;
  ShapeOptions opt_;
  std::shared_ptr<const ChatRenderer> renderer_;
  std::vector<Source> sources_;
  size_t total_ = 0;
  mutable std::mutex mu_;
  mutable DataStats stats_;
};

// How many tokens an example puts in a batch (pairs: prompt + chosen + prompt + rejected).
int64_t token_count(const SftExample& e);
int64_t token_count(const PreferenceExample& e);
int64_t token_count(const UnpairedExample& e);
int64_t token_count(const PromptExample& e);

}  // namespace tandem::data
