#include "train/param_update.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include "backend/registry.h"
#include "train/grad_clip.h"

namespace tandem::train {

namespace {
// The decay ranges that fall in [lo, hi), shifted to start at 0.
DecayRanges shift(const DecayRanges& d, int64_t lo, int64_t hi) {
  DecayRanges out;
  for (auto [b, e] : d.ranges) {
    const int64_t nb = std::max(b, lo), ne = std::min(e, hi);
    if (nb < ne) out.ranges.emplace_back(nb - lo, ne - lo);
  }
  return out;
}
}  // namespace

ParamUpdater::ParamUpdater(const TrainConfig& cfg, Tensor& params, Tensor& grads, DecayRanges decay,
                           dist::Communicator& comm, const std::vector<int64_t>& grad_ready_offsets)
    : cfg_(cfg), params_(params), grads_(grads), decay_(std::move(decay)), comm_(comm) {
  const int64_t n = params_.numel();
  const bool shard = cfg.zero_stage == 1 && comm.size() > 1;
  offsets_ = shard ? dist::shard_offsets(n, comm.size()) : std::vector<int64_t>{0, n};
  lo_ = shard ? offsets_[size_t(comm.rank())] : 0;
  hi_ = shard ? offsets_[size_t(comm.rank()) + 1] : n;
  shard_decay_ = shift(decay_, lo_, hi_);
  if (cfg.optim == "adamw") adam_ = std::make_unique<AdamW>(hi_ - lo_);
  if (comm.size() > 1 && cfg.ddp_bucket_cap_mb > 0) {
    // Without ZeRO the reduce is still a reduce-scatter (then an all-gather in step()), the two
    // halves of the all-reduce, on 64-element aligned shards.
    overlap_shards_ = shard ? offsets_ : dist::shard_offsets(n, comm.size());
    const int64_t bucket = std::max<int64_t>(1, int64_t(cfg.ddp_bucket_cap_mb * 1024 * 1024 / sizeof(float)));
    overlap_ = std::make_unique<OverlappedGradReduce>(comm, grads_, overlap_shards_, grad_ready_offsets, bucket);
  }
}

ParamUpdater::~ParamUpdater() = default;

model::GradReadyObserver* ParamUpdater::overlapped_reduce() { return overlap_.get(); }

double ParamUpdater::step(double lr) {
  const bool sharded = hi_ - lo_ != params_.numel();
  Tensor p = params_.rows(lo_, hi_), g = grads_.rows(lo_, hi_);
  double norm = 0;
  sync_s_ = 0;
  const auto timed = [this](auto&& collective) {
    const auto t0 = std::chrono::steady_clock::now();
    collective();
    sync_s_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  if (overlap_) {
    overlap_->gradients_complete();  // a no-op when the trainer already completed it
    sync_s_ += overlap_->seconds();
    overlap_->new_step();
    if (!sharded) timed([&] { comm_.all_gather(grads_.f32(), overlap_shards_); });
  }
  if (sharded) {
    // Each rank needs only the summed gradient of its own shard; the global norm is the sum of
    // the shards' squared norms (one scalar all-reduce), so every rank clips by the same factor.
    if (!overlap_) timed([&] { comm_.reduce_scatter_sum(grads_.f32(), offsets_); });
    double sq = ops_for(g.device()).sum_squares(g);
    timed([&] { comm_.all_reduce_sum(&sq, 1); });
    norm = std::sqrt(sq);
    clip_to_norm(g, norm, cfg_.max_grad_norm);
  } else {
    if (comm_.size() > 1 && !overlap_) timed([&] { comm_.all_reduce_sum(grads_.f32(), grads_.numel()); });
    // Every rank holds the same summed gradient, so the norm and the clipping agree everywhere.
    norm = clip_grad_norm(grads_, cfg_.max_grad_norm);
  }
  if (!std::isfinite(norm)) return norm;  // the loop stops the run before any update
  if (adam_) {
    const AdamWConfig ac{cfg_.learning_rate, cfg_.adam_beta1, cfg_.adam_beta2, cfg_.adam_epsilon, cfg_.weight_decay};
    adam_->step(p, g, shard_decay_, ac, lr);
  } else {
    sgd_step(p, g, shard_decay_, cfg_.weight_decay, lr);
  }
  if (sharded) timed([&] { comm_.all_gather(params_.f32(), offsets_); });
  return norm;
}

const AdamW* ParamUpdater::gathered_adam() {
  if (!adam_) return nullptr;
  if (hi_ - lo_ == params_.numel()) return comm_.rank() == 0 ? adam_.get() : nullptr;
  const bool root = comm_.rank() == 0;
  if (root && !full_) full_ = std::make_unique<AdamW>(params_.numel());
  comm_.gather_to(0, adam_->m().f32(), root ? full_->m().f32() : nullptr, offsets_);
  comm_.gather_to(0, adam_->v().f32(), root ? full_->v().f32() : nullptr, offsets_);
  if (!root) return nullptr;
  full_->set_steps(adam_->steps());
  return full_.get();
}

void ParamUpdater::release_gathered() {
  if (hi_ - lo_ != params_.numel()) full_.reset();
}

AdamW* ParamUpdater::full_adam_for_loading() {
  if (!adam_) return nullptr;
  if (hi_ - lo_ == params_.numel()) return adam_.get();
  full_ = std::make_unique<AdamW>(params_.numel());
  return full_.get();
}

void ParamUpdater::finish_loading() {
  if (!adam_ || !full_ || hi_ - lo_ == params_.numel()) return;
  std::memcpy(adam_->m().f32(), full_->m().f32() + lo_, size_t(hi_ - lo_) * sizeof(float));
  std::memcpy(adam_->v().f32(), full_->v().f32() + lo_, size_t(hi_ - lo_) * sizeof(float));
  adam_->set_steps(full_->steps());
  full_.reset();
}

}  // namespace tandem::train
