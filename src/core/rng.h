// Counter-based random numbers: a stream is (seed, stream id) and any element is a pure function
// of (seed, stream, index), so results never depend on thread count or call order and a
// checkpoint only needs to store counters. Philox-4x32-10 (Salmon et al., SC'11).
#pragma once
#include <array>
#include <cmath>
#include <cstdint>

namespace tandem {

inline std::array<uint32_t, 4> philox4x32(std::array<uint32_t, 4> ctr, std::array<uint32_t, 2> key) {
  constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u, kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = uint64_t(kM0) * ctr[0], p1 = uint64_t(kM1) * ctr[2];
    ctr = {uint32_t(p1 >> 32) ^ ctr[1] ^ key[0], uint32_t(p1), uint32_t(p0 >> 32) ^ ctr[3] ^ key[1], uint32_t(p0)};
    key[0] += kW0;
    key[1] += kW1;
  }
  return ctr;
}

class Rng {
 public:
  Rng(uint64_t seed = 0, uint64_t stream = 0) : seed_(seed), stream_(stream) {}
  // 32 random bits for element i of this stream.
  uint32_t bits(uint64_t i) const {
    const auto r = philox4x32({uint32_t(i), uint32_t(i >> 32), uint32_t(stream_), uint32_t(stream_ >> 32)},
                              {uint32_t(seed_), uint32_t(seed_ >> 32)});
    return r[0];
  }
  // Uniform in [0, 1) with 24 bits, for element i.
  float uniform(uint64_t i) const { return float(bits(i) >> 8) * (1.0f / 16777216.0f); }
  // Standard normal for element i (Box-Muller on two 32-bit draws from one Philox block).
  float normal(uint64_t i) const {
    const auto r = philox4x32({uint32_t(i), uint32_t(i >> 32), uint32_t(stream_), uint32_t(stream_ >> 32)},
                              {uint32_t(seed_), uint32_t(seed_ >> 32)});
    const double u1 = (double(r[0]) + 1.0) * (1.0 / 4294967297.0);  // (0, 1]
    const double u2 = double(r[1]) * (1.0 / 4294967296.0);
    return float(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
  }
  // Sequential use: draws from an internal counter.
  uint32_t next_bits() { return bits(counter_++); }
  float next_uniform() { return uniform(counter_++); }
  float next_normal() { return normal(counter_++); }
  uint64_t counter() const { return counter_; }
  void set_counter(uint64_t c) { counter_ = c; }
  uint64_t seed() const { return seed_; }
  uint64_t stream() const { return stream_; }

 private:
  uint64_t seed_, stream_;
  uint64_t counter_ = 0;
};

}  // namespace tandem
