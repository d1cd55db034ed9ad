// sgemm on the shapes of one training step, oneDNN against OpenBLAS, to choose the GEMM backend
// by measurement (backend/cpu/gemm.cpp); and the bf16 GEMM of bf16 compute (backend/cpu/gemm_bf16.cpp,
// operands already bf16) where the CPU has AVX512_BF16. Best of R runs per shape, GFLOP/s.
// bench/kernels/core_peak_bench gives the ceiling to read them against.
//   gemm_bench [--tokens 512] [--hidden 576] [--inter 1536] [--vocab 49152] [--qkv 960] [--reps 10]
//              [--cpu-time 1]
// Threads: OMP_NUM_THREADS (both libraries use the OpenMP runtime). --cpu-time 1 times each call in
// process CPU time instead of wall time: with OMP_NUM_THREADS=1 that is the rate of one core,
// which other processes on a shared machine do not lower.
#include <cblas.h>
#include <dnnl.h>

#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "backend/cpu/kernels.h"

namespace {
bool g_cpu_time = false;
double now() {
  if (g_cpu_time) {
    timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}

int main(int argc, char** argv) {
  long T = 512, C = 576, I = 1536, V = 49152, QKV = 960, reps = 10;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const long v = std::atol(argv[i + 1]);
    if (a == "--tokens") T = v;
    else if (a == "--hidden") C = v;
    else if (a == "--inter") I = v;
    else if (a == "--vocab") V = v;
    else if (a == "--qkv") QKV = v;
    else if (a == "--reps") reps = v;
    else if (a == "--cpu-time") g_cpu_time = v != 0;
  }
  struct Shape { const char* name; long M, N, K; bool ta, tb; };
  const Shape shapes[] = {{"fwd qkv (NT)", T, QKV, C, false, true},      {"fwd gate_up (NT)", T, 2 * I, C, false, true},
                          {"fwd down (NT)", T, C, I, false, true},       {"fwd o (NT)", T, C, C, false, true},
                          {"dX gate_up (NN)", T, C, 2 * I, false, false}, {"dX down (NN)", T, I, C, false, false},
                          {"dW gate_up (TN)", 2 * I, C, T, true, false},  {"dW down (TN)", C, I, T, true, false},
                          {"dW qkv (TN)", QKV, C, T, true, false},        {"head logits (NT)", T, 4096, C, false, true},
                          {"head dh (NN)", T, C, V, false, false},       {"head dW (TN)", V, C, T, true, false}};
  const bool bf16 = tandem::cpu::bf16_gemm_available(nullptr);
  std::printf("| shape | M x N x K | oneDNN GFLOP/s | OpenBLAS GFLOP/s | bf16 (oneDNN matmul) GFLOP/s |\n|---|---|---|---|---|\n");
  for (const Shape& s : shapes) {
    std::vector<float> A(size_t(s.M * s.K), 0.1f), B(size_t(s.N * s.K), 0.5f), Cm(size_t(s.M * s.N), 0.f);
    const long lda = s.ta ? s.M : s.K, ldb = s.tb ? s.K : s.N;
    std::vector<uint16_t> Ah(A.size(), 0x3dcd), Bh(B.size(), 0x3f00);  // 0.1, 0.5
    double g[3] = {0, 0, 0};
    for (int lib = 0; lib < (bf16 ? 3 : 2); ++lib) {
      double best = 1e9;
      for (long r = 0; r < reps; ++r) {
        const double t0 = now();
        if (lib == 2)
          tandem::cpu::gemm_bf16(s.ta, s.tb, s.M, s.N, s.K, 1.f, Ah.data(), lda, Bh.data(), ldb, 1.f, Cm.data(), s.N);
        else if (lib == 0)
          dnnl_sgemm(s.ta ? 'T' : 'N', s.tb ? 'T' : 'N', s.M, s.N, s.K, 1.f, A.data(), lda, B.data(), ldb, 1.f, Cm.data(), s.N);
        else
          cblas_sgemm(CblasRowMajor, s.ta ? CblasTrans : CblasNoTrans, s.tb ? CblasTrans : CblasNoTrans, int(s.M), int(s.N),
                      int(s.K), 1.f, A.data(), int(lda), B.data(), int(ldb), 1.f, Cm.data(), int(s.N));
        best = std::min(best, now() - t0);
      }
      g[lib] = 2.0 * s.M * s.N * s.K / best / 1e9;
    }
    if (bf16)
      std::printf("| %s | %ld x %ld x %ld | %.1f | %.1f | %.1f |\n", s.name, s.M, s.N, s.K, g[0], g[1], g[2]);
    else
      std::printf("| %s | %ld x %ld x %ld | %.1f | %.1f | (no AVX512_BF16) |\n", s.name, s.M, s.N, s.K, g[0], g[1]);
  }
  return 0;
}
