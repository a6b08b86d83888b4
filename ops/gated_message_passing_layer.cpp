#include "ops/gated_message_passing_layer.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/parallel.h"
#include "cuda_kernels/relu.h"
#include "ops/device_ops.h"

namespace crema {

// Note [GBD message passing on both devices]
// One orchestration (run_forward / run_backward) serves both paths. The internal convs and the
// concat run through their own forward/backward, which take their CPU or GPU (cuDNN) paths by
// ctx's device; the layer's bodies run through parallel_for or their launchers (same bodies and
// item counts); DeviceOps adds up the input gradients of the convs (OpenBLAS or cuBLAS axpy).

template <class T>
void GatedMessagePassingLayer<T>::check_bottoms(const TensorVec<T>& bottom,
                                                const TensorVec<T>& top) const {
  const Tensor<T>& b0 = *bottom[0];
  CREMA_SHAPE_CHECK(b0.num_axes() == 4, "bottom 0 must be 4-d (N, C, H, W), got ",
                    b0.shape_string());
  for (size_t i = 1; i < bottom.size(); ++i)
    CREMA_SHAPE_CHECK(bottom[i]->shape() == b0.shape(),
                      "all regions must have the same shape: bottom 0 is ", b0.shape_string(),
                      ", bottom ", i, " is ", bottom[i]->shape_string(),
                      "; pool every region to the same size");
  for (size_t i = 0; i < top.size(); ++i)
    for (size_t j = 0; j < bottom.size(); ++j)
      CREMA_LAYER_CHECK(top[i] != bottom[j], "cannot run in place (top ", i, " is bottom ", j,
                        "); give the top its own name");
}

template <class T>
void GatedMessagePassingLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom,
                                              const TensorVec<T>& top) {
  const GatedMessagePassingParameter& p = this->layer_param().gated_message_passing_param();
  k_ = static_cast<int>(bottom.size());
  CREMA_LAYER_CHECK(p.num_regions() == 0 || p.num_regions() == bottom.size(),
                    "gated_message_passing_param.num_regions is ", p.num_regions(),
                    " but the layer has ", bottom.size(),
                    " bottoms; give one bottom per region or drop num_regions");
  CREMA_LAYER_CHECK(p.kernel_size() >= 1 && p.kernel_size() % 2 == 1,
                    "gated_message_passing_param.kernel_size must be odd and >= 1 (the convs keep "
                    "H x W with pad (k - 1) / 2), got ",
                    p.kernel_size());
  CREMA_LAYER_CHECK(std::isfinite(p.residual_coeff()),
                    "gated_message_passing_param.residual_coeff must be finite, got ",
                    p.residual_coeff());
  check_bottoms(bottom, top);
  channels_ = bottom[0]->shape(1);
  CREMA_SHAPE_CHECK(channels_ > 0, "regions must have at least one channel, got ",
                    bottom[0]->shape_string());
  num_output_ = p.num_output() > 0 ? static_cast<int64_t>(p.num_output()) : channels_;
  args_.residual_coeff = static_cast<T>(p.residual_coeff());

  FillerParameter weight_filler;
  weight_filler.set_type("xavier");
  if (p.has_weight_filler()) weight_filler = p.weight_filler();
  FillerParameter bias_filler;
  bias_filler.set_type("constant");
  if (p.has_bias_filler()) bias_filler = p.bias_filler();
  FillerParameter gate_bias_filler;
  gate_bias_filler.set_type("constant");
  gate_bias_filler.set_value(0.2f);
  if (p.has_gate_bias_filler()) gate_bias_filler = p.gate_bias_filler();

  const int k = k_;
  for (auto* v : {&sa_, &sg_, &sm_, &ba_, &bg_, &bm_, &h1_, &h2_, &cat_, &f_, &dx_})
    *v = std::vector<Tensor<T>>(k);
  for (auto* v : {&sself_, &smsg_, &sgate_, &bself_, &bmsg_, &bgate_, &fuse_}) {
    v->clear();
    v->resize(k);
  }
  // Internal convs are named "<layer>/<role>_<region>" (1-based), which also seeds their fill.
  auto make_conv = [&](const char* role, int region, int64_t out, bool gate, const Tensor<T>& in,
                       Tensor<T>& top_t) {
    LayerParameter lp;
    lp.set_name(str_cat(this->name(), "/", role, "_", region + 1));
    lp.set_type("Convolution");
    ConvolutionParameter* cp = lp.mutable_convolution_param();
    cp->set_num_output(static_cast<uint32_t>(out));
    cp->add_kernel_size(p.kernel_size());
    cp->add_pad((p.kernel_size() - 1) / 2);
    *cp->mutable_weight_filler() = weight_filler;
    *cp->mutable_bias_filler() = gate ? gate_bias_filler : bias_filler;
    auto conv = std::make_unique<Conv>(lp);
    conv->setup(ctx, {const_cast<Tensor<T>*>(&in)}, {&top_t});
    return conv;
  };
  // Shape-only stand-ins for the conv inputs during setup.
  Tensor<T> x_shape(bottom[0]->shape());
  Tensor<T> h_shape({bottom[0]->shape(0), num_output_, bottom[0]->shape(2), bottom[0]->shape(3)});
  Tensor<T> cat_shape(
      {bottom[0]->shape(0), 2 * num_output_, bottom[0]->shape(2), bottom[0]->shape(3)});
  for (int i = 0; i < k; ++i)
    sself_[i] = make_conv("Sself", i, num_output_, false, x_shape, sa_[i]);
  for (int i = 0; i + 1 < k; ++i)
    smsg_[i] = make_conv("Smsg", i, num_output_, false, h_shape, sm_[i]);
  for (int i = 0; i + 1 < k; ++i)
    sgate_[i] = make_conv("Sgate", i, num_output_, true, x_shape, sg_[i]);
  for (int i = 0; i < k; ++i)
    bself_[i] = make_conv("Bself", i, num_output_, false, x_shape, ba_[i]);
  for (int i = 1; i < k; ++i) bmsg_[i] = make_conv("Bmsg", i, num_output_, false, h_shape, bm_[i]);
  for (int i = 1; i < k; ++i) bgate_[i] = make_conv("Bgate", i, num_output_, true, x_shape, bg_[i]);
  for (int i = 0; i < k; ++i) fuse_[i] = make_conv("Fuse", i, channels_, false, cat_shape, f_[i]);

  LayerParameter concat_param;
  concat_param.set_name(str_cat(this->name(), "/concat"));
  concat_param.set_type("Concat");
  concat_ = std::make_unique<ConcatLayer<T>>(concat_param);
  h1_[0].reshape(h_shape.shape());
  h2_[0].reshape(h_shape.shape());
  concat_->setup(ctx, {&h1_[0], &h2_[0]}, {&cat_[0]});

  // Expose the conv blobs in the documented order (see Note [GBD message passing]).
  this->blobs_.clear();
  auto expose = [&](const std::vector<std::unique_ptr<Conv>>& convs) {
    for (const auto& c : convs)
      if (c)
        for (const auto& b : c->blobs()) this->blobs_.push_back(b);
  };
  for (auto* v : {&sself_, &smsg_, &sgate_, &bself_, &bmsg_, &bgate_, &fuse_}) expose(*v);
}

