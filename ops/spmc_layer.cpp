#include "ops/spmc_layer.h"

#include "core/parallel.h"

namespace crema {

template <class T>
void SPMCLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const SPMCParameter& p = this->layer_param().spmc_param();
  CREMA_LAYER_CHECK(p.scale() >= 1,
                    "spmc_param.scale must be >= 1 (the paper uses 2, 3 or 4), got ", p.scale());
  args_.scale = p.scale();
  CREMA_LAYER_CHECK(top[0] != bottom[0] && top[0] != bottom[1],
                    "SPMC cannot run in-place; give the top its own name");
}

template <class T>
void SPMCLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const Tensor<T>& x = *bottom[0];
  const Tensor<T>& flow = *bottom[1];
  CREMA_SHAPE_CHECK(x.num_axes() == 4, "bottom 0 (LR image) must be 4-d (N, C, h, w), got ",
                    x.shape_string());
  CREMA_SHAPE_CHECK(flow.num_axes() == 4 && flow.shape(0) == x.shape(0) && flow.shape(1) == 2 &&
                        flow.shape(2) == x.shape(2) && flow.shape(3) == x.shape(3),
                    "bottom 1 (flow) must be (N, 2, h, w) = (", x.shape(0), ", 2, ", x.shape(2),
                    ", ", x.shape(3), ") to match the LR image ", x.shape_string(), ", got ",
                    flow.shape_string(), "; the flow holds (u, v) in LR pixels per LR pixel");
  num_ = x.shape(0);
  args_.channels = x.shape(1);
  args_.height = x.shape(2);
  args_.width = x.shape(3);
  top[0]->reshape({num_, args_.channels, args_.height * args_.scale, args_.width * args_.scale});
}

template <class T>
void SPMCLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const kernels::SpmcArgs a = args_;
  const T* image = bottom[0]->cpu_data();
  const T* flow = bottom[1]->cpu_data();
  T* y = top[0]->mutable_cpu_data();
  // One work item per HR plane (few, heavy): spread them over all threads.
  parallel_for_heavy(ctx, num_ * a.channels,
                     [&](int64_t i) { kernels::spmc_forward(i, a, image, flow, y); });
}

template <class T>
void SPMCLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                const std::vector<bool>& propagate_down,
                                const TensorVec<T>& bottom) {
  const kernels::SpmcArgs a = args_;
  const T* image = bottom[0]->cpu_data();
  const T* flow = bottom[1]->cpu_data();
  const T* dy = top[0]->cpu_diff();
  if (propagate_down[0]) {
    T* dimage = bottom[0]->mutable_cpu_diff();
    parallel_for(ctx, bottom[0]->count(),
                 [&](int64_t i) { kernels::spmc_backward_image(i, a, flow, dy, dimage); });
  }
  if (propagate_down[1]) {
    T* dflow = bottom[1]->mutable_cpu_diff();
    parallel_for(ctx, num_ * a.height * a.width,
                 [&](int64_t i) { kernels::spmc_backward_flow(i, a, image, flow, dy, dflow); });
  }
}

#if CREMA_WITH_CUDA
template <class T>
void SPMCLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  cuda::launch_spmc_forward<T>(ctx.cuda_stream(), num_ * args_.channels, args_,
                               bottom[0]->gpu_data(ctx), bottom[1]->gpu_data(ctx),
                               top[0]->mutable_gpu_data(ctx));
}

template <class T>
void SPMCLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                const std::vector<bool>& propagate_down,
                                const TensorVec<T>& bottom) {
  const T* flow = bottom[1]->gpu_data(ctx);
  const T* dy = top[0]->gpu_diff(ctx);
  if (propagate_down[0]) {
    cuda::launch_spmc_backward_image<T>(ctx.cuda_stream(), bottom[0]->count(), args_, flow, dy,
                                        bottom[0]->mutable_gpu_diff(ctx));
  }
  if (propagate_down[1]) {
    cuda::launch_spmc_backward_flow<T>(ctx.cuda_stream(), num_ * args_.height * args_.width, args_,
                                       bottom[0]->gpu_data(ctx), flow, dy,
                                       bottom[1]->mutable_gpu_diff(ctx));
  }
}
#endif

CREMA_INSTANTIATE_CLASS(SPMCLayer);

}  // namespace crema
