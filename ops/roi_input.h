/// Host-side checks of the (features, rois) bottoms shared by ROIPooling, ROIMaskPooling and
/// ROIAlign.
#pragma once

#include <cstdint>

#include "core/error.h"
#include "core/tensor.h"

namespace crema {

/// Checks bottom 0 is N x C x H x W and bottom 1 is R x 5 (or R x 5 x 1 x 1, as Caffe nets
/// sometimes shape it); returns R.
template <class T>
int64_t check_roi_bottoms(const Tensor<T>& features, const Tensor<T>& rois) {
  CREMA_CHECK_AS(ShapeError, features.num_axes() == 4,
                 "bottom 0 (features) must be 4-d (N,C,H,W), got ", features.shape_string());
  const bool r5 =
      rois.num_axes() >= 2 && rois.shape(1) == 5 &&
      (rois.num_axes() == 2 || (rois.num_axes() == 4 && rois.shape(2) == 1 && rois.shape(3) == 1));
  CREMA_CHECK_AS(ShapeError, r5,
                 "bottom 1 (rois) must be R x 5 rows of (batch_index, x1, y1, x2, y2), got ",
                 rois.shape_string());
  return rois.shape(0);
}

/// Throws DataError naming the first RoI whose batch index is not in [0, batch).
template <class T>
void check_roi_batch_indices(const T* rois, int64_t num_rois, int64_t batch) {
  for (int64_t r = 0; r < num_rois; ++r) {
    const T b = rois[5 * r];
    CREMA_CHECK_AS(DataError, b >= T(0) && b < static_cast<T>(batch), "RoI ", r,
                   " has batch index ", b, ", outside [0, ", batch,
                   ") for bottom 0 (features) with ", batch,
                   " images; the first rois column must index an image of the batch");
  }
}

}  // namespace crema
