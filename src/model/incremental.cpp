#include "model/incremental.h"

#include <cmath>

#include "backend/registry.h"

namespace tandem::model {

namespace {
Tensor i32_tensor(const std::vector<int32_t>& v) {
  Tensor t = Tensor::empty({int64_t(v.size())}, DType::kI32);
  std::copy(v.begin(), v.end(), t.i32());
  return t;
}
}  // namespace

IncrementalDecoder::IncrementalDecoder(const Decoder& dec, KvCache& cache)
    : dec_(dec), cfg_(dec.config()), ops_(ops_for(cpu_device())), cache_(cache) {
  if (cfg_.sequence_classification)
    throw Error("model.generate", cat("'", cfg_.architecture, "' has no LM head; generation needs a *ForCausalLM model"));
  if (cache.max_len() > cfg_.max_position_embeddings)
    throw Error("model.generate.max_len", cat("sequences of up to ", cache.max_len(), " tokens, expected at most max_position_embeddings = ",
                                              cfg_.max_position_embeddings));
  rope_ = make_rope_table(cfg_, cache.max_len());
}

void IncrementalDecoder::run_layers(Tensor& x, const Tensor& positions, const Tensor& slot_of_token,
                                    const AttnLayout* layout, const Tensor& decode_slots, const Tensor& decode_lengths) {
  const ParamSet& P = dec_.weights();
  const ParamSet& PM = dec_.gemm_weights();  // what the GEMMs multiply with: the bf16 copy under bf16 compute
  const int64_t N = x.dim(0), C = cfg_.hidden_size, H = cfg_.num_attention_heads, K = cfg_.num_key_value_heads;
  const int64_t D = cfg_.head_dim;
  const float eps = float(cfg_.rms_norm_eps), scale = 1.f / std::sqrt(float(D));
  Tensor h = Tensor::empty({N, C}), rstd = Tensor::empty({N}), qkv = Tensor::empty({N, (H + 2 * K) * D});
  Tensor q = Tensor::empty({N, H * D}), k = Tensor::empty({N, K * D}), v = Tensor::empty({N, K * D});
  Tensor attn = Tensor::empty({N, H * D}), gate_up = Tensor::empty({N, 2 * cfg_.intermediate_size});
  Tensor act = Tensor::empty({N, cfg_.intermediate_size});
  Tensor lse = layout ? Tensor::empty({H, N}) : Tensor();
  // Enabled LoRA adapters run as in the training forward (no dropout: this is inference), so a
  // policy with adapters samples what it scores.
  const LoraAdapters* lora = dec_.adapters() && dec_.adapters()->enabled ? dec_.adapters() : nullptr;
  for (int64_t l = 0; l < cfg_.num_hidden_layers; ++l) {
    const LayerWeights& w = P.layers[size_t(l)];
    const LayerWeights& wm = PM.layers[size_t(l)];
    auto adapter = [&](LoraTarget t, const Tensor& in, Tensor& out) {
      if (!lora) return;
      const LoraPair& p = lora->weights().layers[size_t(l)].t[int(t)];
      if (p.a.defined()) lora_forward(ops_, p, lora_dims(cfg_, t), lora->scale(), LoraDropout{}, in, out);
    };
    ops_.rmsnorm_forward(x, w.attn_norm, eps, h, rstd);
    ops_.gemm(false, true, 1.f, h, wm.wqkv, 0.f, qkv);
    adapter(LoraTarget::kQ, h, qkv);
    adapter(LoraTarget::kK, h, qkv);
    adapter(LoraTarget::kV, h, qkv);
    if (w.bqkv.defined()) ops_.bias_forward(qkv, w.bqkv);
    ops_.qkv_prep_forward(qkv, positions, rope_, w.q_norm, w.k_norm, eps, H, K, q, k, v);
    ops_.kv_cache_write(k, v, slot_of_token, positions, cache_.k(l), cache_.v(l));
    const int64_t window = cfg_.window_for_layer(l);
    if (layout) {
      ops_.attention_forward(q, k, v, *layout, window, scale, attn, lse);
    } else {
      Tensor a3 = attn.view({N, H, D});
      ops_.attention_decode(q.view({N, H, D}), cache_.k(l), cache_.v(l), decode_slots, decode_lengths, window, scale, a3);
    }
    ops_.gemm(false, true, 1.f, attn, wm.wo, 1.f, x);
    adapter(LoraTarget::kO, attn, x);
    if (w.bo.defined()) ops_.bias_forward(x, w.bo);
    ops_.rmsnorm_forward(x, w.mlp_norm, eps, h, rstd);
    ops_.gemm(false, true, 1.f, h, wm.w_gate_up, 0.f, gate_up);
    adapter(LoraTarget::kGate, h, gate_up);
    adapter(LoraTarget::kUp, h, gate_up);
    ops_.swiglu_forward(gate_up, act);
    ops_.gemm(false, true, 1.f, act, wm.w_down, 1.f, x);
    adapter(LoraTarget::kDown, act, x);
  }
}

Tensor IncrementalDecoder::head(const Tensor& x, const std::vector<int64_t>& rows) {
  const int64_t R = int64_t(rows.size()), C = cfg_.hidden_size;
  Tensor sel = Tensor::empty({R, C}), hf = Tensor::empty({R, C}), rstd = Tensor::empty({R});
  for (int64_t r = 0; r < R; ++r) {
    Tensor dst = sel.rows(r, r + 1);
    ops_.convert(x.rows(rows[size_t(r)], rows[size_t(r)] + 1), dst);
  }
  ops_.rmsnorm_forward(sel, dec_.weights().final_norm, float(cfg_.rms_norm_eps), hf, rstd);
  Tensor logits = Tensor::empty({R, cfg_.vocab_size});
  ops_.gemm(false, true, 1.f, hf, dec_.gemm_weights().output_embedding(), 0.f, logits);
  return logits;
}

Tensor IncrementalDecoder::prefill(const std::vector<int32_t>& slots, const std::vector<std::vector<int32_t>>& prompts) {
  TD_ASSERT(slots.size() == prompts.size() && !prompts.empty(), "prefill wants one slot per prompt");
  std::vector<std::vector<int32_t>> docs;
  std::vector<int32_t> slot_of_token;
  std::vector<int64_t> last_rows;
  for (size_t i = 0; i < prompts.size(); ++i) {
    const int64_t n = int64_t(prompts[i].size());
    if (n == 0) throw Error("model.generate.prompt", cat("prompt ", i, " is empty, expected at least one token"));
    if (n > cache_.max_len())
      throw Error("model.generate.prompt", cat("prompt ", i, " has ", n, " tokens, expected at most the cache length ", cache_.max_len()));
    TD_ASSERT(slots[i] >= 0 && slots[i] < cache_.slots(), "slot ", slots[i]);
    docs.push_back(prompts[i]);
    slot_of_token.insert(slot_of_token.end(), size_t(n), slots[i]);
    last_rows.push_back(int64_t(slot_of_token.size()) - 1);
    cache_.set_length(slots[i], n);
  }
  const TokenBatch batch = TokenBatch::packed({docs});
  batch.validate(cfg_.vocab_size, cfg_.max_position_embeddings, "prompt");
  const AttnLayout layout = batch.layout();
  Tensor x = Tensor::empty({batch.N(), cfg_.hidden_size});
  ops_.embedding_forward(i32_tensor(batch.tokens), dec_.weights().embed, x);
  run_layers(x, i32_tensor(batch.positions), i32_tensor(slot_of_token), &layout, Tensor(), Tensor());
  return head(x, last_rows);
}

Tensor IncrementalDecoder::decode(const std::vector<int32_t>& slots, const std::vector<int32_t>& tokens) {
  TD_ASSERT(slots.size() == tokens.size() && !slots.empty(), "decode wants one token per slot");
  const int64_t R = int64_t(slots.size());
  std::vector<int32_t> pos(slots.size()), lens(slots.size());
  for (int64_t r = 0; r < R; ++r) {
    const int64_t s = slots[size_t(r)], n = cache_.length(s);
    if (n >= cache_.max_len())
      throw Error("model.generate.length", cat("slot ", s, " is full at ", n, " tokens (the cache length)"));
    if (tokens[size_t(r)] < 0 || tokens[size_t(r)] >= cfg_.vocab_size)
      throw Error("model.generate.token", cat("token id ", tokens[size_t(r)], " outside the vocabulary [0, ", cfg_.vocab_size, ")"));
    pos[size_t(r)] = int32_t(n);
    lens[size_t(r)] = int32_t(n + 1);
    cache_.set_length(s, n + 1);
  }
  Tensor x = Tensor::empty({R, cfg_.hidden_size});
  const Tensor slot_t = i32_tensor(slots);
  ops_.embedding_forward(i32_tensor(tokens), dec_.weights().embed, x);
  run_layers(x, i32_tensor(pos), slot_t, nullptr, slot_t, i32_tensor(lens));
  std::vector<int64_t> rows(static_cast<size_t>(R));
  for (int64_t r = 0; r < R; ++r) rows[size_t(r)] = r;
  return head(x, rows);
}

}  // namespace tandem::model
