#include "ops/lstm_layer.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include "core/parallel.h"
#include "cuda_kernels/lstm.h"
#include "ops/device_ops.h"

namespace crema {

// Note [LSTM state across forward calls]
// Caffe's RecurrentLayer without expose_hidden copies the final h and c of one forward into the
// initial state of the next, and step t = 0 multiplies that state by cont_0 like any other step.
// So a batch whose cont is 0 at t = 0 starts from zero state, while a batch with cont_0 = 1
// continues the streams of the previous batch (truncated BPTT over long sequences: no gradient
// flows into the carried state). We do the same. The carried state is zero at first and after a
// change of N; snapshots save it (save_state) so a resumed run continues exactly, and test passes
// start from the state the test net had when it was built (zero). With expose_hidden the initial
// state comes from the h_0 / c_0 bottoms and nothing is carried.
// Unlike Caffe, the number of time steps may change between forward calls, and gradients arriving
// at the h_T / c_T tops flow back (Caffe's unrolled net drops them).

// Note [LSTM on both devices]
// One orchestration (run_forward / run_backward) serves both paths: the time loop stays on the
// host and launches per step. LstmOps<T> picks, by ctx's device, the tensors' host or device
// copies, OpenBLAS or cuBLAS for the GEMMs, parallel_for or the launchers for the step bodies
// (the same bodies, Args and item counts), and host or device copies (DeviceOps).

namespace {

constexpr char kStateMagic[] = "crema-lstm-state-v1";

// The orchestration's operations on ctx's device; see Note [LSTM on both devices].
template <class T>
struct LstmOps : DeviceOps<T> {
  explicit LstmOps(const Context& c) : DeviceOps<T>(c) {}

  void cont_scale(int64_t n, const kernels::LstmArgs& a, const T* cont, const T* x, T* y) const {
#if CREMA_WITH_CUDA
    if (this->gpu())
      return cuda::launch_lstm_cont_scale<T>(this->ctx().cuda_stream(), n, a, cont, x, y);
#endif
    parallel_for(this->ctx(), n, [&](int64_t i) { kernels::lstm_cont_scale(i, a, cont, x, y); });
  }
  void forward_step(int64_t n, const kernels::LstmArgs& a,
                    const kernels::LstmForwardStep<T>& step) const {
#if CREMA_WITH_CUDA
    if (this->gpu())
      return cuda::launch_lstm_forward_step<T>(this->ctx().cuda_stream(), n, a, step);
#endif
    parallel_for(this->ctx(), n, [&](int64_t i) { kernels::lstm_forward_step(i, a, step); });
  }
  void backward_step(int64_t n, const kernels::LstmArgs& a,
                     const kernels::LstmBackwardStep<T>& step) const {
#if CREMA_WITH_CUDA
    if (this->gpu())
      return cuda::launch_lstm_backward_step<T>(this->ctx().cuda_stream(), n, a, step);
#endif
    parallel_for(this->ctx(), n, [&](int64_t i) { kernels::lstm_backward_step(i, a, step); });
  }
};

}  // namespace

template <class T>
void LstmLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const RecurrentParameter& rp = this->layer_param().recurrent_param();
  h_ = rp.num_output();
  CREMA_LAYER_CHECK(h_ > 0, "recurrent_param.num_output must be > 0, got ", h_,
                    "; set recurrent_param { num_output: <hidden size> }");
  static_input_ = static_cast<int>(bottom.size()) > (expose_hidden() ? 4 : 2);
  CREMA_SHAPE_CHECK(bottom[0]->num_axes() >= 3, "bottom 0 (x) must be T x N x ... (at least 3 ",
                    "axes: time steps, streams, inputs), got ", bottom[0]->shape_string(),
                    "; reshape scalar inputs to T x N x 1");
  i_ = bottom[0]->count(2);
  CREMA_SHAPE_CHECK(i_ > 0, "bottom 0 (x) has no inputs per step: ", bottom[0]->shape_string());
  if (static_input_) {
    CREMA_SHAPE_CHECK(bottom[2]->num_axes() >= 2, "bottom 2 (x_static) must be N x ... (at ",
                      "least 2 axes), got ", bottom[2]->shape_string());
    i_static_ = bottom[2]->count(1);
    CREMA_SHAPE_CHECK(i_static_ > 0,
                      "bottom 2 (x_static) has no inputs: ", bottom[2]->shape_string());
  }
  const int64_t g4 = 4 * h_;
  this->blobs_.clear();
  this->blobs_.push_back(std::make_shared<Tensor<T>>(std::vector<int64_t>{g4, i_}));
  this->fill_blob(ctx, rp.weight_filler(), 0);
  this->blobs_.push_back(std::make_shared<Tensor<T>>(std::vector<int64_t>{g4}));
  this->fill_blob(ctx, rp.bias_filler(), 1);
  if (static_input_) {
    this->blobs_.push_back(std::make_shared<Tensor<T>>(std::vector<int64_t>{g4, i_static_}));
    this->fill_blob(ctx, rp.weight_filler(), 2);
  }
  this->blobs_.push_back(std::make_shared<Tensor<T>>(std::vector<int64_t>{g4, h_}));
  this->fill_blob(ctx, rp.weight_filler(), whc_index());
}

