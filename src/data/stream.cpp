#include "data/stream.h"

namespace tandem::data {

namespace {

const Json& saved_field(const Json& s, const char* k) {
  if (!s.is_object() || !s.contains(k)) throw Error("data.stream.restore", cat("the saved state has no '", k, "'"));
  return s[k];
}

}  // namespace

template <class T>
ExampleStream<T>::ExampleStream(const Dataset& ds, uint64_t seed, int threads)
    : ds_(ds), seed_(seed), threads_(std::max(1, threads)) {
  if (ds.empty()) throw Error("data.stream", "the dataset has no examples in this split");
  start_epoch(0);
}

template <class T>
void ExampleStream<T>::start_epoch(int64_t e) {
  epoch_ = e;
  pos_ = 0;
  plan_ = ds_.epoch_plan(e, seed_);
  ahead_.clear();
  whole_epoch_ = true;
  usable_in_epoch_ = 0;
  if (plan_.empty()) throw Error("data.stream", "an epoch holds no examples (weights round every source to 0)");
}

template <class T>
const T* ExampleStream<T>::peek() {
  for (;;) {
    if (pos_ >= plan_.size()) {
      if (whole_epoch_ && usable_in_epoch_ == 0)
        throw Error("data.stream", cat("every example of epoch ", epoch_, " was dropped or skipped (", stats_.summary(),
                                       "); check max_length and truncation"));
      start_epoch(epoch_ + 1);
    }
    if (ahead_.empty()) {
      const size_t block = threads_ > 1 ? size_t(32 * threads_) : 1;
      const size_t end = std::min(plan_.size(), pos_ + block);
      std::vector<uint32_t> idx(plan_.begin() + long(pos_), plan_.begin() + long(end));
      for (auto& p : ds_.template produce_many<T>(idx, threads_)) ahead_.push_back(std::move(p));
    }
    auto& front = ahead_.front();
    if (front.error) {
      const std::exception_ptr e = front.error;
      ahead_.clear();  // a caller that catches and resumes re-reads from here
      std::rethrow_exception(e);
    }
    if (front.example) return &*front.example;
    stats_.merge(front.stats);
    ahead_.pop_front();
    ++pos_;
  }
}

template <class T>
T ExampleStream<T>::next() {
  peek();
  auto& front = ahead_.front();
  T out = std::move(*front.example);
  stats_.merge(front.stats);
  ahead_.pop_front();
  ++pos_;
  ++usable_in_epoch_;
  return out;
}

template <class T>
std::vector<T> ExampleStream<T>::next_batch(size_t n) {
  std::vector<T> out;
  out.reserve(n);
  for (size_t k = 0; k < n; ++k) out.push_back(next());
  return out;
}

template <class T>
std::vector<T> ExampleStream<T>::next_by_tokens(int64_t max_tokens) {
  std::vector<T> out;
  int64_t used = 0;
  for (;;) {
    const T* p = peek();
    const int64_t n = token_count(*p);
    if (!out.empty() && used + n > max_tokens) break;
    used += n;
    out.push_back(next());
    if (used >= max_tokens) break;
  }
  return out;
}

template <class T>
Json ExampleStream<T>::state() const {
  return {{"epoch", epoch_}, {"position", pos_}, {"seed", seed_}, {"data", ds_.fingerprint()}, {"stats", stats_.to_json()}};
}

template <class T>
void ExampleStream<T>::restore(const Json& s) {
  auto need = [&](const char* k) -> const Json& { return saved_field(s, k); };
  if (need("data") != ds_.fingerprint())
    throw Error("data.stream.restore", cat("the saved data position belongs to other data: saved ", need("data").dump(),
                                           ", now ", ds_.fingerprint().dump(), ". Hint: resume with the same data files"));
  if (saved_field(s, "seed").get<uint64_t>() != seed_)
    throw Error("data.stream.restore", cat("the saved state used seed ", need("seed").dump(), ", this run uses ", seed_));
  start_epoch(saved_field(s, "epoch").get<int64_t>());
  pos_ = saved_field(s, "position").get<size_t>();
  if (pos_ > plan_.size())
    throw Error("data.stream.restore", cat("position ", pos_, " is past the end of the epoch (", plan_.size(), ")"));
  whole_epoch_ = pos_ == 0;
  stats_ = DataStats::from_json(need("stats"));
}

template class ExampleStream<SftExample>;
template class ExampleStream<PreferenceExample>;
template class ExampleStream<UnpairedExample>;
template class ExampleStream<PromptExample>;

}  // namespace tandem::data
