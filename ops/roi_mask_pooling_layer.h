/// ROIMaskPoolingLayer<T>: GBD-Net's context RoI pooling (caffe-GBD ROIMaskPooling): the box is
/// scaled about its centre by roi_scale, optionally cut to one half (half_part 1 left, 2 right,
/// 3 top, 4 bottom), then max pooled as ROIPooling; mask_scale > 0 zeroes the inner box of that
/// scale. The pooling bodies are ROIPooling's.
#pragma once

#include "ops/roi_pooling_layer.h"

namespace crema {

template <class T>
class ROIMaskPoolingLayer : public ROIPoolingLayer<T> {
 public:
  using ROIPoolingLayer<T>::ROIPoolingLayer;

  const char* type() const override { return "ROIMaskPooling"; }

  void layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
};

}  // namespace crema