template <class T>
void GatedMessagePassingLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom,
                                          const TensorVec<T>& top) {
  CREMA_LAYER_CHECK(static_cast<int>(bottom.size()) == k_, "was set up for ", k_, " regions, got ",
                    bottom.size(), " bottoms");
  check_bottoms(bottom, top);
  const Tensor<T>& b0 = *bottom[0];
  CREMA_SHAPE_CHECK(b0.shape(1) == channels_, "regions have ", b0.shape(1),
                    " channels but the layer was set up for ", channels_, " (shape ",
                    b0.shape_string(), ")");
  const int64_t n = b0.shape(0), h = b0.shape(2), w = b0.shape(3);
  const std::vector<int64_t> hs{n, num_output_, h, w};
  for (int i = 0; i < k_; ++i) {
    for (auto* v : {&sa_, &sg_, &sm_, &ba_, &bg_, &bm_, &h1_, &h2_}) (*v)[i].reshape(hs);
    cat_[i].reshape({n, 2 * num_output_, h, w});
    f_[i].reshape(b0.shape());
    dx_[i].reshape(b0.shape());
    top[i]->reshape(b0.shape());
  }
  x_proxy_.reshape(b0.shape());
  h_proxy_.reshape(hs);
}

template <class T>
void GatedMessagePassingLayer<T>::bind_params() {
  int idx = 0;
  for (auto* v : {&sself_, &smsg_, &sgate_, &bself_, &bmsg_, &bgate_, &fuse_})
    for (auto& c : *v) {
      if (!c) continue;
      for (size_t j = 0; j < c->blobs().size(); ++j, ++idx) {
        c->blobs()[j] = this->blobs_[idx];
        c->set_param_propagate_down(static_cast<int>(j), this->param_propagate_down(idx));
      }
    }
}

