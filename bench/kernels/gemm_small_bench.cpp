// Decode GEMMs (A[M,K] B[N,K]^T, M = sequences in flight) on the SmolLM2-135M shapes: oneDNN's
// sgemm against Tandem's small-M path (backend/cpu/gemm_small.cpp), same data, interleaved, medians.
// Two tables: each shape alone (its weights stay in cache between repeats), then a whole decode
// step's GEMMs over --layers distinct layers plus the head (weights streamed from memory, as in
// generation).
//   gemm_small_bench [--reps 30] [--layers 30] [--hidden 576] [--inter 1536] [--vocab 49152] [--qkv 960]
// Threads: OMP_NUM_THREADS.
#include <dnnl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "backend/cpu/kernels.h"

namespace {
double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
}  // namespace

int main(int argc, char** argv) {
  long C = 576, I = 1536, V = 49152, QKV = 960, reps = 30, layers = 30;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const long v = std::atol(argv[i + 1]);
    if (a == "--hidden") C = v;
    else if (a == "--inter") I = v;
    else if (a == "--vocab") V = v;
    else if (a == "--qkv") QKV = v;
    else if (a == "--reps") reps = v;
    else if (a == "--layers") layers = v;
  }
  struct Shape { const char* name; long N, K; };
  const Shape shapes[] = {{"qkv", QKV, C}, {"o", C, C}, {"gate_up", 2 * I, C}, {"down", C, I}, {"head", V, C}};
  std::printf("| shape | M x N x K | oneDNN GFLOP/s | small-M GFLOP/s | ratio |\n|---|---|---|---|---|\n");
  for (long M : {1L, 3L, 16L, 32L, 64L})
    for (const Shape& s : shapes) {
      std::vector<float> A(size_t(M * s.K), 0.1f), B(size_t(s.N * s.K), 0.5f), Cm(size_t(M * s.N), 0.f);
      std::vector<double> t[2];
      for (long r = 0; r < reps; ++r)
        for (int lib = 0; lib < 2; ++lib) {
          const double t0 = now();
          if (lib == 0)
            dnnl_sgemm('N', 'T', M, s.N, s.K, 1.f, A.data(), s.K, B.data(), s.K, 0.f, Cm.data(), s.N);
          else
            tandem::cpu::sgemm_small_nt(M, s.N, s.K, 1.f, A.data(), s.K, B.data(), s.K, 0.f, Cm.data(), s.N);
          t[lib].push_back(now() - t0);
        }
      const double flop = 2.0 * double(M) * double(s.N) * double(s.K);
      const double g0 = flop / median(t[0]) / 1e9, g1 = flop / median(t[1]) / 1e9;
      std::printf("| %s | %ld x %ld x %ld | %.1f | %.1f | %.2fx |\n", s.name, M, s.N, s.K, g0, g1, g1 / g0);
    }
  // A decode step: every layer's four GEMMs on its own weights, then the head.
  std::vector<std::vector<float>> W;
  for (long l = 0; l < layers; ++l)
    for (int i = 0; i < 4; ++i) W.emplace_back(size_t(shapes[i].N * shapes[i].K), 0.01f * float(l + i));
  W.emplace_back(size_t(V * C), 0.5f);
  double flop_per_row = 2.0 * double(V) * double(C);
  for (int i = 0; i < 4; ++i) flop_per_row += 2.0 * double(layers) * double(shapes[i].N) * double(shapes[i].K);
  std::printf("\n| decode step (%ld layers + head) | M | oneDNN ms | small-M ms | ratio |\n|---|---|---|---|---|\n", layers);
  for (long M : {1L, 16L, 32L, 64L}) {
    std::vector<float> A(size_t(M * std::max(C, I)), 0.1f), Cm(size_t(M * std::max(V, 2 * I)), 0.f);
    std::vector<double> t[2];
    for (long r = 0; r < std::max(3L, reps / 5); ++r)
      for (int lib = 0; lib < 2; ++lib) {
        const double t0 = now();
        for (size_t w = 0; w < W.size(); ++w) {
          const Shape s = w + 1 == W.size() ? Shape{"head", V, C} : shapes[w % 4];
          if (lib == 0)
            dnnl_sgemm('N', 'T', M, s.N, s.K, 1.f, A.data(), s.K, W[w].data(), s.K, 0.f, Cm.data(), s.N);
          else
            tandem::cpu::sgemm_small_nt(M, s.N, s.K, 1.f, A.data(), s.K, W[w].data(), s.K, 0.f, Cm.data(), s.N);
        }
        t[lib].push_back(now() - t0);
      }
    const double m0 = median(t[0]), m1 = median(t[1]);
    std::printf("| GFLOP/s %.1f vs %.1f | %ld | %.1f | %.1f | %.2fx |\n", flop_per_row * double(M) / m0 / 1e9,
                flop_per_row * double(M) / m1 / 1e9, M, m0 * 1e3, m1 * 1e3, m0 / m1);
  }
  return 0;
}
