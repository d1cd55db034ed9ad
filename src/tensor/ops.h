// The op table: every computation the model needs, as one interface a backend implements.
// Model code gets the table from backend/registry.h's ops_for(device) and never includes a
// kernel header, so a CUDA backend is an
// added implementation of this class, not a change to the model. Float tensors are F32 row-major
// except where an op says otherwise (gemm's operands and the LM head's weight may be BF16);
// index tensors are I32. Shapes use N = tokens (B*T flattened), C = hidden, V = vocab,
// H = query heads, K = key/value heads, D = head dim, I = MLP width.
// Entry points validate shapes (Error for user-reachable mistakes, TD_ASSERT for internal ones);
// kernels assume valid input.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace tandem {

// Which keys each query may see. Rows are independent; within a row, tokens form contiguous
// segments (documents of a packed row, or one document plus padding).
struct AttnLayout {
  int64_t B = 0, T = 0;
  // [B*T]: index within its row of the first token of the token's segment, -1 for padding.
  std::vector<int32_t> seg_start;
};

// RoPE angles for positions [0, P): cos/sin [P, D/2], already multiplied by any attention factor
// (yarn). Rotation is HF's rotate_half convention: pairs (i, i + D/2).
struct RopeTable {
  Tensor cos, sin;  // [P, D/2]
  int64_t head_dim = 0;
};

class Ops {
 public:
  virtual ~Ops() = default;

  virtual void fill(Tensor& t, float value) const = 0;
  // dst = src elementwise with dtype conversion (F32/BF16/F16/F64 both ways); same numel.
  virtual void convert(const Tensor& src, Tensor& dst) const = 0;
  virtual void axpy(float alpha, const Tensor& x, Tensor& y) const = 0;  // y += alpha * x
  virtual void scale(Tensor& y, float alpha) const = 0;                  // y *= alpha
  virtual double sum_squares(const Tensor& x) const = 0;

  // Whether gemm() and the LM-head ops accept BF16 operands on this device at full speed (on the
  // CPU: AVX512_BF16); when not, why_not (if given) gets a sentence saying what is missing.
  virtual bool bf16_gemm_available(std::string* why_not) const = 0;
  // c = alpha * op(a) @ op(b) + beta * c, all 2-D; op transposes when the flag is set. c is F32;
  // a and b are F32 or BF16. When either is BF16 the products are bf16 x bf16 accumulated in f32
  // (an F32 operand is rounded to bf16 first, per call): bf16 compute with f32 results. Only where
  // bf16_gemm_available().
  virtual void gemm(bool trans_a, bool trans_b, float alpha, const Tensor& a, const Tensor& b, float beta,
                    Tensor& c) const = 0;
  virtual void bias_forward(Tensor& y, const Tensor& bias) const = 0;        // y [N, O] += bias [O]
  virtual void bias_backward(const Tensor& dy, Tensor& dbias) const = 0;     // dbias [O] += sum_n dy

  virtual void embedding_forward(const Tensor& ids, const Tensor& table, Tensor& out) const = 0;   // ids [N], table [V, C]
  virtual void embedding_backward(const Tensor& ids, const Tensor& dout, Tensor& dtable) const = 0;  // dtable +=

  // y = w * x / sqrt(mean(x^2) + eps) per row; rstd [R] saved for backward. x, y [R, C].
  virtual void rmsnorm_forward(const Tensor& x, const Tensor& w, float eps, Tensor& y, Tensor& rstd) const = 0;
  // dx = (overwritten); dw += .
  virtual void rmsnorm_backward(const Tensor& dy, const Tensor& x, const Tensor& w, const Tensor& rstd, Tensor& dx,
                                Tensor& dw) const = 0;

  // Splits fused qkv [N, (H+2K)*D] into q [N, H*D], k [N, K*D], v [N, K*D], applying the optional
  // per-head RMSNorm of q and k (Qwen3; q_norm/k_norm [D], undefined tensors to skip) then RoPE.
  virtual void qkv_prep_forward(const Tensor& qkv, const Tensor& positions, const RopeTable& rope,
                                const Tensor& q_norm, const Tensor& k_norm, float eps, int64_t H, int64_t K,
                                Tensor& q, Tensor& k, Tensor& v) const = 0;
  // dqkv = (overwritten); dq_norm, dk_norm += . Recomputes the norms from qkv.
  virtual void qkv_prep_backward(const Tensor& qkv, const Tensor& positions, const RopeTable& rope,
                                 const Tensor& q_norm, const Tensor& k_norm, float eps, int64_t H, int64_t K,
                                 const Tensor& dq, const Tensor& dk, const Tensor& dv, Tensor& dqkv,
                                 Tensor& dq_norm, Tensor& dk_norm) const = 0;

