// SwiGLU: out = silu(gate) * up, gate_up = [gate | up] per row (one fused GEMM produced both).
//   d gate = dout * up * s * (1 + g * (1 - s)),  s = sigmoid(g);   d up = dout * g * s
#include <cmath>

#include "backend/cpu/kernels.h"

namespace tandem::cpu {

void swiglu_forward(const float* gate_up, float* out, int64_t N, int64_t I) {
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const float* g = gate_up + n * 2 * I;
    const float* u = g + I;
    float* o = out + n * I;
#pragma omp simd
    for (int64_t i = 0; i < I; ++i) {
      const float s = 1.f / (1.f + std::exp(-g[i]));
      o[i] = g[i] * s * u[i];
    }
  }
}

void swiglu_backward(const float* gate_up, const float* dout, float* dgate_up, int64_t N, int64_t I) {
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const float* g = gate_up + n * 2 * I;
    const float* u = g + I;
    const float* d = dout + n * I;
    float* dg = dgate_up + n * 2 * I;
    float* du = dg + I;
#pragma omp simd
    for (int64_t i = 0; i < I; ++i) {
      const float s = 1.f / (1.f + std::exp(-g[i]));
      dg[i] = d[i] * u[i] * s * (1.f + g[i] * (1.f - s));
      du[i] = d[i] * g[i] * s;
    }
  }
}

}  // namespace tandem::cpu
