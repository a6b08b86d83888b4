#include "ops/backward_warp_layer.h"

#include "core/parallel.h"

namespace crema {

template <class T>
void BackwardWarpLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom,
                                       const TensorVec<T>& top) {
  const BackwardWarpParameter& p = this->layer_param().backward_warp_param();
  args_.border = p.padding() == BackwardWarpParameter::BORDER;
  CREMA_LAYER_CHECK(top[0] != bottom[0] && top[0] != bottom[1],
                    "BackwardWarp cannot run in-place; give the top its own name");
}

template <class T>
void BackwardWarpLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom,
                                   const TensorVec<T>& top) {
  const Tensor<T>& x = *bottom[0];
  const Tensor<T>& flow = *bottom[1];
  CREMA_SHAPE_CHECK(x.num_axes() == 4, "bottom 0 (image) must be 4-d (N, C, H, W), got ",
                    x.shape_string());
  CREMA_SHAPE_CHECK(flow.num_axes() == 4 && flow.shape(0) == x.shape(0) && flow.shape(1) == 2 &&
                        flow.shape(2) == x.shape(2) && flow.shape(3) == x.shape(3),
                    "bottom 1 (flow) must be (N, 2, H, W) = (", x.shape(0), ", 2, ", x.shape(2),
                    ", ", x.shape(3), ") to match the image ", x.shape_string(), ", got ",
                    flow.shape_string(), "; the flow holds (u, v) in pixels per image pixel");
  num_ = x.shape(0);
  args_.channels = x.shape(1);
  args_.height = x.shape(2);
  args_.width = x.shape(3);
  top[0]->reshape(x.shape());
}

template <class T>
void BackwardWarpLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom,
                                       const TensorVec<T>& top) {
  const kernels::BackwardWarpArgs a = args_;
  const T* x = bottom[0]->cpu_data();
  const T* flow = bottom[1]->cpu_data();
  T* y = top[0]->mutable_cpu_data();
  const kernels::WarpTap<T>* taps = compute_taps(ctx, flow);
  parallel_for(ctx, num_ * a.channels * a.height,
               [&](int64_t i) { kernels::backward_warp_forward(i, a, taps, x, y); });
}

template <class T>
const kernels::WarpTap<T>* BackwardWarpLayer<T>::compute_taps(Context& ctx, const T* flow) {
  const kernels::BackwardWarpArgs a = args_;
  taps_.resize(num_ * a.height * a.width);
  kernels::WarpTap<T>* taps = taps_.data();
  parallel_for(ctx, static_cast<int64_t>(taps_.size()),
               [&](int64_t i) { kernels::backward_warp_taps(i, a, flow, taps); });
  return taps;
}

template <class T>
void BackwardWarpLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                        const std::vector<bool>& propagate_down,
                                        const TensorVec<T>& bottom) {
  const kernels::BackwardWarpArgs a = args_;
  const T* x = bottom[0]->cpu_data();
  const T* flow = bottom[1]->cpu_data();
  const T* dy = top[0]->cpu_diff();
  // Recomputed rather than kept from the forward: cheap, and safe if the flow changed since.
  const kernels::WarpTap<T>* taps = compute_taps(ctx, flow);
  if (propagate_down[0]) {
    T* dx = bottom[0]->mutable_cpu_diff();
    // Few heavy work items (one per plane): spread them over all threads.
    parallel_for_heavy(ctx, num_ * a.channels, [&](int64_t i) {
      kernels::backward_warp_backward_input(i, a, taps, dy, dx);
    });
  }
  if (propagate_down[1]) {
    T* dflow = bottom[1]->mutable_cpu_diff();
    // One work item per flow row, each walking every channel: few and heavy.
    parallel_for_heavy(ctx, num_ * a.height, [&](int64_t i) {
      kernels::backward_warp_backward_flow(i, a, taps, x, dy, dflow);
    });
  }
}

#if CREMA_WITH_CUDA
template <class T>
const kernels::WarpTap<T>* BackwardWarpLayer<T>::compute_gpu_taps(Context& ctx, const T* flow) {
  const int64_t n = num_ * args_.height * args_.width;
  kernels::WarpTap<T>* taps = gpu_taps_.resize(ctx, n);
  cuda::launch_backward_warp_taps<T>(ctx.cuda_stream(), n, args_, flow, taps);
  return taps;
}

template <class T>
void BackwardWarpLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom,
                                       const TensorVec<T>& top) {
  const kernels::WarpTap<T>* taps = compute_gpu_taps(ctx, bottom[1]->gpu_data(ctx));
  cuda::launch_backward_warp_forward<T>(ctx.cuda_stream(), num_ * args_.channels * args_.height,
                                        args_, taps, bottom[0]->gpu_data(ctx),
                                        top[0]->mutable_gpu_data(ctx));
}

template <class T>
void BackwardWarpLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                        const std::vector<bool>& propagate_down,
                                        const TensorVec<T>& bottom) {
  const T* dy = top[0]->gpu_diff(ctx);
  // Recomputed as in backward_cpu.
  const kernels::WarpTap<T>* taps = compute_gpu_taps(ctx, bottom[1]->gpu_data(ctx));
  if (propagate_down[0]) {
    cuda::launch_backward_warp_backward_input<T>(ctx.cuda_stream(), num_ * args_.channels, args_,
                                                 taps, dy, bottom[0]->mutable_gpu_diff(ctx));
  }
  if (propagate_down[1]) {
    cuda::launch_backward_warp_backward_flow<T>(ctx.cuda_stream(), num_ * args_.height, args_, taps,
                                                bottom[0]->gpu_data(ctx), dy,
                                                bottom[1]->mutable_gpu_diff(ctx));
  }
}
#endif

CREMA_INSTANTIATE_CLASS(BackwardWarpLayer);

}  // namespace crema
