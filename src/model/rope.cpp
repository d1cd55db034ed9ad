#include "model/rope.h"

#include <algorithm>
#include <cmath>

namespace tandem::model {

namespace {
constexpr double kPi = 3.14159265358979323846;

double yarn_mscale(double scale, double m) { return scale <= 1 ? 1.0 : 0.1 * m * std::log(scale) + 1.0; }
}  // namespace

std::vector<double> rope_inv_freq(const ModelConfig& cfg, double* attention_factor) {
  const int64_t D = cfg.head_dim, half = D / 2;
  const double base = cfg.rope_theta;
  const RopeScaling& rs = cfg.rope_scaling;
  std::vector<double> inv(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i) inv[i] = 1.0 / std::pow(base, double(2 * i) / double(D));
  *attention_factor = 1.0;
  switch (rs.type) {
    case RopeType::kDefault: break;
    case RopeType::kLinear:
      for (auto& f : inv) f /= rs.factor;
      break;
    case RopeType::kLlama3: {
      // Long wavelengths are interpolated by factor, short ones kept, the band between blended.
      const double orig = double(rs.original_max_position_embeddings);
      const double low_wavelen = orig / rs.low_freq_factor, high_wavelen = orig / rs.high_freq_factor;
      for (auto& f : inv) {
        const double wavelen = 2 * kPi / f;
        if (wavelen > low_wavelen) {
          f = f / rs.factor;
        } else if (wavelen >= high_wavelen) {
          const double smooth = (orig / wavelen - rs.low_freq_factor) / (rs.high_freq_factor - rs.low_freq_factor);
          f = (1 - smooth) * f / rs.factor + smooth * f;
        }
      }
      break;
    }
    case RopeType::kYarn: {
      const double orig = double(rs.original_max_position_embeddings > 0 ? rs.original_max_position_embeddings
                                                                           : cfg.max_position_embeddings);
      // Dimension index whose wavelength completes n rotations over the original context.
      auto correction_dim = [&](double n_rot) {
        return double(D) * std::log(orig / (n_rot * 2 * kPi)) / (2 * std::log(base));
      };
      double low = correction_dim(rs.beta_fast), high = correction_dim(rs.beta_slow);
      if (rs.truncate) low = std::floor(low), high = std::ceil(high);
      low = std::max(low, 0.0);
      high = std::min(high, double(D - 1));
      if (low == high) high += 0.001;  // avoid a zero-width ramp
      for (int64_t i = 0; i < half; ++i) {
        const double ramp = std::clamp((double(i) - low) / (high - low), 0.0, 1.0);
        const double extrapolation_weight = 1.0 - ramp;
        const double extrap = inv[i], interp = inv[i] / rs.factor;
        inv[i] = interp * (1 - extrapolation_weight) + extrap * extrapolation_weight;
      }
      if (rs.attention_factor > 0) *attention_factor = rs.attention_factor;
      else if (rs.mscale > 0 && rs.mscale_all_dim > 0)
        *attention_factor = yarn_mscale(rs.factor, rs.mscale) / yarn_mscale(rs.factor, rs.mscale_all_dim);
      else *attention_factor = yarn_mscale(rs.factor, 1.0);
      break;
    }
  }
  return inv;
}

RopeTable make_rope_table(const ModelConfig& cfg, int64_t n_pos) {
  double af = 1.0;
  const auto inv = rope_inv_freq(cfg, &af);
  const int64_t half = int64_t(inv.size());
  RopeTable t;
  t.head_dim = cfg.head_dim;
  t.cos = Tensor::empty({n_pos, half});
  t.sin = Tensor::empty({n_pos, half});
  float* c = t.cos.f32();
  float* s = t.sin.f32();
  for (int64_t p = 0; p < n_pos; ++p)
    for (int64_t i = 0; i < half; ++i) {
      // HF forms the angle in fp32 (inv_freq.float() @ position.float()); doing it in double and
      // rounding once is within an ulp of that and does not depend on summation order.
      const double a = double(p) * double(float(inv[i]));
      c[p * half + i] = float(std::cos(a) * af);
      s[p * half + i] = float(std::sin(a) * af);
    }
  return t;
}

}  // namespace tandem::model
