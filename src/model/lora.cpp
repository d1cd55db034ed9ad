#include "model/lora.h"

#include <algorithm>
#include <cmath>

#include "core/rng.h"

namespace tandem::model {

namespace {

constexpr const char* kNames[kNumLoraTargets] = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};

// Column slices of row-major [N, W] matrices: tensors have no strides, so the part of a fused
// output (q of qkv, gate of gate|up) goes through a contiguous [N, w] copy. These are O(N * w)
// memory moves next to O(N * w * in) GEMMs.
void add_columns(const Tensor& src, int64_t col0, Tensor& dst) {  // dst[:, col0 : col0 + w] += src
  const int64_t N = src.dim(0), w = src.dim(1), W = dst.dim(1);
  const float* s = src.f32();
  float* d = dst.f32();
#pragma omp parallel for schedule(static) if (N * w >= (1 << 16))
  for (int64_t n = 0; n < N; ++n)
    for (int64_t j = 0; j < w; ++j) d[n * W + col0 + j] += s[n * w + j];
}

Tensor take_columns(const Tensor& src, int64_t col0, int64_t w) {
  const int64_t N = src.dim(0), W = src.dim(1);
  Tensor out = Tensor::empty({N, w});
  const float* s = src.f32();
  float* o = out.f32();
#pragma omp parallel for schedule(static) if (N * w >= (1 << 16))
  for (int64_t n = 0; n < N; ++n) std::copy(s + n * W + col0, s + n * W + col0 + w, o + n * w);
  return out;
}

}  // namespace

const char* lora_target_name(LoraTarget t) { return kNames[int(t)]; }
const char* lora_target_block(LoraTarget t) { return int(t) <= int(LoraTarget::kO) ? "self_attn" : "mlp"; }
std::string lora_module_path(int64_t layer, LoraTarget t) {
  return cat("model.layers.", layer, ".", lora_target_block(t), ".", lora_target_name(t));
}

float LoraConfig::scale() const {
  return float(use_rslora ? alpha / std::sqrt(double(r)) : alpha / double(r));
}

bool LoraConfig::targets(LoraTarget t) const {
  return std::find(target_modules.begin(), target_modules.end(), kNames[int(t)]) != target_modules.end();
}

void LoraConfig::validate(const std::string& where, const std::string& origin) const {
  const std::string from = origin.empty() ? "" : cat(" (", origin, ")");
  if (r <= 0) throw Error(where + ".r", cat("must be > 0, got ", r, from));
  if (!std::isfinite(alpha) || alpha <= 0) throw Error(where + ".alpha", cat("must be > 0, got ", alpha, from));
  if (!(dropout >= 0 && dropout < 1)) throw Error(where + ".dropout", cat("must be in [0, 1), got ", dropout, from));
  if (target_modules.empty())
    throw Error(where + ".target_modules", cat("empty, expected some of q_proj k_proj v_proj o_proj gate_proj up_proj down_proj", from));
  for (size_t i = 0; i < target_modules.size(); ++i) {
    const auto& m = target_modules[i];
    if (std::find(std::begin(kNames), std::end(kNames), m) == std::end(kNames))
      throw Error(cat(where, ".target_modules.", i),
                  cat("unknown module '", m, "', expected one of q_proj k_proj v_proj o_proj gate_proj up_proj down_proj", from));
    if (std::find(target_modules.begin(), target_modules.begin() + i, m) != target_modules.begin() + i)
      throw Error(cat(where, ".target_modules.", i), cat("'", m, "' is listed twice", from));
  }
}

