// SwiGLU: out = silu(gate) * up, gate_up = [gate | up] per row (one fused GEMM produced both).
//   d gate = dout * up * s * (1 + g * (1 - s)),  s = sigmoid(g);   d up = dout * g * s
#include <cmath>

#include "backend/cpu/fast_exp.h"
#include "backend/cpu/kernels.h"

namespace tandem::cpu {

void swiglu_forward(const float* gate_up, float* out, int64_t N, int64_t I) {
#pragma omp parallel for schedule(static) if (N * I >= kMinParallelElems)
  for (int64_t n = 0; n < N; ++n) {
    const float* g = gate_up + n * 2 * I;
    const float* u = g + I;
    float* o = out + n * I;
    int64_t i = 0;
    for (; i + 8 <= I; i += 8) {
      const f8 gv = f8_load(g + i), s = 1.f / (1.f + exp8(-gv));
      f8_store(o + i, gv * s * f8_load(u + i));
    }
    for (; i < I; ++i) {
      const float s = 1.f / (1.f + fast_exp(-g[i]));
      o[i] = g[i] * s * u[i];
    }
  }
}

void swiglu_backward(const float* gate_up, const float* dout, float* dgate_up, int64_t N, int64_t I) {
#pragma omp parallel for schedule(static) if (N * I >= kMinParallelElems)
  for (int64_t n = 0; n < N; ++n) {
    const float* g = gate_up + n * 2 * I;
    const float* u = g + I;
    const float* d = dout + n * I;
    float* dg = dgate_up + n * 2 * I;
    float* du = dg + I;
    int64_t i = 0;
    for (; i + 8 <= I; i += 8) {
      const f8 gv = f8_load(g + i), uv = f8_load(u + i), dv = f8_load(d + i);
      const f8 s = 1.f / (1.f + exp8(-gv));
      f8_store(dg + i, dv * uv * s * (1.f + gv * (1.f - s)));
      f8_store(du + i, dv * gv * s);
    }
    for (; i < I; ++i) {
      const float s = 1.f / (1.f + fast_exp(-g[i]));
      dg[i] = d[i] * u[i] * s * (1.f + g[i] * (1.f - s));
      du[i] = d[i] * g[i] * s;
    }
  }
}

}  // namespace tandem::cpu
