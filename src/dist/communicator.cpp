#include "dist/communicator.h"

#include <mpi.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <memory>
#include <thread>

#include "core/error.h"

namespace tandem::dist {

namespace {

// Large buffers go in chunks of this many elements: MPI counts are int, and Open MPI's non-blocking
// reduce-scatter (libnbc: a binomial-tree reduce to rank 0, then a scatter) allocates temporaries of
// twice the message, so 16M elements (64 MB of floats) bound them. The tree fixes each element's
// summation order whatever the message size, so chunking does not change sums.
constexpr int64_t kChunk = int64_t(1) << 24;

class Finished final : public PendingCollective {
 public:
  bool test() override { return true; }
  void wait() override {}
};

class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int local_size() const override { return 1; }
  std::string backend() const override { return "single"; }
  void all_reduce_sum(float*, int64_t) override {}
  void all_reduce_sum(double*, int64_t) override {}
  void reduce_scatter_sum(float*, const std::vector<int64_t>&) override {}
  std::unique_ptr<PendingCollective> start_reduce_scatter_sum(float*, const std::vector<int64_t>&) override {
    return std::make_unique<Finished>();
  }
  void all_gather(float*, const std::vector<int64_t>&) override {}
  void gather_to(int, const float* mine, float* all, const std::vector<int64_t>& offsets) override {
    if (all != mine) std::copy_n(mine, offsets.back(), all);
  }
  void broadcast(void*, int64_t, int) override {}
  std::vector<std::string> all_gather_bytes(const std::string& mine) override { return {mine}; }
  void barrier() override {}
};

bool launched_by_mpirun() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMIX_RANK") || std::getenv("PMI_RANK");
}

class Mpi final : public Communicator {
 public:
  Mpi() {
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local);
    MPI_Comm_size(local, &local_size_);
    MPI_Comm_free(&local);
    timeout_ = collective_timeout_s();
    std::atexit([] {
      int finalized = 0;
      MPI_Finalized(&finalized);
      if (!finalized) MPI_Finalize();
    });
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_size() const override { return local_size_; }
  std::string backend() const override { return "mpi"; }

  void all_reduce_sum(float* data, int64_t n) override { all_reduce(data, n, MPI_FLOAT); }
  void all_reduce_sum(double* data, int64_t n) override { all_reduce(data, n, MPI_DOUBLE); }

  void reduce_scatter_sum(float* data, const std::vector<int64_t>& offsets) override {
    start_reduce_scatter_sum(data, offsets)->wait();
  }

  std::unique_ptr<PendingCollective> start_reduce_scatter_sum(float* data, const std::vector<int64_t>& offsets) override {
    check_offsets(offsets, "reduce_scatter");
    auto p = std::make_unique<PendingReduceScatter<float>>(*this, data, offsets, MPI_FLOAT);
    p->test();  // starts the first chunk
    return p;
  }

  void all_gather(float* data, const std::vector<int64_t>& offsets) override {
    check_offsets(offsets, "all_gather");
    all_gather_chunks(data, offsets, MPI_FLOAT);
  }

  void gather_to(int root, const float* mine, float* all, const std::vector<int64_t>& offsets) override {
    check_offsets(offsets, "gather");
    const int64_t lo = offsets[size_t(rank_)];
    for_each_chunk(offsets, [&](int64_t c0, const std::vector<int>& counts, const std::vector<int>& displs) {
      // This rank's part of the chunk, in its shard.
      const int n = counts[size_t(rank_)];
      const float* part = n > 0 ? mine + (c0 + displs[size_t(rank_)] - lo) : mine;
      MPI_Request req;
      if (rank_ == root) {
        float* chunk = all + c0;
        if (n > 0 && part != chunk + displs[size_t(rank_)]) std::copy_n(part, n, chunk + displs[size_t(rank_)]);
        check(MPI_Igatherv(MPI_IN_PLACE, 0, MPI_FLOAT, chunk, counts.data(), displs.data(), MPI_FLOAT, root,
                           MPI_COMM_WORLD, &req),
              "gather");
      } else {
        check(MPI_Igatherv(part, n, MPI_FLOAT, nullptr, nullptr, nullptr, MPI_FLOAT, root,
                           MPI_COMM_WORLD, &req),
              "gather");
      }
      wait(req, "gather");
    });
  }