LoraConfig LoraConfig::from_json(const Json& j, const std::string& where, const std::string& origin) {
  if (!j.is_object()) throw Error(where, cat("expected a mapping {r, alpha, ...}, got ", json_type_name(j), " (", origin, ")"));
  for (auto it = j.begin(); it != j.end(); ++it)
    if (it.key() != "r" && it.key() != "alpha" && it.key() != "dropout" && it.key() != "use_rslora" &&
        it.key() != "target_modules")
      throw Error(cat(where, ".", it.key()),
                  cat("unknown key, expected r, alpha, dropout, use_rslora, target_modules (", origin, ")"));
  LoraConfig c;
  c.r = json_int_or(j, "r", c.r, where, origin);
  c.alpha = json_number_or(j, "alpha", c.alpha, where, origin);
  c.dropout = json_number_or(j, "dropout", c.dropout, where, origin);
  c.use_rslora = json_bool_or(j, "use_rslora", c.use_rslora, where, origin);
  if (j.contains("target_modules")) {
    const Json& t = j["target_modules"];
    if (!t.is_array()) throw Error(where + ".target_modules", cat("expected a list of module names (", origin, ")"));
    c.target_modules.clear();
    for (const auto& m : t) {
      if (!m.is_string()) throw Error(where + ".target_modules", cat("expected module names as strings (", origin, ")"));
      c.target_modules.push_back(m.get<std::string>());
    }
  }
  c.validate(where, origin);
  return c;
}

Json LoraConfig::to_json() const {
  return Json{{"r", r}, {"alpha", alpha}, {"dropout", dropout}, {"use_rslora", use_rslora}, {"target_modules", target_modules}};
}

LoraDims lora_dims(const ModelConfig& c, LoraTarget t) {
  const int64_t C = c.hidden_size, I = c.intermediate_size, qd = c.q_dim(), kd = c.kv_dim();
  switch (t) {
    case LoraTarget::kQ: return {C, qd, 0};
    case LoraTarget::kK: return {C, kd, qd};
    case LoraTarget::kV: return {C, kd, qd + kd};
    case LoraTarget::kO: return {qd, C, 0};
    case LoraTarget::kGate: return {C, I, 0};
    case LoraTarget::kUp: return {C, I, I};
    case LoraTarget::kDown: return {I, C, 0};
  }
  return {};
}

LoraSet::LoraSet(const ModelConfig& mcfg, const LoraConfig& cfg) {
  const int64_t L = mcfg.num_hidden_layers, r = cfg.r;
  auto padded = [](int64_t n) { return (n + 15) / 16 * 16; };  // 64-byte aligned views
  int64_t total = 0;
  for (int64_t l = 0; l < L; ++l)
    for (int t = 0; t < kNumLoraTargets; ++t)
      if (cfg.targets(LoraTarget(t))) {
        const auto d = lora_dims(mcfg, LoraTarget(t));
        total += padded(r * d.in) + padded(d.out * r);
      }
  flat = Tensor::zeros({total});
  layers.resize(size_t(L));
  int64_t off = 0;
  for (int64_t l = 0; l < L; ++l)
    for (int t = 0; t < kNumLoraTargets; ++t) {
      if (!cfg.targets(LoraTarget(t))) continue;
      const auto d = lora_dims(mcfg, LoraTarget(t));
      LoraPair& p = layers[l].t[t];
      p.a = flat.rows(off, off + r * d.in).view({r, d.in});
      off += padded(r * d.in);
      p.b = flat.rows(off, off + d.out * r).view({d.out, r});
      off += padded(d.out * r);
      const std::string stem = "base_model.model." + lora_module_path(l, LoraTarget(t));
      named.push_back({stem + ".lora_A.weight", p.a, true});
      named.push_back({stem + ".lora_B.weight", p.b, true});
    }
}

const NamedParam* LoraSet::find(const std::string& name) const {
  for (const auto& n : named)
    if (n.name == name) return &n;
  return nullptr;
}

void lora_dropout_apply(const LoraDropout& d, const Tensor& x, Tensor& out) {
  const int64_t n = x.numel(), blocks = (n + 3) / 4;
  const float keep_scale = 1.f / (1.f - d.p);
  const std::array<uint32_t, 2> key{uint32_t(d.seed), uint32_t(d.seed >> 32)};
  const float* xs = x.f32();
  float* o = out.f32();
#pragma omp parallel for schedule(static) if (n >= (1 << 14))
  for (int64_t b = 0; b < blocks; ++b) {
    const auto w = philox4x32({uint32_t(b), uint32_t(uint64_t(b) >> 32), uint32_t(d.stream), uint32_t(d.stream >> 32)}, key);
    for (int64_t j = 0; j < 4 && 4 * b + j < n; ++j) {
      const float u = float(w[j] >> 8) * (1.0f / 16777216.0f);
      const int64_t e = 4 * b + j;
      o[e] = u >= d.p ? xs[e] * keep_scale : 0.f;
    }
  }
}

