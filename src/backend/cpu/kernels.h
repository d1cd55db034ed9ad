// CPU kernels on raw pointers: fp32 in/out/accumulate (GEMM operands may be bf16, products then
// bf16 x bf16 accumulated in fp32), OpenMP across rows, SIMD within rows
// (compiled with -march=native). cpu_ops.cpp validates shapes and calls these; nothing here throws.
// Shapes as in tensor/ops.h: N tokens, C hidden, H/K query/kv heads, D head dim, I MLP width, V vocab.
#pragma once
#include <cstdint>
#include <string>

#include "tensor/ops.h"

namespace tandem::cpu {

// Below this many elements an elementwise kernel runs on the calling thread: waking the team
// costs more than the work, and far more when another process holds the other core.
constexpr int64_t kMinParallelElems = int64_t(1) << 16;

// Row-major GEMM: C[M,N] = alpha * op(A) op(B) + beta * C. oneDNN by default; OpenBLAS when
// TANDEM_DEBUG_GEMM=openblas (for benchmarking the two). Called inside an OpenMP region it runs
// on the calling thread only.
void sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
// A GEMM operand in f32 or bf16 (exactly one pointer set), row-major with leading dimension ld.
struct GemmOperand {
  const float* f32 = nullptr;
  const uint16_t* bf16 = nullptr;
  int64_t ld = 0;
  GemmOperand rows_from(int64_t r) const { return {f32 ? f32 + r * ld : nullptr, bf16 ? bf16 + r * ld : nullptr, ld}; }
};
// C[M,N] = alpha * op(A) op(B) + beta * C (f32 C): sgemm when both operands are f32, else bf16 x bf16
// products with f32 accumulation (gemm_bf16), an f32 operand rounded to bf16 first, per call.
void gemm_any(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, GemmOperand A, GemmOperand B, float beta,
              float* C, int64_t ldc);
// The bf16 GEMM itself (gemm_bf16.cpp, oneDNN matmul). Only where bf16_gemm_available().
void gemm_bf16(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const uint16_t* A, int64_t lda,
               const uint16_t* B, int64_t ldb, float beta, float* C, int64_t ldc);
// Whether this CPU (as oneDNN sees it) runs bf16 GEMMs natively (AVX512_BF16); when not, why_not says so.
bool bf16_gemm_available(std::string* why_not);
// f32 -> bf16, round to nearest even (f32_to_bf16); the first splits n over threads.
void round_to_bf16(const float* src, uint16_t* dst, int64_t n);
void round_to_bf16_serial(const float* src, uint16_t* dst, int64_t n);

// sgemm's path for A B^T with M <= kSmallGemmM (gemm_small.cpp): B read once in place, threads
// over N. False when the CPU lacks AVX2/FMA (the caller then uses oneDNN). 128: on the SmolLM2
// decode GEMMs, weights streamed (bench/kernels/gemm_small_bench.cpp), it beats oneDNN up to
// M = 128 (1.2-2.6x) and is level with it at 256.
constexpr int64_t kSmallGemmM = 128;
bool sgemm_small_nt(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const float* B,
                    int64_t ldb, float beta, float* C, int64_t ldc);

void rmsnorm_forward(const float* x, const float* w, float* y, float* rstd, int64_t R, int64_t C, float eps);
void rmsnorm_backward(const float* dy, const float* x, const float* w, const float* rstd, float* dx, float* dw,
                      int64_t R, int64_t C);

struct QkvShape {
  int64_t N, H, K, D;
};
void qkv_prep_forward(const float* qkv, const int32_t* pos, const float* cos, const float* sin, const float* q_norm,
                      const float* k_norm, float eps, QkvShape s, float* q, float* k, float* v);
void qkv_prep_backward(const float* qkv, const int32_t* pos, const float* cos, const float* sin, const float* q_norm,
                       const float* k_norm, float eps, QkvShape s, const float* dq, const float* dk, const float* dv,
                       float* dqkv, float* dq_norm, float* dk_norm);

struct AttnShape {
  int64_t N, H, K, D;
  int64_t window;  // 0 = none
  float scale;
};
void attention_forward(const float* q, const float* k, const float* v, const AttnLayout& layout, AttnShape s,
                       float* out, float* lse);
void attention_backward(const float* q, const float* k, const float* v, const float* out, const float* lse,
                        const float* dout, const AttnLayout& layout, AttnShape s, float* dq, float* dk, float* dv);

// KV cache of generation, per layer: keys [S, K, D, M] (transposed: a row of positions per slot,
// kv head and dimension), values [S, K, M, D]; write rows, and attend one query per row.
struct CacheShape {
  int64_t S, M, H, K, D;
};
void kv_cache_write(const float* k, const float* v, const int32_t* slots, const int32_t* positions, int64_t R,
                    CacheShape s, float* k_cache, float* v_cache);
void attention_decode(const float* q, const float* k_cache, const float* v_cache, const int32_t* slots,
                      const int32_t* lengths, int64_t R, CacheShape s, int64_t window, float scale, float* out);

void swiglu_forward(const float* gate_up, float* out, int64_t N, int64_t I);
void swiglu_backward(const float* gate_up, const float* dout, float* dgate_up, int64_t N, int64_t I);

// The LM head's weight w [V, C] may be bf16: then its three GEMMs run in bf16 (h and the logits'
// gradient rounded per chunk) while the log-softmax, entropy and every sum stay f32.
void logprob_forward(const float* h, GemmOperand w, const int32_t* targets, int64_t N, int64_t C, int64_t V,
                     float* logp, float* lse, float* entropy);
void logprob_backward(const float* h, GemmOperand w, const int32_t* targets, const float* lse,
                      const float* entropy, const float* dlogp, const float* dentropy, int64_t N, int64_t C,
                      int64_t V, float* dh, float* dw);
void logprob_fused(const float* h, GemmOperand w, const int32_t* targets, const float* dlogp, const float* dentropy,
                   int64_t N, int64_t C, int64_t V, float* logp, float* entropy, float* dh, float* dw);

}  // namespace tandem::cpu