template <class T>
void LstmLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const Tensor<T>& x = *bottom[0];
  CREMA_SHAPE_CHECK(x.num_axes() >= 3, "bottom 0 (x) must be T x N x ... (at least 3 axes), got ",
                    x.shape_string());
  t_ = x.shape(0);
  n_ = x.shape(1);
  CREMA_SHAPE_CHECK(t_ > 0 && n_ > 0, "bottom 0 (x) of shape ", x.shape_string(),
                    " has no time steps or no streams");
  CREMA_SHAPE_CHECK(x.count(2) == i_, "bottom 0 (x) of shape ", x.shape_string(), " has ",
                    x.count(2), " inputs per step, but W_xc expects ", i_,
                    "; the input size may not change after setup");
  const Tensor<T>& cont = *bottom[1];
  CREMA_SHAPE_CHECK(cont.num_axes() == 2 && cont.shape(0) == t_ && cont.shape(1) == n_,
                    "bottom 1 (cont) must be T x N = ", t_, "x", n_, " like x's first two axes, ",
                    "got ", cont.shape_string());
  if (static_input_) {
    const Tensor<T>& xs = *bottom[2];
    CREMA_SHAPE_CHECK(xs.num_axes() >= 2 && xs.shape(0) == n_, "bottom 2 (x_static) must be N x ",
                      "... with N = ", n_, " streams like x, got ", xs.shape_string());
    CREMA_SHAPE_CHECK(xs.count(1) == i_static_, "bottom 2 (x_static) of shape ", xs.shape_string(),
                      " has ", xs.count(1), " inputs, but W_xc_static expects ", i_static_,
                      "; the input size may not change after setup");
  }
  const std::vector<int64_t> state_shape{1, n_, h_};
  if (expose_hidden()) {
    const int h0 = h0_index();
    const char* names[2] = {"h_0", "c_0"};
    for (int k = 0; k < 2; ++k)
      CREMA_SHAPE_CHECK(bottom[h0 + k]->shape() == state_shape, "bottom ", h0 + k, " (", names[k],
                        ") must be 1 x N x H = ", shape_string(state_shape), ", got ",
                        bottom[h0 + k]->shape_string());
  }
  for (size_t k = 0; k < top.size(); ++k)
    for (size_t b = 0; b < bottom.size(); ++b)
      CREMA_LAYER_CHECK(top[k] != bottom[b], "cannot run in place; give top ", k, " its own name");
  top[0]->reshape({t_, n_, h_});
  if (expose_hidden()) {
    top[1]->reshape(state_shape);
    top[2]->reshape(state_shape);
  }
  const int64_t g4 = 4 * h_;
  gates_.reshape({t_, n_, g4});
  cell_.reshape({t_, n_, h_});
  hidden_.reshape({t_, n_, h_});
  h_conted_.reshape({t_, n_, h_});
  dgates_.reshape({t_, n_, g4});
  dh_next_.reshape({n_, h_});
  dc_.reshape({n_, h_});
  if (static_input_) {
    gates_static_.reshape({n_, g4});
    dgates_static_.reshape({n_, g4});
  }
  if (bias_multiplier_.count() != t_ * n_) {
    bias_multiplier_.reshape({t_ * n_});
    bias_multiplier_.set_data(T(1));
  }
  if (!expose_hidden()) {
    c_init_.reshape({n_, h_});
    // A new number of streams starts from zero state (see Note [LSTM state across forward calls]).
    if (state_h_.shape() != std::vector<int64_t>{n_, h_}) {
      state_h_.reshape({n_, h_});
      state_c_.reshape({n_, h_});
      state_h_.set_data(T(0));
      state_c_.set_data(T(0));
    }
  }
}

