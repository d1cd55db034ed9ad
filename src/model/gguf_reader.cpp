// GGUF reading with bounds checks on every field (see gguf_reader.h).
#include "model/gguf_reader.h"

#include <cstring>
#include <limits>
#include <set>

#include "core/error.h"

namespace tandem::model {
namespace {

class Cursor {
 public:
  Cursor(const uint8_t* d, size_t n, const std::string& origin) : d_(d), n_(n), origin_(origin) {}
  [[noreturn]] void fail(const std::string& what) const {
    throw Error("gguf.read", cat(what, " at byte ", at_, " (", origin_, ")"));
  }
  void need(uint64_t k) const {
    if (k > n_ - at_) fail(cat("truncated: need ", k, " bytes, ", n_ - at_, " left"));
  }
  template <class T> T get() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, d_ + at_, sizeof(T));
    at_ += sizeof(T);
    return v;
  }
  std::string str() {
    const uint64_t len = get<uint64_t>();
    if (len > GgufReader::kMaxStringBytes) fail(cat("string of ", len, " bytes exceeds the limit"));
    need(len);
    std::string s(reinterpret_cast<const char*>(d_ + at_), size_t(len));
    at_ += len;
    return s;
  }
  size_t at() const { return at_; }

 private:
  const uint8_t* d_;
  size_t n_;
  size_t at_ = 0;
  const std::string& origin_;
};

size_t scalar_bytes(GgufType t) {
  switch (t) {
    case GgufType::kU8: case GgufType::kI8: case GgufType::kBool: return 1;
    case GgufType::kU16: case GgufType::kI16: return 2;
    case GgufType::kU32: case GgufType::kI32: case GgufType::kF32: return 4;
    case GgufType::kU64: case GgufType::kI64: case GgufType::kF64: return 8;
    default: return 0;
  }
}

// Reads one scalar of type t into v's i/u/f fields.
void read_scalar(Cursor& c, GgufType t, int64_t* i, uint64_t* u, double* f) {
  switch (t) {
    case GgufType::kU8: *i = c.get<uint8_t>(); break;
    case GgufType::kI8: *i = c.get<int8_t>(); break;
    case GgufType::kU16: *i = c.get<uint16_t>(); break;
    case GgufType::kI16: *i = c.get<int16_t>(); break;
    case GgufType::kU32: *i = c.get<uint32_t>(); break;
    case GgufType::kI32: *i = c.get<int32_t>(); break;
    case GgufType::kF32: *f = c.get<float>(); break;
    case GgufType::kBool: {
      const uint8_t b = c.get<uint8_t>();
      if (b > 1) c.fail(cat("bool value ", int(b)));
      *i = b;
      break;
    }
    case GgufType::kU64: *u = c.get<uint64_t>(); *i = int64_t(*u); break;
    case GgufType::kI64: *i = c.get<int64_t>(); break;
    case GgufType::kF64: *f = c.get<double>(); break;
    default: c.fail("not a scalar type");
  }
}

GgufType value_type(Cursor& c) {
  const uint32_t t = c.get<uint32_t>();
  if (t > uint32_t(GgufType::kF64)) c.fail(cat("unknown value type ", t));
  return GgufType(t);
}

GgufValue read_value(Cursor& c, GgufType t) {
  GgufValue v;
  v.type = t;
  if (t == GgufType::kString) {
    v.s = c.str();
  } else if (t == GgufType::kArray) {
    v.elem = value_type(c);
    if (v.elem == GgufType::kArray) c.fail("nested arrays are not supported");
    const uint64_t n = c.get<uint64_t>();
    if (n > GgufReader::kMaxArrayElems) c.fail(cat("array of ", n, " elements exceeds the limit"));
    // Each element takes at least one byte (a string at least 8), so a count the file cannot
    // hold is refused before anything is reserved.
    c.need(n * (v.elem == GgufType::kString ? 8 : scalar_bytes(v.elem)));
    for (uint64_t k = 0; k < n; ++k) {
      if (v.elem == GgufType::kString) {
        v.strs.push_back(c.str());
      } else {
        int64_t i = 0;
        uint64_t u = 0;
        double f = 0;
        read_scalar(c, v.elem, &i, &u, &f);
        if (v.elem == GgufType::kF32 || v.elem == GgufType::kF64) v.floats.push_back(f);
        else v.ints.push_back(i);
      }
    }
  } else {
    read_scalar(c, t, &v.i, &v.u, &v.f);
  }
  return v;
}

}  // namespace

