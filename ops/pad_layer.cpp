#include "ops/pad_layer.h"

#include "core/parallel.h"

namespace crema {

template <class T>
void PadLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const PadParameter& p = this->layer_param().pad_param();
  CREMA_LAYER_CHECK(!(p.has_pad() && (p.has_pad_h() || p.has_pad_w())),
                    "give either pad or pad_h and pad_w, not both");
  CREMA_LAYER_CHECK(p.has_pad_h() == p.has_pad_w(),
                    "set both pad_h and pad_w (only one was given)");
  CREMA_LAYER_CHECK(p.has_pad() || p.has_pad_h(),
                    "pad_param needs pad (or pad_h and pad_w): the number of pixels added on each "
                    "side");
  CREMA_LAYER_CHECK(top[0] != bottom[0],
                    "cannot run in place (the output is larger); give the "
                    "top its own name");
  args_.pad_h = p.has_pad() ? p.pad() : p.pad_h();
  args_.pad_w = p.has_pad() ? p.pad() : p.pad_w();
  args_.mode = static_cast<int>(p.mode());
  args_.value = static_cast<T>(p.value());
  CREMA_LAYER_CHECK(p.mode() == PadParameter::CONSTANT || !p.has_value(),
                    "pad_param.value is used by mode CONSTANT only, but mode is ",
                    PadParameter::Mode_Name(p.mode()), "; remove value");
}

template <class T>
void PadLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const Tensor<T>& x = *bottom[0];
  CREMA_SHAPE_CHECK(x.num_axes() == 4, "bottom 0 must be 4-d (N, C, H, W), got ", x.shape_string());
  args_.height = x.shape(2);
  args_.width = x.shape(3);
  if (args_.mode == kernels::kPadReflect) {
    CREMA_SHAPE_CHECK(args_.pad_h < args_.height && args_.pad_w < args_.width,
                      "mode REFLECT needs pad < input size, got pad ", args_.pad_h, "x",
                      args_.pad_w, " for input H x W ", args_.height, "x", args_.width,
                      "; use a smaller pad or mode REPLICATE");
  } else if (args_.mode == kernels::kPadReplicate) {
    CREMA_SHAPE_CHECK(
        (args_.pad_h == 0 || args_.height > 0) && (args_.pad_w == 0 || args_.width > 0),
        "mode REPLICATE needs a non-empty input to copy from, got ", x.shape_string());
  }
  planes_ = x.shape(0) * x.shape(1);
  top[0]->reshape(
      {x.shape(0), x.shape(1), args_.height + 2 * args_.pad_h, args_.width + 2 * args_.pad_w});
}

template <class T>
void PadLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const T* x = bottom[0]->cpu_data();
  T* y = top[0]->mutable_cpu_data();
  const auto a = args_;
  parallel_for(ctx, planes_ * top[0]->shape(2),
               [&](int64_t i) { kernels::pad_forward(i, a, x, y); });
}

template <class T>
void PadLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                               const std::vector<bool>& propagate_down,
                               const TensorVec<T>& bottom) {
  if (!propagate_down[0]) return;
  const T* dy = top[0]->cpu_diff();
  T* dx = bottom[0]->mutable_cpu_diff();
  const auto a = args_;
  parallel_for(ctx, planes_ * args_.height,
               [&](int64_t i) { kernels::pad_backward(i, a, dy, dx); });
}

#if CREMA_WITH_CUDA
template <class T>
void PadLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  cuda::launch_pad_forward<T>(ctx.cuda_stream(), planes_ * top[0]->shape(2), args_,
                              bottom[0]->gpu_data(ctx), top[0]->mutable_gpu_data(ctx));
}

template <class T>
void PadLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                               const std::vector<bool>& propagate_down,
                               const TensorVec<T>& bottom) {
  if (!propagate_down[0]) return;
  cuda::launch_pad_backward<T>(ctx.cuda_stream(), planes_ * args_.height, args_,
                               top[0]->gpu_diff(ctx), bottom[0]->mutable_gpu_diff(ctx));
}
#endif

CREMA_INSTANTIATE_CLASS(PadLayer);

}  // namespace crema
