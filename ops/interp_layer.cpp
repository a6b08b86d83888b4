#include "ops/interp_layer.h"

#include "core/parallel.h"
#include "ops/gpu_copy.h"

namespace crema {

template <class T>
void InterpLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom,
                                 const TensorVec<T>& top) {
  const InterpParameter& p = this->layer_param().interp_param();
  pad_beg_ = p.pad_beg();
  pad_end_ = p.pad_end();
  CREMA_LAYER_CHECK(pad_beg_ <= 0 && pad_end_ <= 0,
                    "interp_param pad_beg and pad_end must be <= 0 (only cropping is supported), "
                    "got pad_beg ",
                    pad_beg_, " and pad_end ", pad_end_);
  CREMA_LAYER_CHECK(p.has_height() == p.has_width(),
                    "interp_param: set both height and width (only one was given)");
  for (auto* b : bottom)
    CREMA_LAYER_CHECK(top[0] != b, "Interp cannot run in-place; give the top its own name");
  const bool zoom = p.has_zoom_factor(), shrink = p.has_shrink_factor();
  if (shrink && !zoom) {
    rule_ = SizeRule::kShrink;
  } else if (zoom && !shrink) {
    rule_ = SizeRule::kZoom;
  } else if (p.has_height()) {
    rule_ = SizeRule::kExplicit;
  } else if (zoom && shrink) {
    rule_ = SizeRule::kShrinkZoom;
  } else {
    CREMA_LAYER_CHECK(bottom.size() == 2,
                      "interp_param gives no output size: set zoom_factor, shrink_factor, or "
                      "height and width, or give a second bottom whose H x W is the target size");
    rule_ = SizeRule::kBottom;
  }
  zoom_ = p.zoom_factor();
  shrink_ = p.shrink_factor();
  CREMA_LAYER_CHECK(!zoom || zoom_ >= 1, "interp_param.zoom_factor must be >= 1, got ", zoom_);
  CREMA_LAYER_CHECK(!shrink || shrink_ >= 1, "interp_param.shrink_factor must be >= 1, got ",
                    shrink_);
  height_ = p.height();
  width_ = p.width();
  CREMA_LAYER_CHECK(rule_ != SizeRule::kExplicit || (height_ > 0 && width_ > 0),
                    "interp_param height and width must be > 0, got ", height_, " x ", width_);
}

template <class T>
void InterpLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const Tensor<T>& x = *bottom[0];
  CREMA_SHAPE_CHECK(x.num_axes() == 4, "bottom 0 must be 4-d (N, C, H, W), got ", x.shape_string());
  const int64_t in_h = x.shape(2), in_w = x.shape(3);
  const int64_t eff_h = in_h + pad_beg_ + pad_end_, eff_w = in_w + pad_beg_ + pad_end_;
  CREMA_SHAPE_CHECK(eff_h > 0 && eff_w > 0, "bottom 0 is ", in_h, " x ", in_w,
                    " (H x W); cropping pad_beg ", pad_beg_, " and pad_end ", pad_end_,
                    " leaves nothing; crop less");
  int64_t out_h = 0, out_w = 0;
  switch (rule_) {
    case SizeRule::kShrink:
      out_h = (eff_h - 1) / shrink_ + 1;
      out_w = (eff_w - 1) / shrink_ + 1;
      break;
    case SizeRule::kZoom:
      out_h = (eff_h - 1) * zoom_ + 1;
      out_w = (eff_w - 1) * zoom_ + 1;
      break;
    case SizeRule::kExplicit:
      out_h = height_;
      out_w = width_;
      break;
    case SizeRule::kShrinkZoom:
      out_h = ((eff_h - 1) / shrink_) * zoom_ + 1;
      out_w = ((eff_w - 1) / shrink_) * zoom_ + 1;
      break;
    case SizeRule::kBottom:
      CREMA_SHAPE_CHECK(bottom.size() == 2 && bottom[1]->num_axes() == 4,
                        "bottom 1 gives the output size and must be 4-d (N, C, H, W), got ",
                        bottom.size() == 2 ? bottom[1]->shape_string() : "none");
      out_h = bottom[1]->shape(2);
      out_w = bottom[1]->shape(3);
      CREMA_SHAPE_CHECK(out_h > 0 && out_w > 0, "bottom 1 gives an empty output size ",
                        bottom[1]->shape_string(), "; its H and W must be > 0");
      break;
  }
  top[0]->reshape({x.shape(0), x.shape(1), out_h, out_w});
  const T rh = out_h > 1 ? static_cast<T>(eff_h - 1) / static_cast<T>(out_h - 1) : T(0);
  const T rw = out_w > 1 ? static_cast<T>(eff_w - 1) / static_cast<T>(out_w - 1) : T(0);
  args_ = {in_h, in_w, -pad_beg_, -pad_beg_, eff_h, eff_w, out_h, out_w, rh, rw};
}

template <class T>
void InterpLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom,
                                 const TensorVec<T>& top) {
  const kernels::InterpArgs<T> a = args_;
  const T* x = bottom[0]->cpu_data();
  T* y = top[0]->mutable_cpu_data();
  parallel_for(ctx, top[0]->count(0, 3), [&](int64_t i) { kernels::interp_forward(i, a, x, y); });
}

template <class T>
void InterpLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                  const std::vector<bool>& propagate_down,
                                  const TensorVec<T>& bottom) {
  if (bottom.size() == 2 && propagate_down[1]) bottom[1]->set_diff(T(0));
  if (!propagate_down[0]) return;
  const kernels::InterpArgs<T> a = args_;
  const T* dy = top[0]->cpu_diff();
  T* dx = bottom[0]->mutable_cpu_diff();
  parallel_for(ctx, bottom[0]->count(0, 3),
               [&](int64_t i) { kernels::interp_backward(i, a, dy, dx); });
}

#if CREMA_WITH_CUDA
template <class T>
void InterpLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom,
                                 const TensorVec<T>& top) {
  cuda::launch_interp_forward<T>(ctx.cuda_stream(), top[0]->count(0, 3), args_,
                                 bottom[0]->gpu_data(ctx), top[0]->mutable_gpu_data(ctx));
}

template <class T>
void InterpLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                  const std::vector<bool>& propagate_down,
                                  const TensorVec<T>& bottom) {
  if (bottom.size() == 2 && propagate_down[1])
    cuda::zero_bytes(ctx, bottom[1]->mutable_gpu_diff(ctx), bottom[1]->count() * sizeof(T));
  if (!propagate_down[0]) return;
  cuda::launch_interp_backward<T>(ctx.cuda_stream(), bottom[0]->count(0, 3), args_,
                                  top[0]->gpu_diff(ctx), bottom[0]->mutable_gpu_diff(ctx));
}
#endif

CREMA_INSTANTIATE_CLASS(InterpLayer);

}  // namespace crema
