#include "model/safetensors.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "core/json.h"

namespace tandem::model {

// Any one dimension (a limit of its own: see the shape check).
constexpr uint64_t kMaxDimSize = uint64_t(1) << 48;

namespace {
const char* kWhere = "model.safetensors";
}

SafetensorsFile::SafetensorsFile(const std::string& path) : map_(std::make_shared<MappedFile>(path)) {
  const size_t size = map_->size();
  if (size < 8)
    throw Error(kWhere, cat("'", path, "' is ", size, " bytes, too short for a safetensors header (8-byte length)"));
  uint64_t n = 0;
  std::memcpy(&n, map_->data(), 8);  // little-endian on every supported host
  if (n > kMaxHeaderBytes)
    throw Error(kWhere, cat("'", path, "' declares a ", n, "-byte header, more than the ", kMaxHeaderBytes,
                            "-byte limit (corrupt or not a safetensors file?)"));
  if (n > size - 8)
    throw Error(kWhere, cat("'", path, "' declares a ", n, "-byte header but the file has only ", size - 8,
                            " bytes after the length (truncated?)"));
  data_offset_ = 8 + size_t(n);
  const std::string text(reinterpret_cast<const char*>(map_->data()) + 8, size_t(n));
  Json h = parse_json(text, path + " (header)", kWhere);
  if (!h.is_object()) throw Error(kWhere, cat("header of '", path, "' is not a JSON object"));
  const size_t data_size = size - data_offset_;
  for (auto it = h.begin(); it != h.end(); ++it) {
    const std::string& name = it.key();
    const std::string w = cat(kWhere, ".", name);
    if (name == "__metadata__") {
      if (!it->is_object()) throw Error(w, cat("expected an object of strings (", path, ")"));
      for (auto m = it->begin(); m != it->end(); ++m)
        if (m->is_string()) metadata_[m.key()] = m->get<std::string>();
      continue;
    }
    const Json& e = *it;
    SafetensorsEntry ent;
    ent.name = name;
    const std::string dt = json_string(e, "dtype", w, path);
    if (!dtype_from_name(dt, &ent.dtype) || ent.dtype == DType::kU8)
      throw Error(w + ".dtype", cat("unsupported dtype '", dt, "', expected F32, BF16, F16, F64, I32 or I64 (", path, ")"));
    const Json& shp = json_field(e, "shape", w, path);
    if (!shp.is_array() || shp.size() > size_t(kMaxDims))
      throw Error(w + ".shape", cat("expected a list of at most ", kMaxDims, " dimensions (", path, ")"));
    uint64_t numel = 1;
    for (const Json& d : shp) {
      if (!d.is_number_unsigned() && !(d.is_number_integer() && d.get<int64_t>() >= 0))
        throw Error(w + ".shape", cat("dimensions must be non-negative integers, got ", shp.dump(), " (", path, ")"));
      const uint64_t v = d.get<uint64_t>();
      // Checked on its own: after a 0 dimension the product check below passes any value, and a
      // dimension past INT64_MAX would turn negative in Shape.
      if (v > kMaxDimSize)
        throw Error(w + ".shape", cat("dimension ", v, " exceeds the limit of ", kMaxDimSize, " (", path, ")"));
      if (v != 0 && numel > std::numeric_limits<uint64_t>::max() / 16 / v)
        throw Error(w + ".shape", cat("element count overflows: ", shp.dump(), " (", path, ")"));
      numel *= v;
      ent.shape.push_back(int64_t(v));
    }
    const Json& off = json_field(e, "data_offsets", w, path);
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      throw Error(w + ".data_offsets", cat("expected [begin, end] with non-negative integers, got ", off.dump(), " (", path, ")"));
    ent.begin = off[0].get<uint64_t>();
    ent.end = off[1].get<uint64_t>();
    if (ent.begin > ent.end || ent.end > data_size)
      throw Error(w + ".data_offsets",
                  cat("[", ent.begin, ", ", ent.end, "] lies outside the data section of ", data_size, " bytes (", path,
                      "; truncated file?)"));
    const uint64_t want = numel * dtype_size(ent.dtype);
    if (ent.end - ent.begin != want)
      throw Error(w + ".data_offsets", cat("span of ", ent.end - ent.begin, " bytes, expected ", want, " for ", dt, " ",
                                           shape_str(ent.shape), " (", path, ")"));
    index_[name] = entries_.size();
    entries_.push_back(std::move(ent));
  }
  std::vector<const SafetensorsEntry*> by_offset;
  for (const auto& e : entries_) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(), [](auto a, auto b) { return a->begin < b->begin; });
  for (size_t i = 1; i < by_offset.size(); ++i)
    if (by_offset[i]->begin < by_offset[i - 1]->end)
      throw Error(cat(kWhere, ".", by_offset[i]->name, ".data_offsets"),
                  cat("overlaps tensor '", by_offset[i - 1]->name, "' (", path, ")"));
}

const SafetensorsEntry* SafetensorsFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

Tensor SafetensorsFile::view(const SafetensorsEntry& e) const {
  void* p = const_cast<uint8_t*>(map_->data()) + data_offset_ + e.begin;
  return Tensor::borrow(p, e.shape, e.dtype, cpu_device(), map_);
}

void write_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  Json h = Json::object();
  if (!metadata.empty()) h["__metadata__"] = metadata;
  size_t off = 0;
  for (const auto& t : tensors) {
    const size_t nb = size_t(t.tensor.numel()) * dtype_size(t.out_dtype);
    h[t.name] = {{"dtype", dtype_name(t.out_dtype)}, {"shape", t.tensor.shape()}, {"data_offsets", {off, off + nb}}};
    off += nb;
  }
  std::string header = h.dump();
  header.append((8 - header.size() % 8) % 8, ' ');  // keeps the data section 8-byte aligned
  write_file_atomic(path, [&](int fd) {
    const uint64_t n = header.size();
    write_all(fd, &n, 8, path);
    write_all(fd, header.data(), header.size(), path);
    std::vector<uint8_t> buf;
    for (const auto& t : tensors) {
      TD_ASSERT(t.tensor.dtype() == DType::kF32 || t.tensor.dtype() == t.out_dtype, "write_safetensors source dtype");
      if (t.tensor.dtype() == t.out_dtype) {
        write_all(fd, t.tensor.raw(), t.tensor.nbytes(), path);
        continue;
      }
      const int64_t n_el = t.tensor.numel();
      const float* s = t.tensor.f32();
      buf.resize(size_t(n_el) * dtype_size(t.out_dtype));
      for (int64_t i = 0; i < n_el; ++i) {
        switch (t.out_dtype) {
          case DType::kBF16: { const uint16_t v = f32_to_bf16(s[i]); std::memcpy(&buf[2 * i], &v, 2); break; }
          case DType::kF16: { const uint16_t v = f32_to_f16(s[i]); std::memcpy(&buf[2 * i], &v, 2); break; }
          case DType::kF64: { const double v = s[i]; std::memcpy(&buf[8 * i], &v, 8); break; }
          default: TD_ASSERT(false, "write_safetensors: unsupported out dtype ", dtype_name(t.out_dtype));
        }
      }
      write_all(fd, buf.data(), buf.size(), path);
    }
  });
}

}  // namespace tandem::model
