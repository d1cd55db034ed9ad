// Collectives between the processes of one data-parallel job: all-reduce, all-gather of shards and
// of variable-size bytes, broadcast, barrier. On CPUs this is Open MPI (a proven layer, not a home-made one); on GPUs NCCL
// takes the same interface later. A process not started by mpirun gets a one-process world, so
// every trainer runs the same code with or without MPI.
// A collective that does not finish within the timeout (a peer rank died or hangs) ends the whole
// job with a message naming this rank, instead of hanging forever.
// Not here: what is reduced and when (train layer), sharding policy of optimizer state.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace tandem::dist {

// A collective started and not yet finished, so that computation can go on meanwhile. Open MPI moves
// non-blocking collectives on only inside MPI calls, so test() both advances it and says whether it
// is done; wait() finishes it (or ends the job after the collective timeout).
class PendingCollective {
 public:
  virtual ~PendingCollective() = default;
  virtual bool test() = 0;
  virtual void wait() = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Ranks on this machine (OMP threads per rank are the machine's cores divided by it).
  virtual int local_size() const = 0;
  virtual std::string backend() const = 0;  // "single" | "mpi"
  // In place: data = the sum over ranks. Every rank receives bitwise the same result.
  virtual void all_reduce_sum(float* data, int64_t n) = 0;
  virtual void all_reduce_sum(double* data, int64_t n) = 0;
  // In place: afterwards data[offsets[r], offsets[r+1]) on rank r holds the sum over ranks of that
  // slice (the rest of data is left as it was). Half of an all-reduce: what sharded optimizer
  // state needs, at half the traffic.
  virtual void reduce_scatter_sum(float* data, const std::vector<int64_t>& offsets) = 0;
  // reduce_scatter_sum started now and finished by the result's wait(); data must stay untouched
  // until then. Collectives match by the order ranks start them: every rank starts the same ones
  // in the same order, non-blocking or not.
  virtual std::unique_ptr<PendingCollective> start_reduce_scatter_sum(float* data, const std::vector<int64_t>& offsets) = 0;
  // In place: rank r owns data[offsets[r], offsets[r+1]); afterwards every rank holds every shard.
  virtual void all_gather(float* data, const std::vector<int64_t>& offsets) = 0;
  // Rank r sends its shard mine (offsets[r + 1] - offsets[r] elements); root receives every shard
  // into all (offsets.back() elements; null on the other ranks, which hold no full copy).
  virtual void gather_to(int root, const float* mine, float* all, const std::vector<int64_t>& offsets) = 0;
  virtual void broadcast(void* data, int64_t bytes, int root) = 0;
  // Every rank's bytes, in rank order, on every rank; the ranks' sizes may differ. How ranks that
  // each made a part of a result (sampled sequences, statistics) share the whole of it.
  virtual std::vector<std::string> all_gather_bytes(const std::string& mine) = 0;
  virtual void barrier() = 0;
};

// The job's communicator: MPI's world when this process was launched by mpirun (initialised on
// first use), else a single process. Lives until exit.
Communicator& world();

// Shard boundaries of n elements over size ranks: size + 1 offsets, contiguous, nearly equal, each
// boundary a multiple of align elements (cache lines and vector widths stay whole).
std::vector<int64_t> shard_offsets(int64_t n, int size, int64_t align = 64);

// Seconds a collective may take before the job is ended (TANDEM_DIST_TIMEOUT_S, default 600).
double collective_timeout_s();

}  // namespace tandem::dist
