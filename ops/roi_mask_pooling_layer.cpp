#include "ops/roi_mask_pooling_layer.h"

#include <cmath>

namespace crema {

// caffe-GBD's kernel reads the masked value as 0 when comparing but then stores the unmasked
// input as the maximum; Crema implements the intended semantics (max over the map with the inner
// box zeroed, and no gradient to masked positions).
template <class T>
void ROIMaskPoolingLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom,
                                         const TensorVec<T>& top) {
  const ROIMaskPoolingParameter& p = this->layer_param().roi_mask_pooling_param();
  this->set_common_params(p.pooled_h(), p.pooled_w(), p.spatial_scale(), p.spatial_shift(),
                          "roi_mask_pooling_param");
  CREMA_LAYER_CHECK(p.half_part() >= 0 && p.half_part() <= 4,
                    "roi_mask_pooling_param.half_part must be 0 (whole box), 1 (left), 2 (right), "
                    "3 (top) or 4 (bottom), got ",
                    p.half_part());
  CREMA_LAYER_CHECK(std::isfinite(p.roi_scale()) && p.roi_scale() > 0,
                    "roi_mask_pooling_param.roi_scale must be finite and > 0, got ", p.roi_scale());
  CREMA_LAYER_CHECK(std::isfinite(p.mask_scale()) && p.mask_scale() >= 0,
                    "roi_mask_pooling_param.mask_scale must be finite and >= 0 (0: no mask), got ",
                    p.mask_scale());
  this->args_.rescale = true;
  this->args_.roi_scale = static_cast<T>(p.roi_scale());
  this->args_.half_part = p.half_part();
  this->args_.mask_scale = static_cast<T>(p.mask_scale());
}

CREMA_INSTANTIATE_CLASS(ROIMaskPoolingLayer);

}  // namespace crema
