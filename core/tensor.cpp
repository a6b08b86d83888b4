#include "core/tensor.h"

#include <cmath>
#include <algorithm>
#include <cstring>
#include <limits>

#include "core/blas.h"
#include "proto/crema.pb.h"

namespace crema {

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s;
  int64_t n = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += "x";
    s += std::to_string(shape[i]);
    n *= shape[i];
  }
  if (shape.empty()) s = "scalar";
  return s + " (" + std::to_string(n) + ")";
}

template <class T>
void Tensor<T>::reshape(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    CREMA_CHECK_AS(ShapeError, d >= 0, "negative dimension in shape ", crema::shape_string(shape));
    CREMA_CHECK_AS(ShapeError, d == 0 || n <= std::numeric_limits<int64_t>::max() / d,
                   "shape too large: ", crema::shape_string(shape));
    n *= d;
  }
  shape_ = shape;
  count_ = n;
  if (static_cast<size_t>(count_) > capacity_ || !data_) {
    capacity_ = static_cast<size_t>(count_);
    data_ = std::make_shared<SyncedMemory>(capacity_ * sizeof(T));
    diff_ = std::make_shared<SyncedMemory>(capacity_ * sizeof(T));
  }
}

template <class T>
void Tensor<T>::reshape(const BlobShape& shape) {
  std::vector<int64_t> s(shape.dim().begin(), shape.dim().end());
  reshape(s);
}

template <class T>
int64_t Tensor<T>::count(int start, int end) const {
  CREMA_ASSERT(start >= 0 && start <= end && end <= num_axes());
  int64_t n = 1;
  for (int i = start; i < end; ++i) n *= shape_[i];
  return n;
}

template <class T>
int Tensor<T>::canonical_axis(int axis) const {
  const int n = num_axes();
  CREMA_CHECK_AS(ShapeError, axis >= -n && axis < n, "axis ", axis, " out of range for a ", n,
                 "-d tensor of shape ", shape_string());
  return axis < 0 ? axis + n : axis;
}

template <class T>
int64_t Tensor<T>::legacy(int i) const {
  CREMA_CHECK_AS(ShapeError, num_axes() <= 4, "legacy 4-d accessor on a ", num_axes(),
                 "-d tensor");
  return i < num_axes() ? shape_[i] : 1;
}

template <class T>
void Tensor<T>::share_data(const Tensor& other) {
  CREMA_ASSERT(count_ == other.count_);
  data_ = other.data_;
}

template <class T>
void Tensor<T>::set_data_memory(std::shared_ptr<SyncedMemory> mem) {
  CREMA_ASSERT(mem && mem->size() >= sizeof(T) * static_cast<size_t>(count_));
  data_ = std::move(mem);
  capacity_ = std::min(capacity_, data_->size() / sizeof(T));
}

template <class T>
void Tensor<T>::share_diff(const Tensor& other) {
  CREMA_ASSERT(count_ == other.count_);
  diff_ = other.diff_;
}

template <class T>
void Tensor<T>::set_data(T v) {
  T* p = mutable_cpu_data();
  for (int64_t i = 0; i < count_; ++i) p[i] = v;
}

template <class T>
void Tensor<T>::set_diff(T v) {
  T* p = mutable_cpu_diff();
  for (int64_t i = 0; i < count_; ++i) p[i] = v;
}

template <class T>
void Tensor<T>::copy_from(const Tensor& other, bool diff, bool reshape_this) {
  if (count_ != other.count_ || shape_ != other.shape_) {
    CREMA_CHECK_AS(ShapeError, reshape_this, "cannot copy a tensor of shape ",
                   other.shape_string(), " into one of shape ", shape_string());
    reshape(other.shape_);
  }
  if (count_ == 0) return;
  if (diff)
    std::memcpy(mutable_cpu_diff(), other.cpu_diff(), sizeof(T) * count_);
  else
    std::memcpy(mutable_cpu_data(), other.cpu_data(), sizeof(T) * count_);
}

template <class T>
void Tensor<T>::update() {
  if (count_ == 0) return;
  blas::axpy<T>(count_, T(-1), cpu_diff(), mutable_cpu_data());
}

