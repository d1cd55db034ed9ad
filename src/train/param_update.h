// How one step's gradients become new weights in a data-parallel job: the gradient is summed over
// ranks, clipped by its global norm, and the optimizer updates the weights. With zero_stage 1 the
// AdamW moments are sharded: each rank keeps and updates only its slice of the flat parameters and
// the updated slices are all-gathered, so optimizer memory per rank falls as 1/N and every rank
// holds bitwise the same weights. One process is the N = 1 case of the same code.
// Not here: the gradient itself (the trainer's Algorithm), checkpoint layout (checkpoint.h).
#pragma once
#include <memory>

#include "dist/communicator.h"
#include "train/grad_reduce.h"
#include "train/optimizer.h"
#include "train/train_config.h"

namespace tandem::train {

class ParamUpdater {
 public:
  // params/grads: the flat buffers trained (the model's, or LoRA adapters'); decay over params.
  // grad_ready_offsets: where a backward completes grads (model::Decoder::grad_ready_offsets()),
  // for the reduce overlapped with the backward (cfg.ddp_bucket_cap_mb > 0 on several ranks).
  ParamUpdater(const TrainConfig& cfg, Tensor& params, Tensor& grads, DecayRanges decay, dist::Communicator& comm,
               const std::vector<int64_t>& grad_ready_offsets);
  ~ParamUpdater();
  // What the trained model tells of its backward stages (null: the reduce runs in step(), after the
  // backward, in one piece).
  model::GradReadyObserver* overlapped_reduce();
  // Sums grads over ranks (or finishes the overlapped reduce), clips, applies one optimizer step at
  // lr; returns the norm before clipping.
  double step(double lr);
  // Full (unsharded) AdamW moments for a checkpoint, gathered from every rank onto rank 0 only
  // (collective: every rank calls it; the others send their shard and hold no full copy). On rank
  // 0 the moments; nullptr on the other ranks and with SGD. release_gathered() frees them.
  const AdamW* gathered_adam();
  void release_gathered();
  // Loads full moments (every rank reads the same checkpoint) and keeps this rank's shard.
  AdamW* full_adam_for_loading();
  void finish_loading();
  // Seconds the last step() spent in collectives (the gradient's reduce, the norm's scalar, the
  // shards' gather); 0 on one rank.
  double last_sync_seconds() const { return sync_s_; }
  int64_t shard_begin() const { return lo_; }
  int64_t shard_end() const { return hi_; }

 private:
  const TrainConfig& cfg_;
  Tensor& params_;
  Tensor& grads_;
  DecayRanges decay_, shard_decay_;
  dist::Communicator& comm_;
  std::vector<int64_t> offsets_;
  int64_t lo_ = 0, hi_ = 0;
  double sync_s_ = 0;
  std::unique_ptr<AdamW> adam_;  // over [lo_, hi_)
  std::unique_ptr<AdamW> full_;  // scratch for checkpoints
  std::unique_ptr<OverlappedGradReduce> overlap_;
  std::vector<int64_t> overlap_shards_;  // where the overlapped reduce leaves each rank's sums
};

}  // namespace tandem::train
