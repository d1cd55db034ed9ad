// The data-parallel gradient reduce overlapped with the backward pass. The trainable gradient
// buffer is cut into buckets along the points where a backward finishes it (the decoder's
// GradReadyObserver stages: head, layers from last to first, embedding), each at least
// bucket_elems long where the stages allow. During a rank's last backward of a step, each
// bucket's reduce-scatter starts as soon as the stage that completes it ends, and every later
// stage polls the ones in flight (Open MPI moves them on only inside MPI calls); what is left
// is waited for when the step's backwards are over.
// Every rank uses the same buckets in the same order (they depend on the model only), and a rank
// with no backward in a step (online RL with more ranks than micro-batches) starts them all when
// it says its gradients are complete, so collectives always match. The sums are those of one
// reduce-scatter of the whole buffer: Open MPI's reduce-scatter fixes each element's summation
// order by its tree whatever the message (docs/dist.md).
// Not here: clipping and the optimizer (param_update.h), the backward (model/decoder.h).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "dist/communicator.h"
#include "model/decoder.h"
#include "tensor/tensor.h"

namespace tandem::train {

// The buckets, as [begin, end) ranges of the buffer in the order they are reduced (from its end
// to its start), and for each backward stage how many of them it completes. ready_offsets are
// the decoder's grad_ready_offsets(); the last is 0.
struct GradBuckets {
  std::vector<std::pair<int64_t, int64_t>> ranges;
  std::vector<size_t> ready_after_stage;  // buckets complete once that stage is done
};
GradBuckets plan_grad_buckets(const std::vector<int64_t>& ready_offsets, int64_t n, int64_t bucket_elems);

class OverlappedGradReduce final : public model::GradReadyObserver {
 public:
  // grads: the flat buffer reduced in place; shards: where each rank's part of the sum lands
  // (shard_offsets over grads, size + 1 entries).
  OverlappedGradReduce(dist::Communicator& comm, Tensor& grads, std::vector<int64_t> shards,
                       const std::vector<int64_t>& ready_offsets, int64_t bucket_elems);
  ~OverlappedGradReduce() override;

  void last_backward_next() override { armed_ = true; }
  void stage_done(size_t stage) override;
  // Starts the buckets not yet started and waits for all: afterwards each rank's shard holds the
  // sum over ranks. Once per step: later calls do nothing until new_step().
  void gradients_complete() override;

  // Seconds this step spent in communication calls (starting, polling, waiting).
  double seconds() const { return seconds_; }
  // After the step's update has used the sums: the next backwards belong to the next step.
  void new_step();

 private:
  void start_through(size_t count);
  void poll();

  dist::Communicator& comm_;
  Tensor& grads_;
  std::vector<int64_t> shards_;
  GradBuckets plan_;
  bool armed_ = false, complete_ = false;
  size_t started_ = 0;
  std::vector<std::unique_ptr<dist::PendingCollective>> pending_;
  double seconds_ = 0;
};

}  // namespace tandem::train
