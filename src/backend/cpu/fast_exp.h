// exp for float, 8 lanes at a time, without libm: glibc's expf is a scalar call unless
// -ffast-math (which we do not use), and GCC will not vectorise the bit tricks of a scalar
// version, so this is written with GCC vector extensions (AVX2 here, SSE pairs elsewhere).
// Cephes-style: x = n ln2 + r with |r| <= ln2/2, a degree-6 polynomial for e^r, 2^n placed in
// the exponent bits. Relative error about 2 ulp; exactly 0 below -87.33 (incl. -inf).
#pragma once
#include <cstdint>
#include <cstring>

namespace tandem::cpu {

typedef float f8 __attribute__((vector_size(32)));
typedef int32_t i8 __attribute__((vector_size(32)));

inline f8 f8_splat(float v) { return f8{v, v, v, v, v, v, v, v}; }
inline f8 f8_load(const float* p) {
  f8 v;
  std::memcpy(&v, p, 32);
  return v;
}
inline void f8_store(float* p, f8 v) { std::memcpy(p, &v, 32); }
inline float f8_sum(f8 v) { return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7])); }
inline float f8_max(f8 v) {
  float m = v[0];
  for (int i = 1; i < 8; ++i) m = v[i] > m ? v[i] : m;
  return m;
}
inline f8 f8_select(i8 mask, f8 a, f8 b) { return mask ? a : b; }  // lanewise a where mask != 0

inline f8 exp8(f8 x) {
  const f8 lo = f8_splat(-87.33f), hi = f8_splat(88.72f);
  f8 xc = x < lo ? lo : x;
  xc = xc > hi ? hi : xc;
  const f8 t = xc * 1.44269504088896341f;
  const i8 n = __builtin_convertvector(t + (t < 0.f ? f8_splat(-0.5f) : f8_splat(0.5f)), i8);  // round to nearest
  const f8 nf = __builtin_convertvector(n, f8);
  const f8 r = xc - nf * 0.693359375f - nf * -2.12194440e-4f;
  f8 p = f8_splat(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const f8 scale = (f8)((n + 127) << 23);
  return x < lo ? f8_splat(0.f) : p * scale;
}

inline float fast_exp(float x) { return exp8(f8_splat(x))[0]; }

}  // namespace tandem::cpu