template <class T>
void LstmLayer<T>::run_forward(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const LstmOps<T> dev(ctx);
  const int64_t g4 = 4 * h_, tn = t_ * n_, nh = n_ * h_;
  const T* cont = dev.data(*bottom[1]);
  T* gates = dev.mutable_data(gates_);
  // Input projection of all steps at once: gates (TN x 4H) = x W_xc^T + 1 b_c.
  dev.gemm(false, true, tn, g4, i_, T(1), dev.data(*bottom[0]), dev.data(*this->blobs_[0]), T(0),
           gates);
  dev.gemm(false, false, tn, g4, 1, T(1), dev.data(bias_multiplier_), dev.data(*this->blobs_[1]),
           T(1), gates);
  const T* gates_static = nullptr;
  if (static_input_) {
    T* gs = dev.mutable_data(gates_static_);
    dev.gemm(false, true, n_, g4, i_static_, T(1), dev.data(*bottom[2]), dev.data(*this->blobs_[2]),
             T(0), gs);
    gates_static = gs;
  }
  const T *h_init, *c_init;
  if (expose_hidden()) {
    h_init = dev.data(*bottom[h0_index()]);
    c_init = dev.data(*bottom[h0_index() + 1]);
  } else {
    // state_c_ is overwritten below; backward needs the c_0 this pass used.
    T* c0 = dev.mutable_data(c_init_);
    dev.copy(nh, dev.data(state_c_), c0);
    h_init = dev.data(state_h_);
    c_init = c0;
  }
  const kernels::LstmArgs args{h_};
  T* h_conted = dev.mutable_data(h_conted_);
  T* cell = dev.mutable_data(cell_);
  T* hidden = dev.mutable_data(hidden_);
  dev.cont_scale(nh, args, cont, h_init, h_conted);
  const T* w_hc = dev.data(*this->blobs_[whc_index()]);
  for (int64_t t = 0; t < t_; ++t) {
    T* gates_t = gates + t * n_ * g4;
    // Recurrent projection: gates_t += (cont_t h_{t-1}) W_hc^T.
    dev.gemm(false, true, n_, g4, h_, T(1), h_conted + t * nh, w_hc, T(1), gates_t);
    const bool last = t + 1 == t_;
    kernels::LstmForwardStep<T> step;
    step.gates = gates_t;
    step.gates_static = gates_static;
    step.cont = cont + t * n_;
    step.c_prev = t == 0 ? c_init : cell + (t - 1) * nh;
    step.c = cell + t * nh;
    step.h = hidden + t * nh;
    step.cont_next = last ? nullptr : cont + (t + 1) * n_;
    step.h_conted_next = last ? nullptr : h_conted + (t + 1) * nh;
    dev.forward_step(nh, args, step);
  }
  dev.copy(tn * h_, hidden, dev.mutable_data(*top[0]));
  const T* h_last = hidden + (t_ - 1) * nh;
  const T* c_last = cell + (t_ - 1) * nh;
  if (expose_hidden()) {
    dev.copy(nh, h_last, dev.mutable_data(*top[1]));
    dev.copy(nh, c_last, dev.mutable_data(*top[2]));
  } else {
    dev.copy(nh, h_last, dev.mutable_data(state_h_));
    dev.copy(nh, c_last, dev.mutable_data(state_c_));
  }
}

