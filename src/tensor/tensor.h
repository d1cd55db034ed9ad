// A dense, row-major, contiguous n-d array on one device: shape + dtype + a view into a Storage.
// Deliberately no strides and no autograd: model code is written as explicit forward/backward
// per block, and the only views it needs are reshapes and row ranges (fused QKV, gate|up).
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "tensor/dtype.h"
#include "tensor/storage.h"

namespace tandem {

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& s);
int64_t shape_numel(const Shape& s);

class Tensor {
 public:
  Tensor() = default;
  static Tensor empty(Shape shape, DType dtype = DType::kF32, Device device = cpu_device());
  static Tensor zeros(Shape shape, DType dtype = DType::kF32, Device device = cpu_device());
  // A tensor over borrowed bytes (e.g. a memory-mapped file); keep_alive owns them.
  static Tensor borrow(void* data, Shape shape, DType dtype, Device device, std::shared_ptr<const void> keep_alive);

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int64_t dim(int i) const { return shape_[i < 0 ? shape_.size() + i : i]; }
  int ndim() const { return int(shape_.size()); }
  int64_t numel() const { return shape_numel(shape_); }
  size_t nbytes() const { return size_t(numel()) * dtype_size(dtype_); }
  DType dtype() const { return dtype_; }
  Device device() const { return storage_ ? storage_->device() : cpu_device(); }

  void* raw() const { return static_cast<char*>(storage_->data()) + offset_; }
  template <class T> T* data() const { return static_cast<T*>(raw()); }
  float* f32() const {
    TD_ASSERT(dtype_ == DType::kF32, "tensor is ", dtype_name(dtype_));
    return data<float>();
  }
  int32_t* i32() const {
    TD_ASSERT(dtype_ == DType::kI32, "tensor is ", dtype_name(dtype_));
    return data<int32_t>();
  }

  // Same bytes, another shape with the same element count.
  Tensor view(Shape shape) const;
  // Rows [begin, end) of the first dimension, sharing storage.
  Tensor rows(int64_t begin, int64_t end) const;
  // Deep copy on the same device (CPU only here; device copies go through the op table).
  Tensor clone() const;

 private:
  std::shared_ptr<Storage> storage_;
  size_t offset_ = 0;
  Shape shape_;
  DType dtype_ = DType::kF32;
};

}  // namespace tandem
