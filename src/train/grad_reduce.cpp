#include "train/grad_reduce.h"

#include <algorithm>
#include <chrono>

#include "core/error.h"

namespace tandem::train {

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

GradBuckets plan_grad_buckets(const std::vector<int64_t>& ready_offsets, int64_t n, int64_t bucket_elems) {
  TD_ASSERT(!ready_offsets.empty() && ready_offsets.back() == 0, "the last stage must complete the whole buffer");
  GradBuckets b;
  int64_t end = n;
  for (size_t s = 0; s < ready_offsets.size(); ++s) {
    const int64_t o = ready_offsets[s];
    TD_ASSERT(o <= end, "stages must complete the buffer from its end towards its start");
    // A bucket closes once it is long enough, and at the last stage whatever its length.
    if (o < end && (end - o >= bucket_elems || o == 0)) {
      b.ranges.emplace_back(o, end);
      end = o;
    }
    b.ready_after_stage.push_back(b.ranges.size());
  }
  return b;
}

OverlappedGradReduce::OverlappedGradReduce(dist::Communicator& comm, Tensor& grads, std::vector<int64_t> shards,
                                           const std::vector<int64_t>& ready_offsets, int64_t bucket_elems)
    : comm_(comm), grads_(grads), shards_(std::move(shards)),
      plan_(plan_grad_buckets(ready_offsets, grads.numel(), bucket_elems)) {}

OverlappedGradReduce::~OverlappedGradReduce() = default;

void OverlappedGradReduce::stage_done(size_t stage) {
  if (!armed_ || complete_) return;
  TD_ASSERT(stage < plan_.ready_after_stage.size(), "backward stage out of range");
  start_through(plan_.ready_after_stage[stage]);
  poll();
}

void OverlappedGradReduce::gradients_complete() {
  if (complete_) return;
  start_through(plan_.ranges.size());
  const auto t0 = std::chrono::steady_clock::now();
  for (auto& p : pending_) p->wait();
  pending_.clear();
  seconds_ += seconds_since(t0);
  armed_ = false;
  complete_ = true;
}

void OverlappedGradReduce::new_step() {
  TD_ASSERT(pending_.empty(), "a step began with gradient buckets in flight");
  armed_ = complete_ = false;
  started_ = 0;
  seconds_ = 0;
}

void OverlappedGradReduce::start_through(size_t count) {
  const auto t0 = std::chrono::steady_clock::now();
  for (; started_ < count; ++started_) {
    const auto [b, e] = plan_.ranges[started_];
    // The bucket's part of each rank's shard, relative to the bucket.
    std::vector<int64_t> parts(shards_.size());
    for (size_t r = 0; r < shards_.size(); ++r) parts[r] = std::clamp(shards_[r], b, e) - b;
    pending_.push_back(comm_.start_reduce_scatter_sum(grads_.f32() + b, parts));
  }
  seconds_ += seconds_since(t0);
}

void OverlappedGradReduce::poll() {
  const auto t0 = std::chrono::steady_clock::now();
  // Each test() also starts a bucket's next chunk once the previous one has arrived.
  for (auto& p : pending_) p->test();
  seconds_ += seconds_since(t0);
}

}  // namespace tandem::train
