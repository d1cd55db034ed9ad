// dist::Communicator under `mpirun --allow-run-as-root -np 3` (the test binary runs itself): sums of
// reduce-scatter and all-reduce over a buffer that spans several of the communicator's chunks and
// shard bounds that do not fall on chunk bounds, all-gather, and all-gather of bytes of unequal
// sizes (one rank empty), non-blocking reduce-scatters of buckets in flight together, and a
// gather onto one rank. Values are small integers, so every sum is exact whatever the order.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <filesystem>

#include "core/error.h"
#include "dist/communicator.h"
#include "testing/testing.h"

namespace tandem {
namespace {

const char* kWorkerEnv = "TANDEM_TEST_MPI_WORKER";

TEST(Communicator, CollectivesOnThreeRanks) {
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  std::string out;
  EXPECT_EQ(testing::run_command(cat(kWorkerEnv, "=1 mpirun --allow-run-as-root --oversubscribe -np 3 ", self,
                                     " --gtest_filter=CommunicatorWorker.*"), &out), 0) << out;
}

TEST(CommunicatorWorker, Collectives) {
  if (!std::getenv(kWorkerEnv)) GTEST_SKIP() << "runs under mpirun, started by Communicator.CollectivesOnThreeRanks";
  dist::Communicator& c = dist::world();
  ASSERT_EQ(c.size(), 3);
  ASSERT_EQ(c.backend(), "mpi");
  const int r = c.rank();
  // 2 x 16M + odd elements: three chunks of the reduce-scatter, shard bounds inside chunks.
  const int64_t n = (int64_t(1) << 25) + 12345;
  auto value = [](int64_t i, int rank) { return float(i % 997 + rank); };
  std::vector<float> g(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) g[size_t(i)] = value(i, r);
  const auto off = dist::shard_offsets(n, 3);
  c.reduce_scatter_sum(g.data(), off);
  int64_t bad = 0;
  for (int64_t i = off[size_t(r)]; i < off[size_t(r) + 1]; ++i) bad += g[size_t(i)] != float(3 * (i % 997) + 3);
  EXPECT_EQ(bad, 0) << "reduce_scatter_sum on rank " << r;
  for (int64_t i = 0; i < n; ++i)
    if (i < off[size_t(r)] || i >= off[size_t(r) + 1]) g[size_t(i)] = -1.f;
  c.all_gather(g.data(), off);
  bad = 0;
  for (int64_t i = 0; i < n; ++i) bad += g[size_t(i)] != float(3 * (i % 997) + 3);
  EXPECT_EQ(bad, 0) << "all_gather on rank " << r;
  for (int64_t i = 0; i < n; ++i) g[size_t(i)] = value(i, r);
  c.all_reduce_sum(g.data(), n);
  bad = 0;
  for (int64_t i = 0; i < n; ++i) bad += g[size_t(i)] != float(3 * (i % 997) + 3);
  EXPECT_EQ(bad, 0) << "all_reduce_sum on rank " << r;

  // Several reduce-scatters in flight at once (the gradient buckets of an overlapped backward):
  // started from the end of the buffer towards its start, one spanning two chunks, one in which
  // rank 0 owns nothing; polled with test() while "computing", then waited for.
  for (int64_t i = 0; i < n; ++i) g[size_t(i)] = value(i, r);
  const std::vector<std::pair<int64_t, int64_t>> buckets = {
      {n - 1000, n}, {off[1] + 10, n - 1000}, {off[1] - 3, off[1] + 10}, {0, off[1] - 3}};
  std::vector<std::unique_ptr<dist::PendingCollective>> pending;
  for (auto [b, e] : buckets) {
    std::vector<int64_t> parts(off.size());
    for (size_t q = 0; q < off.size(); ++q) parts[q] = std::clamp(off[q], b, e) - b;
    pending.push_back(c.start_reduce_scatter_sum(g.data() + b, parts));
    for (auto& p : pending) p->test();
  }
  for (auto& p : pending) p->wait();
  bad = 0;
  for (int64_t i = off[size_t(r)]; i < off[size_t(r) + 1]; ++i) bad += g[size_t(i)] != float(3 * (i % 997) + 3);
  EXPECT_EQ(bad, 0) << "start_reduce_scatter_sum in buckets on rank " << r;

  // Gather onto one rank (rank 1, so that the root's shard is neither first nor last): each rank
  // sends its shard from a buffer of the shard's size; only the root holds the whole.
  std::vector<float> shard(size_t(off[size_t(r) + 1] - off[size_t(r)]));
  for (size_t i = 0; i < shard.size(); ++i) shard[i] = value(off[size_t(r)] + int64_t(i), r);
  std::vector<float> whole(r == 1 ? size_t(n) : 0, -1.f);
  c.gather_to(1, shard.data(), r == 1 ? whole.data() : nullptr, off);
  if (r == 1) {
    bad = 0;
    for (int q = 0; q < 3; ++q)
      for (int64_t i = off[size_t(q)]; i < off[size_t(q) + 1]; ++i) bad += whole[size_t(i)] != value(i, q);
    EXPECT_EQ(bad, 0) << "gather_to on the root";
  }

  const std::string mine = r == 1 ? std::string() : std::string(size_t(100 + 7 * r), char('a' + r));
  const auto all = c.all_gather_bytes(mine);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0], std::string(100, 'a'));
  EXPECT_EQ(all[1], "");
  EXPECT_EQ(all[2], std::string(114, 'c'));
}

}  // namespace
}  // namespace tandem
