// RMSNorm forward/backward, fp32. Rows are independent: threads over rows, SIMD within a row.
// The weight gradient is a reduction over rows: each thread sums its rows into a private buffer,
// then the buffers are added in thread order, so the result does not depend on scheduling.
#include <omp.h>

#include <cmath>
#include <vector>

#include "backend/cpu/kernels.h"

namespace tandem::cpu {

void rmsnorm_forward(const float* x, const float* w, float* y, float* rstd, int64_t R, int64_t C, float eps) {
#pragma omp parallel for schedule(static) if (R * C >= kMinParallelElems)
  for (int64_t r = 0; r < R; ++r) {
    const float* xr = x + r * C;
    float* yr = y + r * C;
    float ss = 0.f;
#pragma omp simd reduction(+ : ss)
    for (int64_t i = 0; i < C; ++i) ss += xr[i] * xr[i];
    const float inv = 1.f / std::sqrt(ss / float(C) + eps);
    rstd[r] = inv;
#pragma omp simd
    for (int64_t i = 0; i < C; ++i) yr[i] = w[i] * (xr[i] * inv);
  }
}

//   y = w * x * r,  r = (mean(x^2) + eps)^(-1/2)
//   dx_i = r * w_i * dy_i - (r^3 / C) * x_i * sum_j w_j dy_j x_j
//   dw_i += sum_rows dy_i * x_i * r
void rmsnorm_backward(const float* dy, const float* x, const float* w, const float* rstd, float* dx, float* dw,
                      int64_t R, int64_t C) {
  const int nt = omp_get_max_threads();
  std::vector<float> dw_part(size_t(nt) * C, 0.f);
#pragma omp parallel num_threads(nt) if (R * C >= kMinParallelElems)
  {
    float* my_dw = dw_part.data() + size_t(omp_get_thread_num()) * C;
#pragma omp for schedule(static)
    for (int64_t r = 0; r < R; ++r) {
      const float* xr = x + r * C;
      const float* dyr = dy + r * C;
      float* dxr = dx + r * C;
      const float inv = rstd[r];
      float dot = 0.f;
#pragma omp simd reduction(+ : dot)
      for (int64_t i = 0; i < C; ++i) dot += w[i] * dyr[i] * xr[i];
      const float coef = inv * inv * inv * dot / float(C);
#pragma omp simd
      for (int64_t i = 0; i < C; ++i) {
        dxr[i] = inv * w[i] * dyr[i] - coef * xr[i];
        my_dw[i] += dyr[i] * xr[i] * inv;
      }
    }
  }
  for (int t = 0; t < nt; ++t)
    for (int64_t i = 0; i < C; ++i) dw[i] += dw_part[size_t(t) * C + i];
}

}  // namespace tandem::cpu