template <class T>
T Tensor<T>::asum_data() const { return count_ ? blas::asum<T>(count_, cpu_data()) : T(0); }
template <class T>
T Tensor<T>::asum_diff() const { return count_ ? blas::asum<T>(count_, cpu_diff()) : T(0); }
template <class T>
T Tensor<T>::sumsq_data() const {
  return count_ ? blas::dot<T>(count_, cpu_data(), cpu_data()) : T(0);
}
template <class T>
T Tensor<T>::sumsq_diff() const {
  return count_ ? blas::dot<T>(count_, cpu_diff(), cpu_diff()) : T(0);
}
template <class T>
void Tensor<T>::scale_data(T s) { if (count_) blas::scal<T>(count_, s, mutable_cpu_data()); }
template <class T>
void Tensor<T>::scale_diff(T s) { if (count_) blas::scal<T>(count_, s, mutable_cpu_diff()); }

std::vector<int64_t> proto_shape(const BlobProto& proto) {
  if (proto.has_shape()) return {proto.shape().dim().begin(), proto.shape().dim().end()};
  if (proto.has_num() || proto.has_channels() || proto.has_height() || proto.has_width())
    return {proto.num(), proto.channels(), proto.height(), proto.width()};
  // A blob with neither: a flat vector of its payload.
  const int64_t n = proto.double_data_size() > 0 ? proto.double_data_size() : proto.data_size();
  return {n};
}

template <class T>
bool Tensor<T>::shape_equals(const BlobProto& proto) const {
  if (proto.has_shape()) return proto_shape(proto) == shape_;
  // Legacy protos carry 4 axes; Caffe compares them against the tensor padded to 4 axes.
  if (num_axes() > 4) return false;
  std::vector<int64_t> mine(4 - num_axes(), 1);
  mine.insert(mine.end(), shape_.begin(), shape_.end());
  return mine == proto_shape(proto);
}

template <class T>
void Tensor<T>::from_proto(const BlobProto& proto, bool reshape_this) {
  const std::vector<int64_t> ps = proto_shape(proto);
  if (reshape_this) {
    reshape(ps);
  } else {
    CREMA_CHECK_AS(ShapeError, shape_equals(proto), "tensor shape mismatch: expected ",
                   shape_string(), ", file has ", crema::shape_string(ps));
  }
  const bool dbl = proto.double_data_size() > 0;
  const int64_t n = dbl ? proto.double_data_size() : proto.data_size();
  CREMA_CHECK_AS(DataError, n == count_, "tensor payload has ", n, " values, shape ",
                 shape_string(), " needs ", count_);
  T* d = mutable_cpu_data();
  for (int64_t i = 0; i < count_; ++i)
    d[i] = static_cast<T>(dbl ? proto.double_data(i) : proto.data(i));
  const int64_t nd = proto.double_diff_size() > 0 ? proto.double_diff_size() : proto.diff_size();
  if (nd == count_ && count_ > 0) {
    T* g = mutable_cpu_diff();
    for (int64_t i = 0; i < count_; ++i)
      g[i] = static_cast<T>(proto.double_diff_size() > 0 ? proto.double_diff(i) : proto.diff(i));
  }
}

template <class T>
void Tensor<T>::to_proto(BlobProto* proto, bool write_diff) const {
  proto->Clear();
  for (int64_t d : shape_) proto->mutable_shape()->add_dim(d);
  const T* d = cpu_data();
  if constexpr (std::is_same_v<T, double>) {
    proto->mutable_double_data()->Reserve(count_);
    for (int64_t i = 0; i < count_; ++i) proto->add_double_data(d[i]);
  } else {
    proto->mutable_data()->Reserve(count_);
    for (int64_t i = 0; i < count_; ++i) proto->add_data(d[i]);
  }
  if (write_diff) {
    const T* g = cpu_diff();
    for (int64_t i = 0; i < count_; ++i) {
      if constexpr (std::is_same_v<T, double>)
        proto->add_double_diff(g[i]);
      else
        proto->add_diff(g[i]);
    }
  }
}

template class Tensor<float>;
template class Tensor<double>;

}  // namespace crema
