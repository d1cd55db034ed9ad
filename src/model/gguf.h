// The vocabulary of the GGUF file format (version 3, little-endian), shared by the writer and the
// reader: metadata value types, the ggml tensor types Tandem writes, one metadata value, and the
// conversions of F32 rows into those tensor types (F16, BF16, Q8_0).
// Layout of a file: "GGUF", u32 version, u64 tensor count, u64 metadata count, the metadata
// (string key, u32 type, value), the tensor infos (string name, u32 n_dims, u64 ne[n_dims]
// innermost first, u32 ggml type, u64 offset into the data section), padding to the alignment,
// then the data, each tensor starting at a multiple of the alignment. Strings are u64 length +
// bytes (no terminator); arrays are u32 element type + u64 count + elements; bool is one byte.
// Not here: which keys and tensor names llama.cpp expects (gguf_export.h), file I/O (gguf_writer.h,
// gguf_reader.h).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tandem::model {

enum class GgufType : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7,
  kString = 8, kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12,
};
const char* gguf_type_name(GgufType t);

// The ggml tensor types written here (the numbers are ggml's enum values).
enum class GgmlType : uint32_t { kF32 = 0, kF16 = 1, kQ8_0 = 8, kBF16 = 30 };
const char* ggml_type_name(GgmlType t);
bool ggml_type_known(uint32_t t);
// Elements per block and bytes per block: Q8_0 packs 32 values as an f16 scale + 32 int8.
int64_t ggml_block_size(GgmlType t);
int64_t ggml_block_bytes(GgmlType t);
// Bytes of a tensor with ne[0] elements in its innermost dimension and n elements in all;
// ne0 must be a multiple of the block size (checked by the callers).
uint64_t ggml_nbytes(GgmlType t, int64_t n);

constexpr uint32_t kGgufVersion = 3;
constexpr uint32_t kGgufAlignment = 32;
constexpr int64_t kQ8Block = 32;

// One metadata value. Scalars use i (integers, bool) or f (floats) or s (string); arrays hold
// their elements in strs, ints or floats according to elem.
struct GgufValue {
  GgufType type = GgufType::kU32;
  GgufType elem = GgufType::kU32;  // arrays only
  int64_t i = 0;
  uint64_t u = 0;  // u64 values that do not fit i
  double f = 0;
  std::string s;
  std::vector<std::string> strs;
  std::vector<int64_t> ints;
  std::vector<double> floats;

  static GgufValue u32(uint32_t v);
  static GgufValue i32(int32_t v);
  static GgufValue u64(uint64_t v);
  static GgufValue f32(float v);
  static GgufValue boolean(bool v);
  static GgufValue string(std::string v);
  static GgufValue string_array(std::vector<std::string> v);
  static GgufValue i32_array(std::vector<int64_t> v);
  static GgufValue u32_array(std::vector<int64_t> v);
  static GgufValue f32_array(std::vector<double> v);

  bool is_array() const { return type == GgufType::kArray; }
  size_t array_size() const;
  bool operator==(const GgufValue& o) const;
};

// Row conversions from F32 into a tensor type. n elements; for Q8_0, n is a multiple of 32.
// Q8_0 per block: d = max|x| / 127 stored as f16, q = round(x / d) (0 when the block is all 0),
// as ggml's reference quantiser does.
void f32_to_ggml(GgmlType t, const float* x, int64_t n, uint8_t* out);
// The inverse (Q8_0: d * q), for tests and for reading files back.
void ggml_to_f32(GgmlType t, const uint8_t* in, int64_t n, float* out);

}  // namespace tandem::model