template <class T>
void GatedMessagePassingLayer<T>::run_forward(Context& ctx, const TensorVec<T>& bottom,
                                              const TensorVec<T>& top) {
  bind_params();
  const DeviceOps<T> dev(ctx);
  const int k = k_;
  const int64_t nh = h1_[0].count(), nx = bottom[0]->count();
  const kernels::ReluArgs<T> relu{T(0)};
  const kernels::GatedMessagePassingArgs<T> args = args_;
  auto conv = [&](Conv& c, const Tensor<T>& in, Tensor<T>& out) {
    c.forward(ctx, {const_cast<Tensor<T>*>(&in)}, {&out});
  };
  auto update = [&](const Tensor<T>& a, const Tensor<T>& g, const Tensor<T>& m, Tensor<T>& hout) {
    const T *pa = dev.data(a), *pg = dev.data(g), *pm = dev.data(m);
    T* ph = dev.mutable_data(hout);
#if CREMA_WITH_CUDA
    if (dev.gpu())
      return cuda::launch_gated_message_passing_update_forward<T>(ctx.cuda_stream(), nh, pa, pg, pm,
                                                                  ph);
#endif
    parallel_for(ctx, nh, [&](int64_t i) {
      kernels::gated_message_passing_update_forward(i, pa, pg, pm, ph);
    });
  };
  auto start = [&](const Tensor<T>& a, Tensor<T>& hout) {
    const T* pa = dev.data(a);
    T* ph = dev.mutable_data(hout);
#if CREMA_WITH_CUDA
    if (dev.gpu()) return cuda::launch_relu_forward<T>(ctx.cuda_stream(), nh, relu, pa, ph);
#endif
    parallel_for(ctx, nh, [&](int64_t i) { kernels::relu_forward(i, relu, pa, ph); });
  };
  auto mix = [&](const Tensor<T>& h0, const Tensor<T>& f, Tensor<T>& out) {
    const T *x = dev.data(h0), *pf = dev.data(f);
    T* y = dev.mutable_data(out);
#if CREMA_WITH_CUDA
    if (dev.gpu())
      return cuda::launch_gated_message_passing_mix_forward<T>(ctx.cuda_stream(), nx, args, x, pf,
                                                               y);
#endif
    parallel_for(ctx, nx,
                 [&](int64_t j) { kernels::gated_message_passing_mix_forward(j, args, x, pf, y); });
  };
  // Direction S: small -> large context.
  conv(*sself_[0], *bottom[0], sa_[0]);
  start(sa_[0], h1_[0]);
  for (int i = 0; i + 1 < k; ++i) {
    conv(*sself_[i + 1], *bottom[i + 1], sa_[i + 1]);
    conv(*sgate_[i], *bottom[i], sg_[i]);
    conv(*smsg_[i], h1_[i], sm_[i]);
    update(sa_[i + 1], sg_[i], sm_[i], h1_[i + 1]);
  }
  // Direction B: large -> small context.
  conv(*bself_[k - 1], *bottom[k - 1], ba_[k - 1]);
  start(ba_[k - 1], h2_[k - 1]);
  for (int i = k - 1; i > 0; --i) {
    conv(*bself_[i - 1], *bottom[i - 1], ba_[i - 1]);
    conv(*bgate_[i], *bottom[i], bg_[i]);
    conv(*bmsg_[i], h2_[i], bm_[i]);
    update(ba_[i - 1], bg_[i], bm_[i], h2_[i - 1]);
  }
  // Fusion and residual mix per region.
  for (int i = 0; i < k; ++i) {
    concat_->forward(ctx, {&h1_[i], &h2_[i]}, {&cat_[i]});
    conv(*fuse_[i], cat_[i], f_[i]);
    mix(*bottom[i], f_[i], *top[i]);
  }
}

template <class T>
void GatedMessagePassingLayer<T>::conv_backward_add(Context& ctx, Conv& conv, const Tensor<T>& in,
                                                    Tensor<T>& out, Tensor<T>& proxy, T* acc) {
  const DeviceOps<T> dev(ctx);
  proxy.share_data(in);
  conv.backward(ctx, {&out}, {true}, {&proxy});
  dev.axpy(proxy.count(), T(1), dev.diff(proxy), acc);
}

