// The bucket plan of the overlapped gradient reduce: buckets cover the buffer exactly once, from
// its end to its start, each closed at a stage boundary once it holds bucket_elems (the last one
// whatever it holds); each stage's count is the buckets it has completed. (The reduce itself runs
// under mpirun in tests/e2e/dist_test.cpp, against the reduce after the backward.)
#include <gtest/gtest.h>

#include "train/grad_reduce.h"

namespace tandem::train {
namespace {

using Ranges = std::vector<std::pair<int64_t, int64_t>>;

TEST(GradBuckets, ClosesAtStagesOnceLongEnough) {
  // Head + final norm [900, 1000), layers of 200 from 700 down to 100, embedding [0, 100).
  const std::vector<int64_t> ready = {900, 700, 500, 300, 100, 0};
  const GradBuckets one_stage = plan_grad_buckets(ready, 1000, 1);
  EXPECT_EQ(one_stage.ranges, (Ranges{{900, 1000}, {700, 900}, {500, 700}, {300, 500}, {100, 300}, {0, 100}}));
  EXPECT_EQ(one_stage.ready_after_stage, (std::vector<size_t>{1, 2, 3, 4, 5, 6}));
  const GradBuckets b = plan_grad_buckets(ready, 1000, 250);
  EXPECT_EQ(b.ranges, (Ranges{{700, 1000}, {300, 700}, {0, 300}}));
  EXPECT_EQ(b.ready_after_stage, (std::vector<size_t>{0, 1, 1, 2, 2, 3}));
  const GradBuckets whole = plan_grad_buckets(ready, 1000, int64_t(1) << 40);
  EXPECT_EQ(whole.ranges, (Ranges{{0, 1000}}));
  EXPECT_EQ(whole.ready_after_stage, (std::vector<size_t>{0, 0, 0, 0, 0, 1}));
}

TEST(GradBuckets, StagesThatCompleteNothing) {
  // LoRA: the head completes no adapter (offset = the buffer's end); a layer without adapters
  // leaves the offset where it was.
  const GradBuckets b = plan_grad_buckets({64, 64, 32, 32, 0, 0}, 64, 1);
  EXPECT_EQ(b.ranges, (Ranges{{32, 64}, {0, 32}}));
  EXPECT_EQ(b.ready_after_stage, (std::vector<size_t>{0, 0, 1, 1, 2, 2}));
}

}  // namespace
}  // namespace tandem::train
