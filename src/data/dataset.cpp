#include "data/dataset.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <exception>

#include "core/log.h"
#include "core/rng.h"
#include "data/tokenized_jsonl.h"

namespace tandem::data {

namespace {

// The held-out choice must not move when a user changes the training seed.
constexpr uint64_t kSplitSeed = 0x7a6d5e11ull;

template <class T>
auto reader() {
  if constexpr (std::is_same_v<T, SftExample>) return &read_sft;
  else if constexpr (std::is_same_v<T, PreferenceExample>) return &read_preference;
  else if constexpr (std::is_same_v<T, UnpairedExample>) return &read_unpaired;
  else return &read_prompt;
}

}  // namespace

Split parse_split(const std::string& s) {
  if (s == "train") return Split::kTrain;
  if (s == "eval") return Split::kEval;
  throw Error("data.split", cat("expected train or eval, got '", s, "'"));
}

Dataset::Dataset(const DataConfig& cfg, const std::string& model_dir, Split split, uint64_t seed)
    : Dataset(cfg, ChatRenderer::shared(model_dir), split, seed) {}

Dataset::Dataset(const DataConfig& cfg, std::shared_ptr<const ChatRenderer> renderer, Split split, uint64_t seed)
    : cfg_(cfg), split_(split), seed_(seed), renderer_(std::move(renderer)) {
  cfg.validate();
  opt_.max_length = cfg.max_length;
  opt_.max_prompt_length = cfg.max_prompt_length;
  opt_.truncation = parse_truncation(cfg.truncation);
  opt_.assistant_only_loss = cfg.assistant_only_loss;
  opt_.last_assistant_only = cfg.assistant_turns == "last";
  opt_.completion_only_loss = cfg.completion_only_loss;
  const std::vector<SourceSpec> specs = SourceSpec::from_config(cfg);
  const bool has_eval_source = std::any_of(specs.begin(), specs.end(), [](const auto& s) { return s.split == "eval"; });
  const bool by_fraction = !has_eval_source && cfg.eval_fraction > 0;
  const std::string want = split == Split::kTrain ? "train" : "eval";
  for (size_t k = 0; k < specs.size(); ++k) {
    const SourceSpec& spec = specs[k];
    if (spec.split != want && !(by_fraction && spec.split == "train")) continue;
    Source s;
    s.spec = spec;
    s.index = std::make_shared<JsonlIndex>(spec.path);
    const size_t n = s.index->size();
    s.count = n;
    if (by_fraction) {
      const size_t n_eval = size_t(std::llround(cfg.eval_fraction * double(n)));
      std::vector<uint8_t> is_eval(n, 0);
      const auto perm = epoch_order(n, kSplitSeed, int64_t(k));
      for (size_t j = 0; j < n_eval; ++j) is_eval[perm[j]] = 1;
      for (size_t j = 0; j < n; ++j)
        if (bool(is_eval[j]) == (split == Split::kEval)) s.lines.push_back(uint32_t(j));
      s.count = s.lines.size();
    }
    s.first = total_;
    total_ += s.count;
    if (n == 0) log_warn("data: ", spec.path, " holds no examples");
    sources_.push_back(std::move(s));
  }
}

std::pair<const Dataset::Source*, size_t> Dataset::locate(size_t i) const {
  TD_ASSERT(i < total_, "example ", i, " of ", total_);
  auto it = std::upper_bound(sources_.begin(), sources_.end(), i, [](size_t v, const Source& s) { return v < s.first; });
  const Source& s = *(it - 1);
  const size_t j = i - s.first;
  return {&s, s.lines.empty() ? j : size_t(s.lines[j])};
}

Origin Dataset::origin(size_t i) const {
  const auto [s, li] = locate(i);
  return Origin{s->spec.path, s->index->line_number(li)};
}

std::string Dataset::raw_line(size_t i) const {
  const auto [s, li] = locate(i);
  return s->index->line(li);
}

template <class T, class Read>
std::optional<T> Dataset::produce(size_t i, DataStats& stats, Read read) const {
  const auto [s, li] = locate(i);
  const Origin o{s->spec.path, s->index->line_number(li)};
  try {
    const OrderedJson line = to_canonical(parse_line(s->index->line(li), o), s->spec, o);
    return read(line, *renderer_, opt_, o, stats);
  } catch (const BadLine& e) {
    if (!cfg_.skip_bad_lines) throw;
    ++stats.skipped;
    if (stats.skipped_lines.size() < DataStats::kMaxListed) stats.skipped_lines.push_back(e.message());
    return std::nullopt;
  }
}

template <class T>
std::optional<T> Dataset::get(size_t i, DataStats& stats) const {
  return produce<T>(i, stats, reader<T>());
}

template <class T>
std::vector<Dataset::Produced<T>> Dataset::produce_many(const std::vector<uint32_t>& idx, int threads) const {
  const int64_t n = int64_t(idx.size());
  std::vector<Produced<T>> out(idx.size());
  const int nt = threads > 0 ? threads : omp_get_max_threads();
  // Errors are caught per item and handed back in item order (never thrown across OpenMP).
#pragma omp parallel for schedule(dynamic, 4) num_threads(nt) if (n > 8 && nt > 1)
  for (int64_t k = 0; k < n; ++k) {
    Produced<T>& p = out[size_t(k)];
    try {
      p.example = get<T>(idx[size_t(k)], p.stats);
    } catch (...) {
      p.error = std::current_exception();
    }
  }
  return out;
}

template <class T>
std::vector<std::optional<T>> Dataset::get_many(const std::vector<uint32_t>& idx, int threads, DataStats& stats) const {
  auto produced = produce_many<T>(idx, threads);
  std::vector<std::optional<T>> out(idx.size());
  for (size_t k = 0; k < idx.size(); ++k) {
    if (produced[k].error) std::rethrow_exception(produced[k].error);
    stats.merge(produced[k].stats);
    out[k] = std::move(produced[k].example);
  }
  return out;
}

#define TD_DATASET_INSTANTIATE(T)                                                            \
  template std::optional<T> Dataset::get<T>(size_t, DataStats&) const;                       \
  template std::vector<std::optional<T>> Dataset::get_many<T>(const std::vector<uint32_t>&, int, \
                                                               DataStats&) const;              \
  template std::vector<Dataset::Produced<T>> Dataset::produce_many<T>(const std::vector<uint32_t>&, int) const;
TD_DATASET_INSTANTIATE(SftExample)
TD_DATASET_INSTANTIATE(PreferenceExample)
TD_DATASET_INSTANTIATE(UnpairedExample)
TD_DATASET_INSTANTIATE(PromptExample)
#undef TD_DATASET_INSTANTIATE

namespace {
template <class T>
std::optional<T> locked_get(const Dataset& ds, size_t i, std::mutex& mu, DataStats& shared) {
  DataStats local;
  auto r = ds.get<T>(i, local);
  std::lock_guard<std::mutex> lock(mu);
  shared.merge(local);
  return r;
}
}  // namespace

std::optional<SftExample> Dataset::sft(size_t i) const { return locked_get<SftExample>(*this, i, mu_, stats_); }
std::optional<PreferenceExample> Dataset::preference(size_t i) const {
  return locked_get<PreferenceExample>(*this, i, mu_, stats_);
}
std::optional<UnpairedExample> Dataset::unpaired(size_t i) const { return locked_get<UnpairedExample>(*this, i, mu_, stats_); }
std::optional<PromptExample> Dataset::prompt(size_t i) const { return locked_get<PromptExample>(*this, i, mu_, stats_); }

DataStats Dataset::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

size_t Dataset::epoch_size() const {
  if (split_ == Split::kEval) return total_;
  size_t n = 0;
  for (const auto& s : sources_) {
    const double w = s.spec.weight, whole = std::floor(w);
    n += size_t(whole) * s.count + size_t(std::llround((w - whole) * double(s.count)));
  }
  return n;
}

std::vector<uint32_t> Dataset::epoch_plan(int64_t epoch, uint64_t seed) const {
  if (split_ == Split::kEval) {  // evaluation walks every example once, in file order
    std::vector<uint32_t> p(total_);
    for (size_t i = 0; i < total_; ++i) p[i] = uint32_t(i);
    return p;
  }
  bool unit = true;
  for (const auto& s : sources_) unit = unit && s.spec.weight == 1.0;
  if (unit) return epoch_order(total_, seed, epoch);
  std::vector<uint32_t> items;
  items.reserve(epoch_size());
  for (size_t k = 0; k < sources_.size(); ++k) {
    const Source& s = sources_[k];
    const double w = s.spec.weight, whole = std::floor(w);
    for (size_t c = 0; c < size_t(whole); ++c)
      for (size_t j = 0; j < s.count; ++j) items.push_back(uint32_t(s.first + j));
    const size_t extra = size_t(std::llround((w - whole) * double(s.count)));
    if (extra > 0) {  // a different seeded subset each epoch
      const auto perm = epoch_order(s.count, seed ^ (0x9e3779b97f4a7c15ull * (k + 1)), epoch);
      for (size_t j = 0; j < extra; ++j) items.push_back(uint32_t(s.first + perm[j]));
    }
  }
  const auto order = epoch_order(items.size(), seed, epoch);
  std::vector<uint32_t> plan(items.size());
  for (size_t j = 0; j < items.size(); ++j) plan[j] = items[order[j]];
  return plan;
}

Json Dataset::fingerprint() const {
  Json src = Json::array();
  for (const auto& s : sources_)
    src.push_back({{"path", s.spec.path}, {"lines", s.index->size()}, {"examples", s.count}, {"weight", s.spec.weight}});
  return {{"split", split_ == Split::kTrain ? "train" : "eval"}, {"examples", total_}, {"sources", src}};
}

int64_t token_count(const SftExample& e) { return int64_t(e.seq.ids.size()); }
int64_t token_count(const PreferenceExample& e) {
  return int64_t(2 * e.prompt.size() + e.chosen.size() + e.rejected.size());
}
int64_t token_count(const UnpairedExample& e) { return int64_t(e.prompt.size() + e.completion.size()); }
int64_t token_count(const PromptExample& e) { return int64_t(e.prompt.size() + e.demonstration.size()); }

}  // namespace tandem::data