  void broadcast(void* data, int64_t bytes, int root) override {
    auto* p = static_cast<char*>(data);
    for (int64_t c0 = 0; c0 < bytes; c0 += kChunk) {
      MPI_Request req;
      check(MPI_Ibcast(p + c0, int(std::min(kChunk, bytes - c0)), MPI_BYTE, root, MPI_COMM_WORLD, &req), "broadcast");
      wait(req, "broadcast");
    }
  }

  std::vector<std::string> all_gather_bytes(const std::string& mine) override {
    int64_t n = int64_t(mine.size());
    std::vector<int64_t> sizes(static_cast<size_t>(size_), 0);
    MPI_Request req;
    check(MPI_Iallgather(&n, 1, MPI_INT64_T, sizes.data(), 1, MPI_INT64_T, MPI_COMM_WORLD, &req), "all_gather_bytes");
    wait(req, "all_gather_bytes");
    std::vector<std::string> out(static_cast<size_t>(size_));
    for (int r = 0; r < size_; ++r) out[size_t(r)].resize(size_t(sizes[size_t(r)]));
    // Rounds of at most `cap` bytes a rank keep MPI's int counts and displacements from overflowing.
    const int64_t cap = std::max<int64_t>(1, int64_t(INT32_MAX) / size_);
    std::vector<int> counts(static_cast<size_t>(size_)), displs(static_cast<size_t>(size_));
    std::vector<char> buf;
    for (int64_t c0 = 0;; c0 += cap) {
      int total = 0;
      for (int r = 0; r < size_; ++r) {
        counts[size_t(r)] = int(std::clamp<int64_t>(sizes[size_t(r)] - c0, 0, cap));
        displs[size_t(r)] = total;
        total += counts[size_t(r)];
      }
      if (total == 0) break;
      buf.resize(size_t(total));
      check(MPI_Iallgatherv(mine.data() + std::min(c0, n), counts[size_t(rank_)], MPI_BYTE, buf.data(), counts.data(),
                            displs.data(), MPI_BYTE, MPI_COMM_WORLD, &req),
            "all_gather_bytes");
      wait(req, "all_gather_bytes");
      for (int r = 0; r < size_; ++r)
        if (counts[size_t(r)] > 0) std::copy_n(buf.data() + displs[size_t(r)], counts[size_t(r)], out[size_t(r)].data() + c0);
    }
    return out;
  }

  void barrier() override {
    MPI_Request req;
    check(MPI_Ibarrier(MPI_COMM_WORLD, &req), "barrier");
    wait(req, "barrier");
  }

 private:
  void check_offsets(const std::vector<int64_t>& offsets, const char* what) {
    if (int64_t(offsets.size()) != size_ + 1) throw Error(cat("dist.", what), "offsets must have size + 1 entries");
  }

  // Calls fn(c0, counts, displs) for each chunk [c0, c0 + kChunk) of the buffer with every rank's
  // part of the chunk, so MPI's int counts never overflow.
  template <class Fn>
  void for_each_chunk(const std::vector<int64_t>& offsets, Fn fn) {
    const int64_t n = offsets.back();
    std::vector<int> counts, displs;
    for (int64_t c0 = 0; c0 < n; c0 += kChunk) {
      chunk_parts(offsets, c0, std::min(n, c0 + kChunk), counts, displs);
      fn(c0, counts, displs);
    }
  }

  // Every rank's part of the chunk [c0, c1): its count and where it starts in the chunk.
  static void chunk_parts(const std::vector<int64_t>& offsets, int64_t c0, int64_t c1, std::vector<int>& counts,
                          std::vector<int>& displs) {
    const size_t ranks = offsets.size() - 1;
    counts.resize(ranks);
    displs.resize(ranks);
    for (size_t r = 0; r < ranks; ++r) {
      const int64_t b = std::clamp(offsets[r], c0, c1), e = std::clamp(offsets[r + 1], c0, c1);
      counts[r] = int(e - b);
      displs[r] = int(b - c0);
    }
  }