  // Causal attention within segments, optional sliding window (window > 0: key j visible to query
  // i iff i - j < window). q [N, H*D], k/v [N, K*D], out [N, H*D], lse [H, N] (log-sum-exp of the
  // scaled scores, kept for backward). Padding rows give zeros.
  virtual void attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, const AttnLayout& layout,
                                 int64_t window, float scale, Tensor& out, Tensor& lse) const = 0;
  // dq, dk, dv = (overwritten).
  virtual void attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                                  const Tensor& lse, const Tensor& dout, const AttnLayout& layout, int64_t window,
                                  float scale, Tensor& dq, Tensor& dk, Tensor& dv) const = 0;

  // Generation's KV cache, head-major: v_cache [S, K, M, D] (S slots of M positions, K kv heads),
  // k_cache transposed to [S, K, D, M] (keys post-RoPE; decode's scores read runs of positions).
  // Writes row r of k, v [R, K*D] at position positions[r] of slot slots[r] (both I32 [R]).
  virtual void kv_cache_write(const Tensor& k, const Tensor& v, const Tensor& slots, const Tensor& positions,
                              Tensor& k_cache, Tensor& v_cache) const = 0;
  // One new query per row against its slot's cached keys: row r's query q [R, H, D] sits at position
  // lengths[r] - 1 of slot slots[r] (its own key already written) and sees positions
  // [lo, lengths[r]), lo = max(0, lengths[r] - window) when window > 0, else 0: the same rule as
  // attention_forward (GQA: query head h reads kv head h / (H/K)). out [R, H, D].
  virtual void attention_decode(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache, const Tensor& slots,
                                const Tensor& lengths, int64_t window, float scale, Tensor& out) const = 0;

  // out [N, I] = silu(gate) * up where gate_up [N, 2I] = [gate | up].
  virtual void swiglu_forward(const Tensor& gate_up, Tensor& out) const = 0;
  virtual void swiglu_backward(const Tensor& gate_up, const Tensor& dout, Tensor& dgate_up) const = 0;  // overwritten

  // Fused LM head + log-softmax, chunked over tokens and vocabulary so no [N, V] tensor exists.
  // w may be BF16 (then the head's GEMMs run in bf16 as gemm() does; log-softmax, entropy and
  // every reduction stay F32). h [N, C], w [V, C], targets [N] (I32, -1 = no target: outputs 0). logp, lse [N]; entropy [N]
  // when defined (the full next-token distribution's entropy).
  virtual void logprob_forward(const Tensor& h, const Tensor& w, const Tensor& targets, Tensor& logp, Tensor& lse,
                               Tensor& entropy) const = 0;
  // Given dJ/dlogp and dJ/dentropy per row (either may be undefined = zero): dh = (overwritten),
  // dw += (skipped when dw is undefined: a frozen head, as under LoRA). Needs lse and, when dentropy is used, entropy from the forward.
  virtual void logprob_backward(const Tensor& h, const Tensor& w, const Tensor& targets, const Tensor& lse,
                                const Tensor& entropy, const Tensor& dlogp, const Tensor& dentropy, Tensor& dh,
                                Tensor& dw) const = 0;
  // Forward and backward in one pass, for when dJ/dlogp (and dJ/dentropy) are known before the
  // forward (SFT: constant weights): each logits chunk is computed once instead of twice.
  // Outputs logp, entropy (when defined) and dh = (overwritten); dw += (skipped when undefined).
  virtual void logprob_fused(const Tensor& h, const Tensor& w, const Tensor& targets, const Tensor& dlogp,
                             const Tensor& dentropy, Tensor& logp, Tensor& entropy, Tensor& dh, Tensor& dw) const = 0;
};

}  // namespace tandem
