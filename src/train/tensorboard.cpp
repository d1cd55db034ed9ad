#include "train/tensorboard.h"

#include <unistd.h>

#include <chrono>
#include <cstring>

#include "core/error.h"
#include "core/file.h"

namespace tandem::train {

namespace {

// Reflected CRC-32C (Castagnoli, polynomial 0x82F63B78), table-driven.
struct Crc32cTable {
  uint32_t t[256];
  Crc32cTable() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      t[i] = c;
    }
  }
};

// Protobuf wire encoding, just what Event/Summary/Value need.
void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(char(uint8_t(v) | 0x80));
    v >>= 7;
  }
  out.push_back(char(v));
}
void put_tag(std::string& out, int field, int wire) { put_varint(out, uint64_t(field) << 3 | uint64_t(wire)); }
void put_bytes(std::string& out, int field, const std::string& b) {
  put_tag(out, field, 2);
  put_varint(out, b.size());
  out += b;
}
void put_fixed64(std::string& out, int field, double v) {
  put_tag(out, field, 1);
  char b[8];
  std::memcpy(b, &v, 8);
  out.append(b, 8);
}
void put_fixed32(std::string& out, int field, float v) {
  put_tag(out, field, 5);
  char b[4];
  std::memcpy(b, &v, 4);
  out.append(b, 4);
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

uint32_t crc32c(const void* data, size_t n) {
  static const Crc32cTable table;
  const auto* p = static_cast<const uint8_t*>(data);
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) c = table.t[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

uint32_t masked_crc32c(const void* data, size_t n) {
  const uint32_t c = crc32c(data, n);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

TensorBoardWriter::TensorBoardWriter(const std::string& dir) {
  make_directories(dir);
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  path_ = join_path(dir, cat("events.out.tfevents.", int64_t(now_seconds()), ".", host, ".", getpid()));
  f_ = std::fopen(path_.c_str(), "wb");
  if (!f_) throw Error("train.tensorboard", cat("cannot create '", path_, "'"));
  std::string ev;
  put_fixed64(ev, 1, now_seconds());
  put_bytes(ev, 3, "brain.Event:2");
  write_record(ev);
}

TensorBoardWriter::~TensorBoardWriter() {
  if (f_) std::fclose(f_);
}

void TensorBoardWriter::write_record(const std::string& data) {
  const uint64_t len = data.size();
  const uint32_t len_crc = masked_crc32c(&len, 8), data_crc = masked_crc32c(data.data(), data.size());
  bool ok = std::fwrite(&len, 8, 1, f_) == 1 && std::fwrite(&len_crc, 4, 1, f_) == 1 &&
            (data.empty() || std::fwrite(data.data(), data.size(), 1, f_) == 1) && std::fwrite(&data_crc, 4, 1, f_) == 1;
  ok = ok && std::fflush(f_) == 0;
  if (!ok) throw Error("train.tensorboard", cat("write to '", path_, "' failed"));
}

void TensorBoardWriter::add_scalars(int64_t step, const std::vector<std::pair<std::string, double>>& scalars,
                                    double wall_time) {
  std::string summary;
  for (const auto& [tag, value] : scalars) {
    std::string v;
    put_bytes(v, 1, tag);
    put_fixed32(v, 2, float(value));
    put_bytes(summary, 1, v);
  }
  std::string ev;
  put_fixed64(ev, 1, wall_time >= 0 ? wall_time : now_seconds());
  put_tag(ev, 2, 0);
  put_varint(ev, uint64_t(step));
  put_bytes(ev, 5, summary);
  write_record(ev);
}

}  // namespace tandem::train