  template <class T>
  void all_gather_chunks(T* data, const std::vector<int64_t>& offsets, MPI_Datatype type) {
    for_each_chunk(offsets, [&](int64_t c0, const std::vector<int>& counts, const std::vector<int>& displs) {
      MPI_Request req;
      check(MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, data + c0, counts.data(), displs.data(), type,
                            MPI_COMM_WORLD, &req),
            "all_gather");
      wait(req, "all_gather");
    });
  }

  // A reduce-scatter then an all-gather (the ring all-reduce's two halves): each slice is summed
  // on one rank only, so every rank receives bitwise the same sums whatever the summation order,
  // for the communication volume of a ring all-reduce.
  template <class T>
  void all_reduce(T* data, int64_t n, MPI_Datatype type) {
    const auto shards = shard_offsets(n, size_, 16);
    PendingReduceScatter<T>(*this, data, shards, type).wait();
    all_gather_chunks(data, shards, type);
  }

  void check(int rc, const char* what) {
    if (rc == MPI_SUCCESS) return;
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    die(cat(what, " failed: ", std::string(msg, size_t(len))));
  }

  // Polls until done() so a dead peer turns into a message and an abort, not a hang.
  template <class Done>
  void wait_until(Done done, const char* what) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_);
    for (int spins = 0;; ++spins) {
      if (done()) return;
      if (std::chrono::steady_clock::now() > deadline)
        die(cat(what, " did not finish within ", timeout_, " s (TANDEM_DIST_TIMEOUT_S): another rank has stopped "
                "(crashed, was killed, or hangs)"));
      if (spins > 1000) std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }

  bool test(MPI_Request& req, const char* what) {
    int done = 0;
    check(MPI_Test(&req, &done, MPI_STATUS_IGNORE), what);
    return done != 0;
  }

  void wait(MPI_Request& req, const char* what) {
    wait_until([&] { return test(req, what); }, what);
  }

  // A reduce-scatter in chunks of kChunk elements, one chunk in flight at a time (libnbc's
  // temporaries stay at twice a chunk); each test() finishes what arrived and starts the next.
  template <class T>
  class PendingReduceScatter final : public PendingCollective {
   public:
    PendingReduceScatter(Mpi& mpi, T* data, const std::vector<int64_t>& offsets, MPI_Datatype type)
        : mpi_(mpi), data_(data), offsets_(offsets), type_(type) {}
    ~PendingReduceScatter() override {
      // Abandoning a collective other ranks take part in would hang them: finish it.
      if (req_ != MPI_REQUEST_NULL) wait();
    }
    bool test() override {
      for (;;) {
        if (req_ != MPI_REQUEST_NULL) {
          if (!mpi_.test(req_, "reduce_scatter")) return false;
          std::copy(mine_.begin(), mine_.end(), data_ + c0_ + displs_[size_t(mpi_.rank_)]);
          c0_ += kChunk;
        }
        const int64_t n = offsets_.back();
        if (c0_ >= n) return true;
        const int64_t c1 = std::min(n, c0_ + kChunk);
        chunk_parts(offsets_, c0_, c1, counts_, displs_);
        mine_.resize(size_t(counts_[size_t(mpi_.rank_)]));
        mpi_.check(MPI_Ireduce_scatter(data_ + c0_, mine_.data(), counts_.data(), type_, MPI_SUM, MPI_COMM_WORLD, &req_),
                   "reduce_scatter");
      }
    }
    void wait() override {
      mpi_.wait_until([&] { return test(); }, "reduce_scatter");
    }

   private:
    Mpi& mpi_;
    T* data_;
    std::vector<int64_t> offsets_;
    MPI_Datatype type_;
    int64_t c0_ = 0;
    MPI_Request req_ = MPI_REQUEST_NULL;
    std::vector<int> counts_, displs_;
    std::vector<T> mine_;
  };

  [[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "tandem: error: [dist] rank %d of %d (pid %d): %s; ending the job\n", rank_, size_, int(getpid()),
                 what.c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
    std::_Exit(1);
  }

  int rank_ = 0, size_ = 1, local_size_ = 1;
  double timeout_ = 600;
};

}  // namespace

Communicator& world() {
  static std::unique_ptr<Communicator> w = launched_by_mpirun() ? std::unique_ptr<Communicator>(new Mpi())
                                                                : std::unique_ptr<Communicator>(new SingleProcess());
  return *w;
}

std::vector<int64_t> shard_offsets(int64_t n, int size, int64_t align) {
  std::vector<int64_t> off(size_t(size) + 1, 0);
  const int64_t blocks = (n + align - 1) / align;
  for (int r = 0; r <= size; ++r) off[size_t(r)] = std::min(n, blocks * r / size * align);
  off[size_t(size)] = n;
  return off;
}

double collective_timeout_s() {
  const char* e = std::getenv("TANDEM_DIST_TIMEOUT_S");
  if (!e) return 600;
  char* end = nullptr;
  const double v = std::strtod(e, &end);
  if (end == e || v <= 0) throw Error("TANDEM_DIST_TIMEOUT_S", cat("expected a positive number of seconds, got '", e, "'"));
  return v;
}

}  // namespace tandem::dist
