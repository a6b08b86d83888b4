/// Tensor<T>: Caffe's Blob — an N-d array with data and diff, shared storage, proto I/O.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/context.h"
#include "core/error.h"
#include "core/synced_memory.h"

namespace crema {

class BlobProto;
class BlobShape;

/// Formats a shape as "2x3x4 (24)".
std::string shape_string(const std::vector<int64_t>& shape);

template <class T>
class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(const std::vector<int64_t>& shape) { reshape(shape); }

  /// Changes the shape; storage grows when needed and is kept otherwise (like Caffe's Reshape).
  void reshape(const std::vector<int64_t>& shape);
  void reshape(const BlobShape& shape);
  template <class U>
  void reshape_like(const Tensor<U>& other) { reshape(other.shape()); }

  const std::vector<int64_t>& shape() const { return shape_; }
  /// Size of axis i; negative i counts from the end.
  int64_t shape(int i) const { return shape_[canonical_axis(i)]; }
  int num_axes() const { return static_cast<int>(shape_.size()); }
  int64_t count() const { return count_; }
  /// Product of axes [start, end).
  int64_t count(int start, int end) const;
  int64_t count(int start) const { return count(start, num_axes()); }
  /// Maps axis in [-num_axes, num_axes) to [0, num_axes); throws on out-of-range.
  int canonical_axis(int axis) const;
  std::string shape_string() const { return crema::shape_string(shape_); }

  // Caffe's legacy 4-d accessors (missing axes count as 1).
  int64_t num() const { return legacy(0); }
  int64_t channels() const { return legacy(1); }
  int64_t height() const { return legacy(2); }
  int64_t width() const { return legacy(3); }

  const T* cpu_data() const { return data_ ? static_cast<const T*>(data_->cpu_data()) : nullptr; }
  T* mutable_cpu_data() { return data_ ? static_cast<T*>(data_->mutable_cpu_data()) : nullptr; }
  const T* cpu_diff() const { return diff_ ? static_cast<const T*>(diff_->cpu_data()) : nullptr; }
  T* mutable_cpu_diff() { return diff_ ? static_cast<T*>(diff_->mutable_cpu_data()) : nullptr; }
  /// Device copies on ctx's GPU, synced lazily from the host (Caffe's gpu_data and friends).
  const T* gpu_data(const Context& ctx) const { return gpu(data_, ctx); }
  T* mutable_gpu_data(const Context& ctx) { return mutable_gpu(data_, ctx); }
  const T* gpu_diff(const Context& ctx) const { return gpu(diff_, ctx); }
  T* mutable_gpu_diff(const Context& ctx) { return mutable_gpu(diff_, ctx); }

  /// Shares other's data (or diff) storage; shapes must have equal counts.
  void share_data(const Tensor& other);
  void share_diff(const Tensor& other);
  bool shares_data_with(const Tensor& other) const { return data_ == other.data_; }
  /// The data storage object (for memory planning); may be shared by several tensors.
  const std::shared_ptr<SyncedMemory>& data_memory() const { return data_; }
  /// Makes `mem` (at least count() elements) this tensor's data storage; a later reshape that
  /// needs more gets fresh storage of its own.
  void set_data_memory(std::shared_ptr<SyncedMemory> mem);

  void set_data(T v);
  void set_diff(T v);
  /// Copies data (or diff when `diff`) from other; reshapes when `reshape` is true.
  void copy_from(const Tensor& other, bool diff = false, bool reshape = false);
  /// data -= diff.
  void update();
  T asum_data() const;
  T asum_diff() const;
  T sumsq_data() const;
  T sumsq_diff() const;
  void scale_data(T s);
  void scale_diff(T s);

  /// Fills from a BlobProto (legacy num/channels/height/width or shape); float or double payload.
  void from_proto(const BlobProto& proto, bool reshape = true);
  void to_proto(BlobProto* proto, bool write_diff = false) const;
  /// True when the proto's shape equals this tensor's (legacy 4-d shapes compared as Caffe does).
  bool shape_equals(const BlobProto& proto) const;

 private:
  int64_t legacy(int i) const;

  std::vector<int64_t> shape_;
  int64_t count_ = 0;
  size_t capacity_ = 0;
  static const T* gpu(const std::shared_ptr<SyncedMemory>& m, const Context& ctx) {
    return m ? static_cast<const T*>(m->gpu_data(ctx.device, ctx.cuda_stream())) : nullptr;
  }
  static T* mutable_gpu(const std::shared_ptr<SyncedMemory>& m, const Context& ctx) {
    return m ? static_cast<T*>(m->mutable_gpu_data(ctx.device, ctx.cuda_stream())) : nullptr;
  }

  std::shared_ptr<SyncedMemory> data_, diff_;
};

/// Shape of a BlobProto as a vector (legacy 4-d fields when `shape` is absent).
std::vector<int64_t> proto_shape(const BlobProto& proto);

}  // namespace crema
