// The arithmetic ceiling of one core, to judge GEMM figures against what the core can do:
// independent chains of 256-bit and 512-bit f32 FMAs and of 512-bit bf16 dot products
// (vdpbf16ps, 32 multiply-adds each), timed in thread CPU time so that a busy machine
// does not lower the figure. On Zen 4 the 512-bit FMA is issued as two 256-bit halves, so both
// widths give the same f32 peak; bf16 doubles it.
//   core_peak_bench [--giga-ops 2]
#include <immintrin.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {
double cpu_now() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

template <class V, class Step, class Sum>
double run(long iters, double flops_per_op, V init, Step step, Sum sum) {
  V acc[12];
  for (auto& a : acc) a = init;
  const double t0 = cpu_now();
  for (long i = 0; i < iters; ++i)
#pragma GCC unroll 12
    for (auto& a : acc) a = step(a);
  const double dt = cpu_now() - t0;
  volatile float sink = 0;
  for (auto& a : acc) sink = sink + sum(a);
  return double(iters) * 12 * flops_per_op / dt / 1e9;
}
}  // namespace

int main(int argc, char** argv) {
  double giga = 2;
  for (int i = 1; i + 1 < argc; i += 2)
    if (std::string(argv[i]) == "--giga-ops") giga = std::atof(argv[i + 1]);
  const long iters = long(giga * 1e9 / 12 / 16);
  const __m256 x8 = _mm256_set1_ps(1.0000001f), y8 = _mm256_set1_ps(0.9999999f);
  const double f256 = run(iters, 16, _mm256_set1_ps(1.f), [&](__m256 a) { return _mm256_fmadd_ps(a, x8, y8); },
                          [](__m256 a) { return _mm256_cvtss_f32(a); });
  std::printf("f32 FMA, 256-bit: %.1f GFLOP/s per core\n", f256);
#if defined(__AVX512F__)
  const __m512 x16 = _mm512_set1_ps(1.0000001f), y16 = _mm512_set1_ps(0.9999999f);
  const double f512 = run(iters, 32, _mm512_set1_ps(1.f), [&](__m512 a) { return _mm512_fmadd_ps(a, x16, y16); },
                          [](__m512 a) { return _mm512_cvtss_f32(a); });
  std::printf("f32 FMA, 512-bit: %.1f GFLOP/s per core\n", f512);
#endif
#if defined(__AVX512BF16__)
  const __m512bh one = (__m512bh)_mm512_set1_epi16(0x3f80);
  const double b512 = run(iters, 64, _mm512_setzero_ps(), [&](__m512 a) { return _mm512_dpbf16_ps(a, one, one); },
                          [](__m512 a) { return _mm512_cvtss_f32(a); });
  std::printf("bf16 dot (vdpbf16ps), 512-bit: %.1f GFLOP/s per core\n", b512);
#else
  std::printf("bf16 dot: not compiled (no AVX512_BF16 in this build's -march)\n");
#endif
  return 0;
}