void lora_forward(const Ops& ops, const LoraPair& p, const LoraDims& d, float scale, const LoraDropout& drop,
                  const Tensor& x, Tensor& y) {
  const int64_t N = x.dim(0), r = p.a.dim(0);
  Tensor xd = x;
  if (drop.active()) {
    xd = Tensor::empty(x.shape());
    lora_dropout_apply(drop, x, xd);
  }
  Tensor u = Tensor::empty({N, r});
  ops.gemm(false, true, scale, xd, p.a, 0.f, u);  // u = scale * drop(x) A^T   [N, r]
  if (y.dim(1) == d.out) {
    ops.gemm(false, true, 1.f, u, p.b, 1.f, y);
  } else {
    Tensor t = Tensor::empty({N, d.out});
    ops.gemm(false, true, 1.f, u, p.b, 0.f, t);
    add_columns(t, d.col0, y);
  }
}

// With xd = drop(x), u = xd A^T:  dB = scale dy^T u,  du = scale dy B,  dA = du^T xd,
// dx = drop'(du A) (the same mask and 1/(1-p) factor: dropout is linear in x).
void lora_backward(const Ops& ops, const LoraPair& p, LoraPair& g, const LoraDims& d, float scale,
                   const LoraDropout& drop, const Tensor& x, const Tensor& dy, Tensor& dx) {
  const int64_t N = x.dim(0), r = p.a.dim(0);
  const Tensor dys = dy.dim(1) == d.out ? dy : take_columns(dy, d.col0, d.out);
  Tensor xd = x;
  if (drop.active()) {
    xd = Tensor::empty(x.shape());
    lora_dropout_apply(drop, x, xd);
  }
  Tensor u = Tensor::empty({N, r}), du = Tensor::empty({N, r});
  ops.gemm(false, true, 1.f, xd, p.a, 0.f, u);
  ops.gemm(true, false, scale, dys, u, 1.f, g.b);   // [out, r]
  ops.gemm(false, false, scale, dys, p.b, 0.f, du);  // [N, r]
  ops.gemm(true, false, 1.f, du, xd, 1.f, g.a);     // [r, in]
  if (drop.active()) {
    ops.gemm(false, false, 1.f, du, p.a, 0.f, xd);  // xd is scratch now
    lora_dropout_apply(drop, xd, xd);
    ops.axpy(1.f, xd, dx);
  } else {
    ops.gemm(false, false, 1.f, du, p.a, 1.f, dx);
  }
}

LoraAdapters::LoraAdapters(const ModelConfig& mcfg, LoraConfig cfg)
    : cfg_(std::move(cfg)), mcfg_(mcfg), scale_(0.f) {
  cfg_.validate("lora");
  scale_ = cfg_.scale();
  w_ = std::make_unique<LoraSet>(mcfg_, cfg_);
}

LoraSet& LoraAdapters::grads() {
  if (!g_) g_ = std::make_unique<LoraSet>(mcfg_, cfg_);
  return *g_;
}

void LoraAdapters::init(uint64_t seed) {
  for (size_t l = 0; l < w_->layers.size(); ++l)
    for (int t = 0; t < kNumLoraTargets; ++t) {
      LoraPair& p = w_->layers[l].t[t];
      if (!p.a.defined()) continue;
      const Rng rng(seed, uint64_t(l) * kNumLoraTargets + uint64_t(t));
      const float bound = 1.f / std::sqrt(float(p.a.dim(1)));
      float* a = p.a.f32();
      for (int64_t i = 0; i < p.a.numel(); ++i) a[i] = (2.f * rng.uniform(uint64_t(i)) - 1.f) * bound;
      std::fill(p.b.f32(), p.b.f32() + p.b.numel(), 0.f);
    }
}

}  // namespace tandem::model
