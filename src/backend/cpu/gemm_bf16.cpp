// bf16 GEMM on the CPU: bf16 x bf16 products accumulated in f32 into an f32 C, through oneDNN's
// matmul primitive (its brgemm avx512_core_bf16 kernels, about twice the f32 rate on this Zen 4),
// plus the rounding of f32 operands to bf16 and the question whether this CPU can do it at all.
// A matmul primitive costs 0.3-3 ms to build and a training step issues about a thousand GEMMs,
// so primitives are built once per shape and kept; the operands' bytes are bound per call.
// Not here: which GEMMs of the model run in bf16 (the caller decides by the operands it passes).
#include <dnnl.h>
#include <dnnl_debug.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "backend/cpu/kernels.h"
#include "core/error.h"
#include "tensor/dtype.h"

namespace tandem::cpu {

namespace {

void check(dnnl_status_t st, const char* what) { TD_ASSERT(st == dnnl_success, what, " failed: oneDNN status ", int(st)); }

struct Key {
  int64_t M, N, K, lda, ldb, ldc;
  bool ta, tb;
  float alpha, beta;
  bool operator==(const Key& o) const {
    return M == o.M && N == o.N && K == o.K && lda == o.lda && ldb == o.ldb && ldc == o.ldc && ta == o.ta &&
           tb == o.tb && std::memcmp(&alpha, &o.alpha, 4) == 0 && std::memcmp(&beta, &o.beta, 4) == 0;
  }
};
struct KeyHash {
  size_t operator()(const Key& k) const {
    uint32_t ab[2];
    std::memcpy(&ab[0], &k.alpha, 4);
    std::memcpy(&ab[1], &k.beta, 4);
    size_t h = 1469598103934665603ull;
    for (uint64_t v : {uint64_t(k.M), uint64_t(k.N), uint64_t(k.K), uint64_t(k.lda), uint64_t(k.ldb), uint64_t(k.ldc),
                       uint64_t(k.ta) << 1 | uint64_t(k.tb), uint64_t(ab[0]) << 32 | ab[1]})
      h = (h ^ v) * 1099511628211ull;
    return h;
  }
};

// One built matmul and the descriptions of its three operands.
struct Matmul {
  dnnl_primitive_t prim = nullptr;
  dnnl_memory_desc_t a, b, c;
  ~Matmul() {
    if (prim) dnnl_primitive_destroy(prim);
  }
};

class MatmulCache {
 public:
  MatmulCache() {
    check(dnnl_engine_create(&engine_, dnnl_cpu, 0), "dnnl_engine_create");
    check(dnnl_stream_create(&stream_, engine_, dnnl_stream_default_flags), "dnnl_stream_create");
  }
  // Shared, so a primitive evicted by another thread stays alive while this one runs it.
  std::shared_ptr<const Matmul> get(const Key& k) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(k);
    if (it != map_.end()) return it->second;
    // Shapes change with the batch (padded lengths); past this many, start over rather than grow.
    if (map_.size() >= 512) map_.clear();
    auto m = build(k);
    map_.emplace(k, m);
    return m;
  }
  dnnl_engine_t engine() const { return engine_; }
  dnnl_stream_t stream() const { return stream_; }

 private:
  std::shared_ptr<const Matmul> build(const Key& k) {
    auto m = std::make_shared<Matmul>();
    // Row-major operands as oneDNN strides: a transposed operand is the same bytes read column-wise.
    const dnnl_dims_t ad = {k.M, k.K}, as = {k.ta ? 1 : k.lda, k.ta ? k.lda : 1};
    const dnnl_dims_t bd = {k.K, k.N}, bs = {k.tb ? 1 : k.ldb, k.tb ? k.ldb : 1};
    const dnnl_dims_t cd = {k.M, k.N}, cs = {k.ldc, 1};
    check(dnnl_memory_desc_init_by_strides(&m->a, 2, ad, dnnl_bf16, as), "bf16 gemm: A desc");
    check(dnnl_memory_desc_init_by_strides(&m->b, 2, bd, dnnl_bf16, bs), "bf16 gemm: B desc");
    check(dnnl_memory_desc_init_by_strides(&m->c, 2, cd, dnnl_f32, cs), "bf16 gemm: C desc");
    dnnl_matmul_desc_t md;
    check(dnnl_matmul_desc_init(&md, &m->a, &m->b, nullptr, &m->c), "dnnl_matmul_desc_init");
    dnnl_primitive_attr_t attr;
    check(dnnl_primitive_attr_create(&attr), "dnnl_primitive_attr_create");
    if (k.alpha != 1.f) check(dnnl_primitive_attr_set_output_scales(attr, 1, 0, &k.alpha), "bf16 gemm: alpha");
    dnnl_post_ops_t po = nullptr;
    if (k.beta != 0.f) {  // C = alpha AB + beta C: oneDNN's sum post-op scales the old C by beta
      check(dnnl_post_ops_create(&po), "dnnl_post_ops_create");
      check(dnnl_post_ops_append_sum(po, k.beta), "bf16 gemm: beta");
      check(dnnl_primitive_attr_set_post_ops(attr, po), "bf16 gemm: post-ops");
    }
    dnnl_primitive_desc_t pd;
    const dnnl_status_t st = dnnl_primitive_desc_create(&pd, &md, attr, engine_, nullptr);
    if (po) dnnl_post_ops_destroy(po);
    dnnl_primitive_attr_destroy(attr);
    TD_ASSERT(st == dnnl_success, "oneDNN has no bf16 matmul for M=", k.M, " N=", k.N, " K=", k.K, " (status ", int(st),
              "); bf16_gemm_available() should have refused");
    check(dnnl_primitive_create(&m->prim, pd), "dnnl_primitive_create");
    dnnl_primitive_desc_destroy(pd);
    return m;
  }