template <class T>
void GatedMessagePassingLayer<T>::run_backward(Context& ctx, const TensorVec<T>& top,
                                               const std::vector<bool>& propagate_down,
                                               const TensorVec<T>& bottom) {
  bind_params();
  const DeviceOps<T> dev(ctx);
  const int k = k_;
  const int64_t nh = h1_[0].count(), nx = bottom[0]->count();
  const kernels::ReluArgs<T> relu{T(0)};
  const kernels::GatedMessagePassingArgs<T> args = args_;
  auto mix = [&](const Tensor<T>& out, Tensor<T>& f, Tensor<T>& acc) {
    const T *pf = dev.data(f), *dy = dev.diff(out);
    T *dx = dev.mutable_data(acc), *df = dev.mutable_diff(f);
#if CREMA_WITH_CUDA
    if (dev.gpu())
      return cuda::launch_gated_message_passing_mix_backward<T>(ctx.cuda_stream(), nx, args, pf, dy,
                                                                dx, df);
#endif
    parallel_for(ctx, nx, [&](int64_t j) {
      kernels::gated_message_passing_mix_backward(j, args, pf, dy, dx, df);
    });
  };
  // Fusion and residual mix: dx_i = dy_i, then the fusion conv and concat give d h1_i, d h2_i (=).
  for (int i = 0; i < k; ++i) {
    mix(*top[i], f_[i], dx_[i]);
    fuse_[i]->backward(ctx, {&f_[i]}, {true}, {&cat_[i]});
    concat_->backward(ctx, {&cat_[i]}, {true, true}, {&h1_[i], &h2_[i]});
  }
  // Gated update backward: pre-activation diffs land in the diffs of sa/sg/sm (or ba/bg/bm).
  auto update = [&](Tensor<T>& a, Tensor<T>& g, Tensor<T>& m, const Tensor<T>& hout) {
    const T *pa = dev.data(a), *pg = dev.data(g), *pm = dev.data(m), *dh = dev.diff(hout);
    T *da = dev.mutable_diff(a), *dg = dev.mutable_diff(g), *dm = dev.mutable_diff(m);
#if CREMA_WITH_CUDA
    if (dev.gpu())
      return cuda::launch_gated_message_passing_update_backward<T>(ctx.cuda_stream(), nh, pa, pg,
                                                                   pm, dh, da, dg, dm);
#endif
    parallel_for(ctx, nh, [&](int64_t i) {
      kernels::gated_message_passing_update_backward(i, pa, pg, pm, dh, da, dg, dm);
    });
  };
  auto start = [&](Tensor<T>& a, const Tensor<T>& hout) {
    const T *pa = dev.data(a), *dh = dev.diff(hout);
    T* da = dev.mutable_diff(a);
#if CREMA_WITH_CUDA
    if (dev.gpu()) return cuda::launch_relu_backward<T>(ctx.cuda_stream(), nh, relu, pa, dh, da);
#endif
    parallel_for(ctx, nh, [&](int64_t i) { kernels::relu_backward(i, relu, pa, dh, da); });
  };
  auto dx = [&](int i) { return dev.mutable_data(dx_[i]); };
  // Direction S in reverse: h1_i's gradient is complete once hop i -> i + 1 has been undone.
  for (int i = k - 1; i > 0; --i) {
    update(sa_[i], sg_[i - 1], sm_[i - 1], h1_[i]);
    conv_backward_add(ctx, *sself_[i], *bottom[i], sa_[i], x_proxy_, dx(i));
    conv_backward_add(ctx, *sgate_[i - 1], *bottom[i - 1], sg_[i - 1], x_proxy_, dx(i - 1));
    conv_backward_add(ctx, *smsg_[i - 1], h1_[i - 1], sm_[i - 1], h_proxy_,
                      dev.mutable_diff(h1_[i - 1]));
  }
  start(sa_[0], h1_[0]);
  conv_backward_add(ctx, *sself_[0], *bottom[0], sa_[0], x_proxy_, dx(0));
  // Direction B in reverse.
  for (int i = 0; i + 1 < k; ++i) {
    update(ba_[i], bg_[i + 1], bm_[i + 1], h2_[i]);
    conv_backward_add(ctx, *bself_[i], *bottom[i], ba_[i], x_proxy_, dx(i));
    conv_backward_add(ctx, *bgate_[i + 1], *bottom[i + 1], bg_[i + 1], x_proxy_, dx(i + 1));
    conv_backward_add(ctx, *bmsg_[i + 1], h2_[i + 1], bm_[i + 1], h_proxy_,
                      dev.mutable_diff(h2_[i + 1]));
  }
  start(ba_[k - 1], h2_[k - 1]);
  conv_backward_add(ctx, *bself_[k - 1], *bottom[k - 1], ba_[k - 1], x_proxy_, dx(k - 1));
  for (int i = 0; i < k; ++i)
    if (propagate_down[i]) dev.copy(nx, dev.data(dx_[i]), dev.mutable_diff(*bottom[i]));
}

template <class T>
void GatedMessagePassingLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom,
                                              const TensorVec<T>& top) {
  run_forward(ctx, bottom, top);
}

template <class T>
void GatedMessagePassingLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                               const std::vector<bool>& propagate_down,
                                               const TensorVec<T>& bottom) {
  run_backward(ctx, top, propagate_down, bottom);
}

#if CREMA_WITH_CUDA
template <class T>
void GatedMessagePassingLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom,
                                              const TensorVec<T>& top) {
  run_forward(ctx, bottom, top);
}

template <class T>
void GatedMessagePassingLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                               const std::vector<bool>& propagate_down,
                                               const TensorVec<T>& bottom) {
  run_backward(ctx, top, propagate_down, bottom);
}
#endif

CREMA_INSTANTIATE_CLASS(GatedMessagePassingLayer);

}  // namespace crema
