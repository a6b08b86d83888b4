#include "ops/input_layer.h"

namespace crema {

template <class T>
void InputLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const InputParameter& p = this->layer_param().input_param();
  const int nt = static_cast<int>(top.size());
  const int ns = p.shape_size();
  // As in Caffe, no shape leaves the tops to be shaped by the caller.
  CREMA_LAYER_CHECK(ns == 0 || ns == 1 || ns == nt, "input_param has ", ns, " shapes for ", nt,
                    " tops; give one shape for all tops or one per top");
  for (int i = 0; i < ns; ++i) {
    for (int j = 0; j < p.shape(i).dim_size(); ++j)
      CREMA_LAYER_CHECK(p.shape(i).dim(j) >= 0, "input_param.shape ", i, " has dim ", j, " = ",
                        p.shape(i).dim(j), "; dims must be >= 0");
  }
  for (int i = 0; i < nt && ns > 0; ++i) top[i]->reshape(p.shape(ns == 1 ? 0 : i));
}

CREMA_INSTANTIATE_CLASS(InputLayer);

}  // namespace crema