template <class T>
void LstmLayer<T>::run_backward(Context& ctx, const TensorVec<T>& top,
                                const std::vector<bool>& propagate_down,
                                const TensorVec<T>& bottom) {
  const LstmOps<T> dev(ctx);
  const int64_t g4 = 4 * h_, tn = t_ * n_, nh = n_ * h_;
  const T* cont = dev.data(*bottom[1]);
  const T* gates = dev.data(gates_);
  const T* cell = dev.data(cell_);
  const T* dh_top = dev.diff(*top[0]);
  const T* w_hc = dev.data(*this->blobs_[whc_index()]);
  const T* c_init = expose_hidden() ? dev.data(*bottom[h0_index() + 1]) : dev.data(c_init_);
  T* dgates = dev.mutable_data(dgates_);
  T* dh_next = dev.mutable_data(dh_next_);
  T* dc = dev.mutable_data(dc_);
  // The final state's gradients enter at the last step (zero when it is not exposed).
  const T* dh_last = nullptr;
  if (expose_hidden()) {
    dh_last = dev.diff(*top[1]);
    dev.copy(nh, dev.diff(*top[2]), dc);
  } else {
    dev.zero(nh, dc);
  }
  const bool need_h0 = expose_hidden() && propagate_down[h0_index()];
  const kernels::LstmArgs args{h_};
  for (int64_t t = t_ - 1; t >= 0; --t) {
    const bool last = t + 1 == t_;
    T* dgates_t = dgates + t * n_ * g4;
    kernels::LstmBackwardStep<T> step;
    step.gates = gates + t * n_ * g4;
    step.c = cell + t * nh;
    step.c_prev = t == 0 ? c_init : cell + (t - 1) * nh;
    step.cont = cont + t * n_;
    step.dh_top = dh_top + t * nh;
    step.dh_next = last ? dh_last : dh_next;
    step.cont_next = last ? nullptr : cont + (t + 1) * n_;
    step.dc = dc;
    step.dgates = dgates_t;
    dev.backward_step(nh, args, step);
    // Gradient of h_{t-1} through this step, before the cont_t gate: dgates_t W_hc.
    if (t > 0 || need_h0) dev.gemm(false, false, n_, h_, g4, T(1), dgates_t, w_hc, T(0), dh_next);
  }
  if (need_h0) dev.cont_scale(nh, args, cont, dh_next, dev.mutable_diff(*bottom[h0_index()]));
  if (expose_hidden() && propagate_down[h0_index() + 1])
    dev.copy(nh, dc, dev.mutable_diff(*bottom[h0_index() + 1]));

  const T* x = dev.data(*bottom[0]);
  const T* ones = dev.data(bias_multiplier_);
  if (this->param_propagate_down(0))  // dW_xc (4H x I) += dgates^T x
    dev.gemm(true, false, g4, i_, tn, T(1), dgates, x, T(1), dev.mutable_diff(*this->blobs_[0]));
  if (this->param_propagate_down(1))  // db_c += column sums of dgates
    dev.gemv(true, tn, g4, T(1), dgates, ones, T(1), dev.mutable_diff(*this->blobs_[1]));
  if (this->param_propagate_down(whc_index()))  // dW_hc (4H x H) += dgates^T (cont h_{t-1})
    dev.gemm(true, false, g4, h_, tn, T(1), dgates, dev.data(h_conted_), T(1),
             dev.mutable_diff(*this->blobs_[whc_index()]));
  if (static_input_ && (this->param_propagate_down(2) || propagate_down[2])) {
    // The static term enters every step: its gradient is the sum of dgates over time.
    T* dgs = dev.mutable_data(dgates_static_);
    dev.gemv(true, t_, n_ * g4, T(1), dgates, ones, T(0), dgs);
    if (this->param_propagate_down(2))
      dev.gemm(true, false, g4, i_static_, n_, T(1), dgs, dev.data(*bottom[2]), T(1),
               dev.mutable_diff(*this->blobs_[2]));
    if (propagate_down[2])
      dev.gemm(false, false, n_, i_static_, g4, T(1), dgs, dev.data(*this->blobs_[2]), T(0),
               dev.mutable_diff(*bottom[2]));
  }
  if (propagate_down[0])  // dx (TN x I) = dgates W_xc
    dev.gemm(false, false, tn, i_, g4, T(1), dgates, dev.data(*this->blobs_[0]), T(0),
             dev.mutable_diff(*bottom[0]));
  // cont is treated as a constant (as Caffe does): a forced gradient is zero.
  if (propagate_down[1]) dev.zero(bottom[1]->count(), dev.mutable_diff(*bottom[1]));
}

