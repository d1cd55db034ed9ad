#include "model/decoder.h"

#include <cmath>

#include "backend/registry.h"
#include "core/file.h"
#include "core/json.h"

namespace tandem::model {

// What one block's backward needs. `kept` tensors are stored per layer when not recomputing;
// the others are scratch, recomputed in backward from the kept ones (cheap elementwise work).
struct LayerCache {
  Tensor x_in, rstd1, qkv, attn, lse, x_mid, rstd2, gate_up;  // kept
  Tensor h1, q, k, v, h2, act;                                // scratch
};

struct SavedActivations {
  TokenBatch batch;
  AttnLayout layout;
  Tensor tokens, positions, targets;  // I32 [N]
  ForwardOptions opt;
  bool lora_on = false;    // adapters attached and enabled at this forward
  bool lora_drop = false;  // ... and their dropout applies (a training forward)
  uint64_t lora_step = 0;  // the dropout step this forward drew its masks from
  std::vector<LayerCache> layers;     // kept part per layer (only x_in when recomputing)
  LayerCache scratch;                 // shared scratch (and, when recomputing, the kept part too)
  Tensor x_final, hf, rstd_f, lse_row, ent_row;
};

namespace {

Tensor i32_tensor(const std::vector<int32_t>& v) {
  Tensor t = Tensor::empty({int64_t(v.size())}, DType::kI32);
  std::copy(v.begin(), v.end(), t.i32());
  return t;
}

void alloc_kept(LayerCache& c, const ModelConfig& cfg, int64_t N) {
  const int64_t C = cfg.hidden_size, QKV = cfg.q_dim() + 2 * cfg.kv_dim();
  c.rstd1 = Tensor::empty({N});
  c.qkv = Tensor::empty({N, QKV});
  c.attn = Tensor::empty({N, cfg.q_dim()});
  c.lse = Tensor::empty({cfg.num_attention_heads, N});
  c.x_mid = Tensor::empty({N, C});
  c.rstd2 = Tensor::empty({N});
  c.gate_up = Tensor::empty({N, 2 * cfg.intermediate_size});
}

void alloc_scratch(LayerCache& c, const ModelConfig& cfg, int64_t N) {
  const int64_t C = cfg.hidden_size;
  c.h1 = Tensor::empty({N, C});
  c.q = Tensor::empty({N, cfg.q_dim()});
  c.k = Tensor::empty({N, cfg.kv_dim()});
  c.v = Tensor::empty({N, cfg.kv_dim()});
  c.h2 = Tensor::empty({N, C});
  c.act = Tensor::empty({N, cfg.intermediate_size});
}

// Kept tensors of `from` (all but x_in) viewed by `to`, so one code path writes either.
void share_kept(const LayerCache& from, LayerCache& to) {
  to.rstd1 = from.rstd1, to.qkv = from.qkv, to.attn = from.attn, to.lse = from.lse;
  to.x_mid = from.x_mid, to.rstd2 = from.rstd2, to.gate_up = from.gate_up;
}
void share_scratch(const LayerCache& from, LayerCache& to) {
  to.h1 = from.h1, to.q = from.q, to.k = from.k, to.v = from.v, to.h2 = from.h2, to.act = from.act;
}

// Row n of the LM head predicts token n + 1 (batch.h's per-token convention).
Tensor to_rows(const SavedActivations& s, const Tensor& per_token) {
  if (!per_token.defined()) return Tensor();
  const int64_t N = s.batch.N();
  Tensor rows = Tensor::zeros({N});
  const int32_t* tg = s.targets.i32();
  for (int64_t n = 0; n + 1 < N; ++n)
    if (tg[n] >= 0) rows.f32()[n] = per_token.f32()[n + 1];
  return rows;
}

void to_tokens(const SavedActivations& s, const Tensor& rows, Tensor& per_token) {
  const int64_t N = s.batch.N();
  per_token = Tensor::zeros({N});
  const int32_t* tg = s.targets.i32();
  for (int64_t n = 0; n + 1 < N; ++n)
    if (tg[n] >= 0) per_token.f32()[n + 1] = rows.f32()[n];
}

size_t bytes_of(const LayerCache& c) {
  size_t b = 0;
  for (const Tensor* t : {&c.x_in, &c.rstd1, &c.qkv, &c.attn, &c.lse, &c.x_mid, &c.rstd2, &c.gate_up})
    if (t->defined()) b += t->nbytes();
  return b;
}

}  // namespace

Decoder::Decoder(ModelConfig cfg, bool with_score)
    : cfg_(std::move(cfg)), ops_(ops_for(cpu_device())), w_(std::make_unique<ParamSet>(cfg_, with_score)) {}

Decoder::~Decoder() = default;

std::unique_ptr<Decoder> Decoder::load(const std::string& dir, bool with_score) {
  if (!is_directory(dir)) throw Error("model.load", cat("'", dir, "' is not a directory"));
  auto d = std::make_unique<Decoder>(ModelConfig::load(join_path(dir, "config.json")), with_score);
  load_weights(d->weights(), dir);
  return d;
}

void Decoder::save(const std::string& dir, DType dtype) const {
  make_directories(dir);
  Json j = cfg_.to_json();
  j["torch_dtype"] = dtype == DType::kBF16 ? "bfloat16" : dtype == DType::kF16 ? "float16" : "float32";
  save_weights(*w_, dir, dtype);
  write_file_atomic(join_path(dir, "config.json"), j.dump(2) + "\n");
}

ParamSet& Decoder::grads() {
  if (lora_)
    throw Error("model.grads", "the base weights are frozen while LoRA adapters are attached; use trainable_grads()");
  if (!g_) g_ = std::make_unique<ParamSet>(cfg_, w_->score.defined());
  return *g_;
}

void Decoder::zero_grad() {
  if (lora_) {
    if (lora_->has_grads()) ops_.fill(lora_->grads().flat, 0.f);
  } else if (g_) {
    ops_.fill(g_->flat, 0.f);
  }
}

void Decoder::attach_adapters(std::unique_ptr<LoraAdapters> adapters) {
  TD_ASSERT(adapters, "attach_adapters(nullptr)");
  const LoraSet& a = adapters->weights();
  if (int64_t(a.layers.size()) != cfg_.num_hidden_layers)
    throw Error("model.lora", cat("adapters for ", a.layers.size(), " layers, the model has ", cfg_.num_hidden_layers));
  for (const auto& layer : a.layers)
    for (int t = 0; t < kNumLoraTargets; ++t) {
      const LoraPair& p = layer.t[t];
      if (!p.a.defined()) continue;
      const LoraDims d = lora_dims(cfg_, LoraTarget(t));
      if (p.a.dim(1) != d.in || p.b.dim(0) != d.out)
        throw Error("model.lora", cat(lora_target_name(LoraTarget(t)), " adapter is for [", p.b.dim(0), ", ", p.a.dim(1),
                                      "] weights, the model's are [", d.out, ", ", d.in, "]"));
    }
  lora_ = std::move(adapters);
  g_.reset();  // frozen base: no gradient buffer
  saved_.reset();
}

std::unique_ptr<LoraAdapters> Decoder::detach_adapters() {
  saved_.reset();
  return std::move(lora_);
}

Tensor& Decoder::trainable_params() {
  if (lora_) return lora_->weights().flat;
  weights_changed();  // the caller may write through it
  return w_->flat;
}

void Decoder::set_compute_dtype(DType dtype) {
  if (dtype != DType::kF32 && dtype != DType::kBF16)
    throw Error("model.compute_dtype", cat("expected F32 or BF16, got ", dtype_name(dtype)));
  std::string why;
  if (dtype == DType::kBF16 && !ops_.bf16_gemm_available(&why))
    throw Error("bf16", cat("bf16 compute cannot run on this machine, ", why,
                            ". Hint: bf16: false (or no --bf16) computes in fp32"));
  compute_ = dtype;
  lowp_.reset();
  lowp_version_ = ~uint64_t(0);
}

const ParamSet& Decoder::gemm_weights() const {
  if (compute_ == DType::kF32) return *w_;
  if (!lowp_) lowp_ = std::make_unique<ParamSet>(cfg_, w_->score.defined(), DType::kBF16);
  if (lowp_version_ != weights_version_) {
    ops_.convert(w_->flat, lowp_->flat);
    lowp_version_ = weights_version_;
  }
  return *lowp_;
}

Tensor Decoder::gemm_operand(const Tensor& activation) const {
  if (compute_ == DType::kF32) return activation;
  Tensor r = Tensor::empty(activation.shape(), compute_);
  ops_.convert(activation, r);
  return r;
}
Tensor& Decoder::trainable_grads() { return lora_ ? lora_->grads().flat : grads().flat; }
const std::vector<NamedParam>& Decoder::trainable_named() const { return lora_ ? lora_->weights().named : w_->named; }
const std::vector<NamedParam>& Decoder::trainable_grads_named() { return lora_ ? lora_->grads().named : grads().named; }

LoraDropout Decoder::lora_dropout(const SavedActivations& s, int64_t l, LoraTarget t) const {
  if (!s.lora_drop) return {};
  return {float(lora_->config().dropout), lora_->dropout_seed, (s.lora_step << 20) | (uint64_t(l) << 3) | uint64_t(t)};
}

size_t Decoder::activation_bytes() const {
  if (!saved_) return 0;
  size_t b = bytes_of(saved_->scratch);
  for (const auto& c : saved_->layers) b += bytes_of(c);
  for (const Tensor* t : {&saved_->x_final, &saved_->hf})
    if (t->defined()) b += t->nbytes();
  return b;
}

void Decoder::ensure_rope(int64_t n_pos) {
  if (n_pos <= rope_len_) return;
  rope_len_ = std::max<int64_t>(n_pos, std::min<int64_t>(cfg_.max_position_embeddings, 2 * n_pos));
  rope_ = make_rope_table(cfg_, rope_len_);
}

void Decoder::layer_forward(const SavedActivations& s, int64_t l, const Tensor& x_in, LayerCache& c, Tensor& x_out) {
  const LayerWeights& w = w_->layers[l];
  const LayerWeights& wm = gemm_weights().layers[l];  // what the GEMMs multiply with (bf16 copy or w)
  const float eps = float(cfg_.rms_norm_eps);
  const LoraLayer* a = s.lora_on ? &lora_->weights().layers[l] : nullptr;
  auto lora = [&](LoraTarget t, const Tensor& x, Tensor& y) {
    if (a && a->t[int(t)].a.defined())
      lora_forward(ops_, a->t[int(t)], lora_dims(cfg_, t), lora_->scale(), lora_dropout(s, l, t), x, y);
  };
  ops_.rmsnorm_forward(x_in, w.attn_norm, eps, c.h1, c.rstd1);
  ops_.gemm(false, true, 1.f, c.h1, wm.wqkv, 0.f, c.qkv);
  lora(LoraTarget::kQ, c.h1, c.qkv);
  lora(LoraTarget::kK, c.h1, c.qkv);
  lora(LoraTarget::kV, c.h1, c.qkv);
  if (w.bqkv.defined()) ops_.bias_forward(c.qkv, w.bqkv);
  ops_.qkv_prep_forward(c.qkv, s.positions, rope_, w.q_norm, w.k_norm, eps, cfg_.num_attention_heads,
                        cfg_.num_key_value_heads, c.q, c.k, c.v);
  ops_.attention_forward(c.q, c.k, c.v, s.layout, cfg_.window_for_layer(l), 1.f / std::sqrt(float(cfg_.head_dim)),
                         c.attn, c.lse);
  ops_.convert(x_in, c.x_mid);
  ops_.gemm(false, true, 1.f, c.attn, wm.wo, 1.f, c.x_mid);
  lora(LoraTarget::kO, c.attn, c.x_mid);
  if (w.bo.defined()) ops_.bias_forward(c.x_mid, w.bo);
  ops_.rmsnorm_forward(c.x_mid, w.mlp_norm, eps, c.h2, c.rstd2);
  ops_.gemm(false, true, 1.f, c.h2, wm.w_gate_up, 0.f, c.gate_up);
  lora(LoraTarget::kGate, c.h2, c.gate_up);
  lora(LoraTarget::kUp, c.h2, c.gate_up);
  ops_.swiglu_forward(c.gate_up, c.act);
  ops_.convert(c.x_mid, x_out);
  ops_.gemm(false, true, 1.f, c.act, wm.w_down, 1.f, x_out);
  lora(LoraTarget::kDown, c.act, x_out);
}

std::unique_ptr<SavedActivations> Decoder::run_trunk(const TokenBatch& batch, const ForwardOptions& opt) {
  if (opt.value && !w_->score.defined())
    throw Error("model.forward.value", "the model has no score head (score.weight); load it with one");
  batch.validate(cfg_.vocab_size, cfg_.max_position_embeddings, "batch");
  const int64_t N = batch.N(), C = cfg_.hidden_size, L = cfg_.num_hidden_layers;
  ensure_rope(batch.max_position() + 1);  // grows only; a position's entry never changes
  auto saved = std::make_unique<SavedActivations>();
  SavedActivations& s = *saved;
  s.batch = batch;
  s.layout = batch.layout();
  s.tokens = i32_tensor(batch.tokens);
  s.positions = i32_tensor(batch.positions);
  s.targets = i32_tensor(batch.next_targets());
  s.opt = opt;
  s.lora_on = lora_ && lora_->enabled && opt.adapters;
  s.lora_drop = s.lora_on && opt.for_backward && lora_->config().dropout > 0;
  if (s.lora_drop) s.lora_step = lora_->dropout_step++;

  // Activation storage: per layer when keeping everything; otherwise one shared set, with only
  // the block inputs kept (recompute) or nothing kept (inference: two ping-pong residual buffers).
  const bool keep_all = opt.for_backward && !opt.recompute;
  alloc_scratch(s.scratch, cfg_, N);
  if (!keep_all) alloc_kept(s.scratch, cfg_, N);
  s.layers.resize(size_t(L));
  Tensor ping, pong;
  if (!opt.for_backward) ping = Tensor::empty({N, C}), pong = Tensor::empty({N, C});
  for (int64_t l = 0; l < L; ++l) {
    auto& c = s.layers[l];
    if (keep_all) alloc_kept(c, cfg_, N);
    if (opt.for_backward) c.x_in = Tensor::empty({N, C});
    else c.x_in = (l % 2 == 0) ? ping : pong;
  }
  s.x_final = opt.for_backward ? Tensor::empty({N, C}) : ((L % 2 == 0) ? ping : pong);

  ops_.embedding_forward(s.tokens, w_->embed, s.layers.empty() ? s.x_final : s.layers[0].x_in);
  for (int64_t l = 0; l < L; ++l) {
    LayerCache c = s.layers[l];
    if (!keep_all) share_kept(s.scratch, c);
    share_scratch(s.scratch, c);
    Tensor& out = (l + 1 < L) ? s.layers[l + 1].x_in : s.x_final;
    layer_forward(s, l, c.x_in, c, out);
  }
  s.hf = Tensor::empty({N, C});
  s.rstd_f = Tensor::empty({N});
  ops_.rmsnorm_forward(s.x_final, w_->final_norm, float(cfg_.rms_norm_eps), s.hf, s.rstd_f);
  return saved;
}

ForwardOutputs Decoder::forward(const TokenBatch& batch, const ForwardOptions& opt) {
  // Only a kept forward replaces saved_: an inference forward works in storage of its own.
  std::unique_ptr<SavedActivations> local = run_trunk(batch, opt);
  if (opt.for_backward) saved_ = std::move(local);
  SavedActivations& s = opt.for_backward ? *saved_ : *local;
  const int64_t N = batch.N();
  ForwardOutputs out;
  Tensor logp_row = Tensor::zeros({N});
  s.lse_row = Tensor::zeros({N});
  if (opt.entropy) s.ent_row = Tensor::zeros({N});
  // A sequence-classification model has no LM head: its log-probs are not defined and stay 0.
  if (!cfg_.sequence_classification)
    ops_.logprob_forward(s.hf, gemm_weights().output_embedding(), s.targets, logp_row, s.lse_row, s.ent_row);
  to_tokens(s, logp_row, out.logp);
  if (opt.entropy) to_tokens(s, s.ent_row, out.entropy);
  if (opt.value) {
    Tensor v = Tensor::empty({N, 1});
    ops_.gemm(false, true, 1.f, s.hf, w_->score, 0.f, v);
    out.value = v.view({N});
    for (int64_t n = 0; n < N; ++n)
      if (batch.segments[n] < 0) out.value.f32()[n] = 0.f;
  }
  return out;
}

ForwardOutputs Decoder::forward_backward(const TokenBatch& batch, const Tensor& dlogp, const Tensor& dentropy,
                                         ForwardOptions opt) {
  if (opt.value) throw Error("model.forward_backward.value", "the value head is not supported here; use forward + backward");
  if (cfg_.sequence_classification)
    throw Error("model.forward_backward", "a sequence-classification model has no LM head to take log-prob gradients");
  for (const Tensor* t : {&dlogp, &dentropy})
    if (t->defined() && t->numel() != batch.N())
      throw Error("model.forward_backward", cat("per-token weights must have B*T = ", batch.N(), " elements, got ", t->numel()));
  opt.for_backward = true;
  opt.entropy = opt.entropy || dentropy.defined();
  saved_ = run_trunk(batch, opt);
  check_trainable("model.forward_backward");
  SavedActivations& s = *saved_;
  const int64_t N = batch.N(), C = cfg_.hidden_size;
  Tensor logp_row = Tensor::empty({N}), ent_row = opt.entropy ? Tensor::empty({N}) : Tensor();
  Tensor dhf = Tensor::empty({N, C});
  Tensor frozen;  // undefined: the head's weight gradient is skipped
  Tensor& dW_out = lora_ ? frozen : grads().lm_head.defined() ? grads().lm_head : grads().embed;
  ops_.logprob_fused(s.hf, gemm_weights().output_embedding(), s.targets, to_rows(s, dlogp), to_rows(s, dentropy), logp_row,
                     ent_row, dhf, dW_out);
  ForwardOutputs out;
  to_tokens(s, logp_row, out.logp);
  if (opt.entropy) to_tokens(s, ent_row, out.entropy);
  backward_trunk(dhf);
  return out;
}

void Decoder::layer_backward(int64_t l, LayerCache& c, Tensor& dx) {
  const LayerWeights& w = w_->layers[l];
  const LayerWeights& wm = gemm_weights().layers[l];
  const float eps = float(cfg_.rms_norm_eps);
  const SavedActivations& s = *saved_;
  const int64_t N = s.batch.N(), C = cfg_.hidden_size;
  // With adapters the base is frozen: its weight gradients are skipped (g == nullptr), the norms'
  // go to a discarded scratch, and only the adapters' and the activations' are computed.
  LayerWeights* g = lora_ ? nullptr : &grads().layers[l];
  const LoraLayer* a = lora_ ? &lora_->weights().layers[l] : nullptr;
  LoraLayer* ga = lora_ ? &lora_->grads().layers[l] : nullptr;
  auto lora = [&](LoraTarget t, const Tensor& x, const Tensor& dy, Tensor& dx_in) {
    if (a && a->t[int(t)].a.defined())
      lora_backward(ops_, a->t[int(t)], ga->t[int(t)], lora_dims(cfg_, t), lora_->scale(), lora_dropout(s, l, t), x, dy, dx_in);
  };
  Tensor none, norm_scratch = lora_ ? Tensor::zeros({C}) : Tensor();
  // Backward scratch, sized once per call; small next to the kept activations.
  Tensor dgu = Tensor::empty({N, 2 * cfg_.intermediate_size}), dact = Tensor::empty({N, cfg_.intermediate_size});
  Tensor dh = Tensor::empty({N, C}), tmp = Tensor::empty({N, C});
  Tensor dattn = Tensor::empty({N, cfg_.q_dim()}), dq = Tensor::empty({N, cfg_.q_dim()});
  Tensor dk = Tensor::empty({N, cfg_.kv_dim()}), dv = Tensor::empty({N, cfg_.kv_dim()});
  Tensor dqkv = Tensor::empty({N, cfg_.q_dim() + 2 * cfg_.kv_dim()});

  // Under bf16 compute an activation that feeds two GEMMs is rounded once (gemm_operand); the
  // LoRA terms keep the F32 originals.
  // MLP: x_out = x_mid + swiglu(rmsnorm(x_mid) Wgu^T) Wd^T
  ops_.swiglu_forward(c.gate_up, c.act);
  {
    const Tensor dy = gemm_operand(dx);
    if (g) ops_.gemm(true, false, 1.f, dy, gemm_operand(c.act), 1.f, g->w_down);
    ops_.gemm(false, false, 1.f, dy, wm.w_down, 0.f, dact);
  }
  lora(LoraTarget::kDown, c.act, dx, dact);
  ops_.swiglu_backward(c.gate_up, dact, dgu);
  ops_.rmsnorm_forward(c.x_mid, w.mlp_norm, eps, c.h2, c.rstd2);
  {
    const Tensor dy = gemm_operand(dgu);
    if (g) ops_.gemm(true, false, 1.f, dy, gemm_operand(c.h2), 1.f, g->w_gate_up);
    ops_.gemm(false, false, 1.f, dy, wm.w_gate_up, 0.f, dh);
  }
  lora(LoraTarget::kGate, c.h2, dgu, dh);
  lora(LoraTarget::kUp, c.h2, dgu, dh);
  ops_.rmsnorm_backward(dh, c.x_mid, w.mlp_norm, c.rstd2, tmp, g ? g->mlp_norm : norm_scratch);
  ops_.axpy(1.f, tmp, dx);

  // Attention: x_mid = x_in + attn(rope(norm(split(rmsnorm(x_in) Wqkv^T + b)))) Wo^T + bo
  {
    const Tensor dy = gemm_operand(dx);
    if (g) ops_.gemm(true, false, 1.f, dy, gemm_operand(c.attn), 1.f, g->wo);
    ops_.gemm(false, false, 1.f, dy, wm.wo, 0.f, dattn);
  }
  if (g && g->bo.defined()) ops_.bias_backward(dx, g->bo);
  lora(LoraTarget::kO, c.attn, dx, dattn);
  ops_.qkv_prep_forward(c.qkv, s.positions, rope_, w.q_norm, w.k_norm, eps, cfg_.num_attention_heads,
                        cfg_.num_key_value_heads, c.q, c.k, c.v);
  ops_.attention_backward(c.q, c.k, c.v, c.attn, c.lse, dattn, s.layout, cfg_.window_for_layer(l),
                          1.f / std::sqrt(float(cfg_.head_dim)), dq, dk, dv);
  ops_.qkv_prep_backward(c.qkv, s.positions, rope_, w.q_norm, w.k_norm, eps, cfg_.num_attention_heads,
                         cfg_.num_key_value_heads, dq, dk, dv, dqkv, g ? g->q_norm : none, g ? g->k_norm : none);
  if (g && g->bqkv.defined()) ops_.bias_backward(dqkv, g->bqkv);
  ops_.rmsnorm_forward(c.x_in, w.attn_norm, eps, c.h1, c.rstd1);
  {
    const Tensor dy = gemm_operand(dqkv);
    if (g) ops_.gemm(true, false, 1.f, dy, gemm_operand(c.h1), 1.f, g->wqkv);
    ops_.gemm(false, false, 1.f, dy, wm.wqkv, 0.f, dh);
  }
  lora(LoraTarget::kQ, c.h1, dqkv, dh);
  lora(LoraTarget::kK, c.h1, dqkv, dh);
  lora(LoraTarget::kV, c.h1, dqkv, dh);
  ops_.rmsnorm_backward(dh, c.x_in, w.attn_norm, c.rstd1, tmp, g ? g->attn_norm : norm_scratch);
  ops_.axpy(1.f, tmp, dx);
}

// With adapters attached, the forward kept must have run them: otherwise nothing is trainable.
void Decoder::check_trainable(const char* where) const {
  if (lora_ && !lora_->enabled)
    throw Error(where, "LoRA adapters are switched off and the base is frozen: nothing to train. Hint: enable the "
                       "adapters for the policy's forward; the reference's forward needs no backward");
  if (lora_ && saved_ && !saved_->lora_on)
    throw Error(where, "the kept forward ran with the adapters switched off: nothing to train");
}

void Decoder::backward(const Tensor& dlogp, const Tensor& dentropy, const Tensor& dvalue) {
  if (!saved_ || !saved_->opt.for_backward)
    throw Error("model.backward", "no activations kept: call forward() with for_backward = true first");
  SavedActivations& s = *saved_;
  const int64_t N = s.batch.N(), C = cfg_.hidden_size;
  for (const Tensor* t : {&dlogp, &dentropy, &dvalue})
    if (t->defined() && t->numel() != N)
      throw Error("model.backward", cat("per-token weights must have B*T = ", N, " elements, got ", t->numel()));
  if (dentropy.defined() && !s.opt.entropy)
    throw Error("model.backward.dentropy", "entropy gradient given but forward() did not compute entropy");
  if ((dlogp.defined() || dentropy.defined()) && cfg_.sequence_classification)
    throw Error("model.backward.dlogp", "a sequence-classification model has no LM head to take log-prob gradients");
  if (dvalue.defined() && !w_->score.defined())
    throw Error("model.backward.dvalue", "value gradient given but the model has no score head");
  check_trainable("model.backward");
  const Tensor dl_row = to_rows(s, dlogp), de_row = to_rows(s, dentropy);
  Tensor dhf = Tensor::zeros({N, C});
  Tensor frozen;  // undefined: the head's weight gradient is skipped
  Tensor& dW_out = lora_ ? frozen : grads().lm_head.defined() ? grads().lm_head : grads().embed;
  if (dl_row.defined() || de_row.defined())
    ops_.logprob_backward(s.hf, gemm_weights().output_embedding(), s.targets, s.lse_row, s.ent_row, dl_row, de_row, dhf,
                          dW_out);
  if (dvalue.defined()) {
    Tensor dv = Tensor::empty({N, 1});
    for (int64_t n = 0; n < N; ++n) dv.f32()[n] = s.batch.segments[n] >= 0 ? dvalue.f32()[n] : 0.f;
    if (!lora_) ops_.gemm(true, false, 1.f, dv, s.hf, 1.f, grads().score);
    ops_.gemm(false, false, 1.f, dv, w_->score, 1.f, dhf);
  }
  backward_trunk(dhf);
}

void Decoder::backward_trunk(Tensor& dhf) {
  SavedActivations& s = *saved_;
  const int64_t N = s.batch.N(), C = cfg_.hidden_size, L = cfg_.num_hidden_layers;
  Tensor dx = Tensor::empty({N, C});
  Tensor norm_scratch = lora_ ? Tensor::zeros({C}) : Tensor();
  ops_.rmsnorm_backward(dhf, s.x_final, w_->final_norm, s.rstd_f, dx, lora_ ? norm_scratch : grads().final_norm);
  dhf = Tensor();
  stage_done(0);
  for (int64_t l = L - 1; l >= 0; --l) {
    LayerCache c = s.layers[l];
    share_scratch(s.scratch, c);
    if (s.opt.recompute) {
      share_kept(s.scratch, c);
      Tensor out = Tensor::empty({N, C});
      layer_forward(s, l, c.x_in, c, out);
    }
    layer_backward(l, c, dx);
    s.layers[l] = LayerCache();  // release this block's activations as soon as they are used
    stage_done(size_t(L - l));
  }
  if (!lora_) ops_.embedding_backward(s.tokens, dx, grads().embed);
  saved_.reset();
  stage_done(size_t(L + 1));
}

std::vector<int64_t> Decoder::grad_ready_offsets() {
  const Tensor& flat = trainable_grads();
  const auto at = [&](const Tensor& t) { return int64_t(static_cast<const float*>(t.raw()) - flat.f32()); };
  const int64_t L = cfg_.num_hidden_layers, P = flat.numel();
  std::vector<int64_t> off(size_t(L + 2), P);
  if (!lora_) {
    off[0] = at(grads().final_norm);
    for (int64_t l = L - 1; l >= 0; --l) off[size_t(L - l)] = at(grads().layers[size_t(l)].attn_norm);
  } else {
    // Adapters sit in layers only, in layer order; a layer without any leaves the offset where it was.
    const LoraSet& g = lora_->grads();
    for (int64_t l = L - 1; l >= 0; --l) {
      int64_t first = off[size_t(L - l - 1)];
      for (const LoraPair& p : g.layers[size_t(l)].t)
        if (p.a.defined()) first = std::min(first, at(p.a));
      off[size_t(L - l)] = first;
    }
  }
  off[size_t(L + 1)] = 0;
  return off;
}

}  // namespace tandem::model