int64_t GgufTensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : ne) n *= d;
  return n;
}

GgufReader::GgufReader(const std::string& path) : map_(std::make_unique<MappedFile>(path)), origin_(path) {
  data_ = map_->data();
  size_ = map_->size();
  parse();
}

GgufReader::GgufReader(const uint8_t* data, size_t size, std::string origin)
    : data_(data), size_(size), origin_(std::move(origin)) {
  parse();
}

void GgufReader::parse() {
  Cursor c(data_, size_, origin_);
  c.need(4);
  if (std::memcmp(data_, "GGUF", 4) != 0) c.fail("not a GGUF file: bad magic");
  c.get<uint32_t>();
  version_ = c.get<uint32_t>();
  if (version_ != kGgufVersion) c.fail(cat("version ", version_, ", expected ", kGgufVersion));
  const uint64_t n_tensors = c.get<uint64_t>(), n_kv = c.get<uint64_t>();
  if (n_tensors > kMaxCount || n_kv > kMaxCount) c.fail(cat("counts ", n_tensors, " tensors / ", n_kv, " keys exceed the limit"));
  std::set<std::string> keys;
  for (uint64_t k = 0; k < n_kv; ++k) {
    std::string key = c.str();
    if (!keys.insert(key).second) c.fail(cat("duplicate key '", key, "'"));
    GgufValue v = read_value(c, value_type(c));
    kv_.emplace_back(std::move(key), std::move(v));
  }
  if (const GgufValue* a = find("general.alignment")) {
    if (a->type != GgufType::kU32 || a->i == 0 || (a->i & (a->i - 1)) != 0)
      c.fail("general.alignment must be a u32 power of two");
    alignment_ = uint32_t(a->i);
  }
  std::set<std::string> names;
  for (uint64_t k = 0; k < n_tensors; ++k) {
    GgufTensorInfo t;
    t.name = c.str();
    if (!names.insert(t.name).second) c.fail(cat("duplicate tensor '", t.name, "'"));
    const uint32_t nd = c.get<uint32_t>();
    if (nd == 0 || nd > 4) c.fail(cat("tensor '", t.name, "' has ", nd, " dimensions, expected 1..4"));
    uint64_t n = 1;
    for (uint32_t d = 0; d < nd; ++d) {
      const uint64_t e = c.get<uint64_t>();
      if (e == 0 || e > uint64_t(std::numeric_limits<int64_t>::max()) / n)
        c.fail(cat("tensor '", t.name, "' has a bad dimension ", e));
      n *= e;
      t.ne.push_back(int64_t(e));
    }
    const uint32_t type = c.get<uint32_t>();
    if (!ggml_type_known(type)) c.fail(cat("tensor '", t.name, "' has ggml type ", type, ", which this reader does not know"));
    t.type = GgmlType(type);
    if (t.ne[0] % ggml_block_size(t.type) != 0) c.fail(cat("tensor '", t.name, "' row is not a whole number of blocks"));
    t.offset = c.get<uint64_t>();
    if (t.offset % alignment_ != 0) c.fail(cat("tensor '", t.name, "' offset ", t.offset, " is not aligned"));
    t.nbytes = ggml_nbytes(t.type, int64_t(n));
    tensors_.push_back(std::move(t));
  }
  data_offset_ = (c.at() + alignment_ - 1) / alignment_ * alignment_;
  for (const auto& t : tensors_) {
    if (data_offset_ > size_ || t.offset > size_ - data_offset_ || t.nbytes > size_ - data_offset_ - t.offset)
      throw Error("gguf.read", cat("tensor '", t.name, "' data [", t.offset, ", +", t.nbytes, ") lies outside the file (",
                                   origin_, ")"));
  }
}

const GgufValue* GgufReader::find(const std::string& key) const {
  for (const auto& kv : kv_)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

const GgufTensorInfo* GgufReader::find_tensor(const std::string& name) const {
  for (const auto& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

std::vector<float> GgufReader::read_f32(const GgufTensorInfo& t) const {
  std::vector<float> out(size_t(t.numel()));
  ggml_to_f32(t.type, data_ + data_offset_ + t.offset, t.numel(), out.data());
  return out;
}

}  // namespace tandem::model