template <class T>
void LstmLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  run_forward(ctx, bottom, top);
}

template <class T>
void LstmLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                const std::vector<bool>& propagate_down,
                                const TensorVec<T>& bottom) {
  run_backward(ctx, top, propagate_down, bottom);
}

#if CREMA_WITH_CUDA
template <class T>
void LstmLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  run_forward(ctx, bottom, top);
}

template <class T>
void LstmLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                const std::vector<bool>& propagate_down,
                                const TensorVec<T>& bottom) {
  run_backward(ctx, top, propagate_down, bottom);
}
#endif

template <class T>
std::string LstmLayer<T>::save_state() const {
  if (expose_hidden()) return {};
  // Magic, then N and H as int64, then h and c as doubles (exact for float and double), all in
  // host byte order.
  const int64_t n = state_h_.num_axes() == 2 ? state_h_.shape(0) : 0;
  const int64_t count = n * h_;
  std::string s(kStateMagic, sizeof(kStateMagic));
  const int64_t dims[2] = {n, h_};
  s.append(reinterpret_cast<const char*>(dims), sizeof(dims));
  for (const Tensor<T>* st : {&state_h_, &state_c_})
    for (int64_t i = 0; i < count; ++i) {
      const double v = static_cast<double>(st->cpu_data()[i]);
      s.append(reinterpret_cast<const char*>(&v), sizeof(v));
    }
  return s;
}

template <class T>
void LstmLayer<T>::load_state(const std::string& state) {
  CREMA_CHECK_AS(DataError, !expose_hidden(),
                 "LSTM layer with expose_hidden carries no state, but the snapshot has some; the "
                 "snapshot is from another net");
  const size_t head = sizeof(kStateMagic) + 2 * sizeof(int64_t);
  CREMA_CHECK_AS(
      DataError,
      state.size() >= head && std::memcmp(state.data(), kStateMagic, sizeof(kStateMagic)) == 0,
      "LSTM state in the snapshot is not one (", state.size(),
      " bytes, bad header); the snapshot is corrupt or from another layer type");
  int64_t dims[2];
  std::memcpy(dims, state.data() + sizeof(kStateMagic), sizeof(dims));
  CREMA_CHECK_AS(DataError, dims[1] == h_ && dims[0] >= 0,
                 "LSTM state in the snapshot has N=", dims[0], ", H=", dims[1],
                 " but the layer has num_output ", h_, "; the snapshot is from another net");
  const int64_t count = dims[0] * h_;
  CREMA_CHECK_AS(DataError, state.size() == head + 2 * sizeof(double) * count,
                 "LSTM state in the snapshot has ", state.size(), " bytes, expected ",
                 head + 2 * sizeof(double) * count, " for N=", dims[0], ", H=", h_,
                 "; the snapshot is corrupt");
  const char* p = state.data() + head;
  for (Tensor<T>* st : {&state_h_, &state_c_}) {
    st->reshape({dims[0], h_});
    T* d = st->mutable_cpu_data();
    for (int64_t i = 0; i < count; ++i, p += sizeof(double)) {
      double v;
      std::memcpy(&v, p, sizeof(v));
      d[i] = static_cast<T>(v);
    }
  }
}

CREMA_INSTANTIATE_CLASS(LstmLayer);

}  // namespace crema