  dnnl_engine_t engine_ = nullptr;
  dnnl_stream_t stream_ = nullptr;
  std::mutex mu_;
  std::unordered_map<Key, std::shared_ptr<const Matmul>, KeyHash> map_;
};

MatmulCache& cache() {
  static MatmulCache c;
  return c;
}

// Rounds rows x cols of src (leading dimension ld) into a dense bf16 buffer.
std::unique_ptr<uint16_t[]> rounded(const float* src, int64_t rows, int64_t cols, int64_t ld) {
  std::unique_ptr<uint16_t[]> out(new uint16_t[size_t(rows * cols)]);
  if (ld == cols) {
    round_to_bf16(src, out.get(), rows * cols);
  } else {
#pragma omp parallel for schedule(static) if (rows * cols >= kMinParallelElems)
    for (int64_t r = 0; r < rows; ++r) round_to_bf16_serial(src + r * ld, out.get() + r * cols, cols);
  }
  return out;
}

}  // namespace

bool bf16_gemm_available(std::string* why_not) {
  const dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
  const bool ok = (unsigned(isa) & unsigned(dnnl_cpu_isa_avx512_core_bf16)) == unsigned(dnnl_cpu_isa_avx512_core_bf16);
  if (!ok && why_not) {
    std::string name = dnnl_cpu_isa2str(isa);
    if (name.rfind("cpu_isa_", 0) == 0) name = name.substr(8);
    *why_not = cat("expected a CPU with AVX512_BF16 (oneDNN ISA avx512_core_bf16 or later), got oneDNN ISA '", name,
                   "' (ONEDNN_MAX_CPU_ISA can lower it)");
  }
  return ok;
}

// The scalar rounding, which GCC vectorises at -O3 (0.1 ns per element here, as fast as
// vcvtneps2bf16, and unlike that instruction it keeps denormals as PyTorch does).
void round_to_bf16_serial(const float* src, uint16_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = f32_to_bf16(src[i]);
}

void round_to_bf16(const float* src, uint16_t* dst, int64_t n) {
  constexpr int64_t kBlock = int64_t(1) << 14;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (n >= kMinParallelElems)
  for (int64_t b = 0; b < blocks; ++b) round_to_bf16_serial(src + b * kBlock, dst + b * kBlock, std::min(kBlock, n - b * kBlock));
}

void gemm_bf16(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const uint16_t* A, int64_t lda,
               const uint16_t* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  MatmulCache& mc = cache();
  const auto m = mc.get({M, N, K, lda, ldb, ldc, ta, tb, alpha, beta});
  dnnl_memory_t am, bm, cm;
  check(dnnl_memory_create(&am, &m->a, mc.engine(), const_cast<uint16_t*>(A)), "bf16 gemm: A memory");
  check(dnnl_memory_create(&bm, &m->b, mc.engine(), const_cast<uint16_t*>(B)), "bf16 gemm: B memory");
  check(dnnl_memory_create(&cm, &m->c, mc.engine(), C), "bf16 gemm: C memory");
  const dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}};
  const dnnl_status_t st = dnnl_primitive_execute(m->prim, mc.stream(), 3, args);
  dnnl_stream_wait(mc.stream());
  dnnl_memory_destroy(am);
  dnnl_memory_destroy(bm);
  dnnl_memory_destroy(cm);
  check(st, "bf16 gemm: execute");
}

void gemm_any(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, GemmOperand A, GemmOperand B, float beta,
              float* C, int64_t ldc) {
  if (A.f32 && B.f32) {
    sgemm(ta, tb, M, N, K, alpha, A.f32, A.ld, B.f32, B.ld, beta, C, ldc);
    return;
  }
  if (M == 0 || N == 0) return;
  if (K == 0) {  // C = beta * C, as sgemm does it
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0.f ? 0.f : beta * C[i * ldc + j];
    return;
  }
  // An f32 operand is rounded once per call, into a dense buffer (its leading dimension becomes its width).
  std::unique_ptr<uint16_t[]> ra, rb;
  const uint16_t* a = A.bf16;
  const uint16_t* b = B.bf16;
  int64_t lda = A.ld, ldb = B.ld;
  if (!a) {
    const int64_t rows = ta ? K : M, cols = ta ? M : K;
    ra = rounded(A.f32, rows, cols, A.ld), a = ra.get(), lda = cols;
  }
  if (!b) {
    const int64_t rows = tb ? N : K, cols = tb ? K : N;
    rb = rounded(B.f32, rows, cols, B.ld), b = rb.get(), ldb = cols;
  }
  gemm_bf16(ta, tb, M, N, K, alpha, a, lda, b, ldb, beta, C, ldc);
}

}  // namespace tandem::cpu
