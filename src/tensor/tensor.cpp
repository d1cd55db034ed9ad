#include "tensor/tensor.h"

#include <cstring>

namespace tandem {

std::string shape_str(const Shape& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

Tensor Tensor::empty(Shape shape, DType dtype, Device device) {
  for (int64_t d : shape) TD_ASSERT(d >= 0, "negative dimension in ", shape_str(shape));
  Tensor t;
  t.shape_ = std::move(shape);
  t.dtype_ = dtype;
  t.storage_ = Storage::allocate(t.nbytes(), device);
  return t;
}

Tensor Tensor::zeros(Shape shape, DType dtype, Device device) {
  Tensor t = empty(std::move(shape), dtype, device);
  TD_ASSERT(device.kind == DeviceKind::kCpu, "zeros on ", device.str(), ": use the op table's fill");
  if (t.nbytes()) std::memset(t.raw(), 0, t.nbytes());
  return t;
}

Tensor Tensor::borrow(void* data, Shape shape, DType dtype, Device device, std::shared_ptr<const void> keep_alive) {
  Tensor t;
  t.shape_ = std::move(shape);
  t.dtype_ = dtype;
  t.storage_ = Storage::borrow(data, t.nbytes(), device, std::move(keep_alive));
  return t;
}

Tensor Tensor::view(Shape shape) const {
  TD_ASSERT(shape_numel(shape) == numel(), "view ", shape_str(shape), " of ", shape_str(shape_));
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::rows(int64_t begin, int64_t end) const {
  TD_ASSERT(ndim() >= 1 && 0 <= begin && begin <= end && end <= shape_[0], "rows ", begin, "..", end, " of ",
            shape_str(shape_));
  Tensor t = *this;
  const int64_t row_elems = shape_[0] ? numel() / shape_[0] : 0;
  t.offset_ += size_t(begin * row_elems) * dtype_size(dtype_);
  t.shape_[0] = end - begin;
  return t;
}

Tensor Tensor::clone() const {
  TD_ASSERT(device().kind == DeviceKind::kCpu, "clone on ", device().str());
  Tensor t = empty(shape_, dtype_, device());
  if (nbytes()) std::memcpy(t.raw(), raw(), nbytes());
  return t;
}

}  // namespace tandem
