// GGUF type names, sizes, metadata value constructors and the F32 <-> F16/BF16/Q8_0 conversions.
#include "model/gguf.h"

#include <cmath>
#include <cstring>

#include "core/error.h"
#include "tensor/dtype.h"

namespace tandem::model {

const char* gguf_type_name(GgufType t) {
  switch (t) {
    case GgufType::kU8: return "u8";
    case GgufType::kI8: return "i8";
    case GgufType::kU16: return "u16";
    case GgufType::kI16: return "i16";
    case GgufType::kU32: return "u32";
    case GgufType::kI32: return "i32";
    case GgufType::kF32: return "f32";
    case GgufType::kBool: return "bool";
    case GgufType::kString: return "string";
    case GgufType::kArray: return "array";
    case GgufType::kU64: return "u64";
    case GgufType::kI64: return "i64";
    case GgufType::kF64: return "f64";
  }
  return "?";
}

const char* ggml_type_name(GgmlType t) {
  switch (t) {
    case GgmlType::kF32: return "f32";
    case GgmlType::kF16: return "f16";
    case GgmlType::kQ8_0: return "q8_0";
    case GgmlType::kBF16: return "bf16";
  }
  return "?";
}

bool ggml_type_known(uint32_t t) { return t == 0 || t == 1 || t == 8 || t == 30; }

int64_t ggml_block_size(GgmlType t) { return t == GgmlType::kQ8_0 ? kQ8Block : 1; }

int64_t ggml_block_bytes(GgmlType t) {
  switch (t) {
    case GgmlType::kF32: return 4;
    case GgmlType::kF16:
    case GgmlType::kBF16: return 2;
    case GgmlType::kQ8_0: return 2 + kQ8Block;
  }
  return 0;
}

uint64_t ggml_nbytes(GgmlType t, int64_t n) { return uint64_t(n / ggml_block_size(t)) * uint64_t(ggml_block_bytes(t)); }

GgufValue GgufValue::u32(uint32_t v) { GgufValue x; x.type = GgufType::kU32; x.i = v; return x; }
GgufValue GgufValue::i32(int32_t v) { GgufValue x; x.type = GgufType::kI32; x.i = v; return x; }
GgufValue GgufValue::u64(uint64_t v) { GgufValue x; x.type = GgufType::kU64; x.u = v; x.i = int64_t(v); return x; }
GgufValue GgufValue::f32(float v) { GgufValue x; x.type = GgufType::kF32; x.f = v; return x; }
GgufValue GgufValue::boolean(bool v) { GgufValue x; x.type = GgufType::kBool; x.i = v ? 1 : 0; return x; }
GgufValue GgufValue::string(std::string v) { GgufValue x; x.type = GgufType::kString; x.s = std::move(v); return x; }
GgufValue GgufValue::string_array(std::vector<std::string> v) {
  GgufValue x; x.type = GgufType::kArray; x.elem = GgufType::kString; x.strs = std::move(v); return x;
}
GgufValue GgufValue::i32_array(std::vector<int64_t> v) {
  GgufValue x; x.type = GgufType::kArray; x.elem = GgufType::kI32; x.ints = std::move(v); return x;
}
GgufValue GgufValue::u32_array(std::vector<int64_t> v) {
  GgufValue x; x.type = GgufType::kArray; x.elem = GgufType::kU32; x.ints = std::move(v); return x;
}
GgufValue GgufValue::f32_array(std::vector<double> v) {
  GgufValue x; x.type = GgufType::kArray; x.elem = GgufType::kF32; x.floats = std::move(v); return x;
}

size_t GgufValue::array_size() const {
  if (!is_array()) return 0;
  if (elem == GgufType::kString) return strs.size();
  if (elem == GgufType::kF32 || elem == GgufType::kF64) return floats.size();
  return ints.size();
}

bool GgufValue::operator==(const GgufValue& o) const {
  if (type != o.type) return false;
  switch (type) {
    case GgufType::kString: return s == o.s;
    case GgufType::kF32:
    case GgufType::kF64: return f == o.f;
    case GgufType::kU64: return u == o.u;
    case GgufType::kArray: return elem == o.elem && strs == o.strs && ints == o.ints && floats == o.floats;
    default: return i == o.i;
  }
}

namespace {

void quantize_q8_0(const float* x, int64_t n, uint8_t* out) {
  for (int64_t b = 0; b < n / kQ8Block; ++b) {
    const float* xb = x + b * kQ8Block;
    float amax = 0.f;
    for (int64_t j = 0; j < kQ8Block; ++j) amax = std::max(amax, std::fabs(xb[j]));
    const float d = amax / 127.f;
    const float id = d != 0.f ? 1.f / d : 0.f;
    uint8_t* ob = out + b * (2 + kQ8Block);
    const uint16_t dh = f32_to_f16(d);
    std::memcpy(ob, &dh, 2);
    for (int64_t j = 0; j < kQ8Block; ++j) {
      const int8_t q = int8_t(std::lround(xb[j] * id));  // |x * id| <= 127 by construction
      std::memcpy(ob + 2 + j, &q, 1);
    }
  }
}

}  // namespace

void f32_to_ggml(GgmlType t, const float* x, int64_t n, uint8_t* out) {
  switch (t) {
    case GgmlType::kF32: std::memcpy(out, x, size_t(n) * 4); return;
    case GgmlType::kF16:
      for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = f32_to_f16(x[i]);
        std::memcpy(out + 2 * i, &h, 2);
      }
      return;
    case GgmlType::kBF16:
      for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = f32_to_bf16(x[i]);
        std::memcpy(out + 2 * i, &h, 2);
      }
      return;
    case GgmlType::kQ8_0:
      TD_ASSERT(n % kQ8Block == 0, "q8_0 row of ", n, " elements");
      quantize_q8_0(x, n, out);
      return;
  }
}

void ggml_to_f32(GgmlType t, const uint8_t* in, int64_t n, float* out) {
  switch (t) {
    case GgmlType::kF32: std::memcpy(out, in, size_t(n) * 4); return;
    case GgmlType::kF16:
    case GgmlType::kBF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, in + 2 * i, 2);
        out[i] = t == GgmlType::kF16 ? f16_to_f32(h) : bf16_to_f32(h);
      }
      return;
    case GgmlType::kQ8_0:
      TD_ASSERT(n % kQ8Block == 0, "q8_0 row of ", n, " elements");
      for (int64_t b = 0; b < n / kQ8Block; ++b) {
        const uint8_t* ib = in + b * (2 + kQ8Block);
        uint16_t dh;
        std::memcpy(&dh, ib, 2);
        const float d = f16_to_f32(dh);
        for (int64_t j = 0; j < kQ8Block; ++j) out[b * kQ8Block + j] = d * float(int8_t(ib[2 + j]));
      }
      return;
  }
}

}  // namespace tandem::model
