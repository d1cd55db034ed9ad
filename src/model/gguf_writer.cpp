// GGUF writing: serialises metadata and tensor infos into one header buffer, then streams each
// tensor's bytes from its producer, padding every piece to the alignment.
#include "model/gguf_writer.h"

#include <cstring>

#include "core/error.h"
#include "core/file.h"

namespace tandem::model {
namespace {

class Bytes {
 public:
  template <class T> void put(T v) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));  // this machine and GGUF are both little-endian
    buf_.append(b, sizeof(T));
  }
  void str(const std::string& s) {
    put<uint64_t>(s.size());
    buf_.append(s);
  }
  void pad_to(uint64_t alignment) {
    while (buf_.size() % alignment) buf_.push_back('\0');
  }
  std::string& data() { return buf_; }

 private:
  std::string buf_;
};

void put_scalar(Bytes& b, GgufType t, int64_t i, uint64_t u, double f) {
  switch (t) {
    case GgufType::kU8: b.put<uint8_t>(uint8_t(i)); break;
    case GgufType::kI8: b.put<int8_t>(int8_t(i)); break;
    case GgufType::kU16: b.put<uint16_t>(uint16_t(i)); break;
    case GgufType::kI16: b.put<int16_t>(int16_t(i)); break;
    case GgufType::kU32: b.put<uint32_t>(uint32_t(i)); break;
    case GgufType::kI32: b.put<int32_t>(int32_t(i)); break;
    case GgufType::kF32: b.put<float>(float(f)); break;
    case GgufType::kBool: b.put<uint8_t>(i ? 1 : 0); break;
    case GgufType::kU64: b.put<uint64_t>(u ? u : uint64_t(i)); break;
    case GgufType::kI64: b.put<int64_t>(i); break;
    case GgufType::kF64: b.put<double>(f); break;
    default: TD_ASSERT(false, "not a scalar type ", gguf_type_name(t));
  }
}

void put_value(Bytes& b, const std::string& key, const GgufValue& v) {
  b.put<uint32_t>(uint32_t(v.type));
  if (v.type == GgufType::kString) {
    b.str(v.s);
  } else if (v.type == GgufType::kArray) {
    if (v.elem == GgufType::kArray) throw Error(cat("gguf.write.", key), "nested arrays are not supported");
    b.put<uint32_t>(uint32_t(v.elem));
    b.put<uint64_t>(v.array_size());
    if (v.elem == GgufType::kString) {
      for (const auto& s : v.strs) b.str(s);
    } else if (v.elem == GgufType::kF32 || v.elem == GgufType::kF64) {
      for (double f : v.floats) put_scalar(b, v.elem, 0, 0, f);
    } else {
      for (int64_t i : v.ints) put_scalar(b, v.elem, i, 0, 0);
    }
  } else {
    put_scalar(b, v.type, v.i, v.u, v.f);
  }
}

}  // namespace

void GgufWriter::set(const std::string& key, GgufValue v) {
  if (key.empty()) throw Error("gguf.write", "empty metadata key");
  for (auto& kv : kv_)
    if (kv.first == key) {
      kv.second = std::move(v);
      return;
    }
  kv_.emplace_back(key, std::move(v));
}

const GgufValue* GgufWriter::get(const std::string& key) const {
  for (const auto& kv : kv_)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

void GgufWriter::add_tensor(const std::string& name, GgmlType type, std::vector<int64_t> ne, Producer produce) {
  const std::string where = cat("gguf.write.", name);
  if (name.empty() || name.size() > 63) throw Error(where, cat("tensor names are 1..63 bytes, got ", name.size()));
  if (ne.empty() || ne.size() > 4) throw Error(where, cat("expected 1..4 dimensions, got ", ne.size()));
  int64_t n = 1;
  for (int64_t d : ne) {
    if (d <= 0) throw Error(where, "dimensions must be positive");
    n *= d;
  }
  if (ne[0] % ggml_block_size(type) != 0)
    throw Error(where, cat(ggml_type_name(type), " needs the innermost dimension to be a multiple of ",
                           ggml_block_size(type), ", got ", ne[0]));
  for (const auto& t : tensors_)
    if (t.name == name) throw Error(where, "duplicate tensor name");
  tensors_.push_back({name, type, std::move(ne), ggml_nbytes(type, n), std::move(produce)});
}

uint64_t GgufWriter::write(const std::string& path) const {
  Bytes h;
  h.data().append("GGUF", 4);
  h.put<uint32_t>(kGgufVersion);
  h.put<uint64_t>(tensors_.size());
  h.put<uint64_t>(kv_.size());
  for (const auto& [key, v] : kv_) {
    h.str(key);
    put_value(h, key, v);
  }
  uint64_t offset = 0;
  for (const auto& t : tensors_) {
    h.str(t.name);
    h.put<uint32_t>(uint32_t(t.ne.size()));
    for (int64_t d : t.ne) h.put<uint64_t>(uint64_t(d));
    h.put<uint32_t>(uint32_t(t.type));
    h.put<uint64_t>(offset);
    offset += (t.nbytes + kGgufAlignment - 1) / kGgufAlignment * kGgufAlignment;
  }
  h.pad_to(kGgufAlignment);
  const uint64_t total = h.data().size() + offset;
  write_file_atomic(path, [&](int fd) {
    write_all(fd, h.data().data(), h.data().size(), path);
    std::vector<uint8_t> buf;
    static const char zeros[kGgufAlignment] = {};
    for (const auto& t : tensors_) {
      buf.assign(t.nbytes, 0);
      t.produce(buf.data());
      write_all(fd, buf.data(), buf.size(), path);
      const uint64_t pad = (kGgufAlignment - t.nbytes % kGgufAlignment) % kGgufAlignment;
      if (pad) write_all(fd, zeros, pad, path);
    }
  });
  return total;
}

}  // namespace tandem::model
