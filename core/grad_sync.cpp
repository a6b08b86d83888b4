#include "core/grad_sync.h"

#include <algorithm>
#include <cstdio>
#include <numeric>

#include "core/error.h"

namespace crema {

BucketPlan plan_buckets(const std::vector<int64_t>& counts, const std::vector<int>& ready_layer,
                        const std::vector<bool>& reduce, size_t elem_bytes, size_t bucket_bytes) {
  CREMA_CHECK_AS(InternalError, counts.size() == ready_layer.size() && counts.size() == reduce.size(),
                 "plan_buckets: ", counts.size(), " counts, ", ready_layer.size(),
                 " ready layers, ", reduce.size(), " flags");
  std::vector<int> order;
  for (int k = 0; k < static_cast<int>(counts.size()); ++k)
    if (reduce[k]) order.push_back(k);
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    return ready_layer[a] != ready_layer[b] ? ready_layer[a] > ready_layer[b] : a > b;
  });
  BucketPlan plan;
  plan.bucket_of.assign(counts.size(), -1);
  for (int k : order) {
    const size_t bytes = static_cast<size_t>(counts[k]) * elem_bytes;
    if (plan.buckets.empty() ||
        (plan.buckets.back().count > 0 &&
         static_cast<size_t>(plan.buckets.back().count) * elem_bytes + bytes > bucket_bytes))
      plan.buckets.emplace_back();
    plan.buckets.back().params.push_back(k);
    plan.buckets.back().count += counts[k];
    plan.bucket_of[k] = static_cast<int>(plan.buckets.size()) - 1;
  }
  return plan;
}

BucketReadiness::BucketReadiness(const BucketPlan& plan, std::vector<int> ready_layer)
    : plan_(plan), ready_layer_(std::move(ready_layer)) {
  reset();
}

void BucketReadiness::reset() {
  pending_.clear();
  for (const auto& b : plan_.buckets) pending_.push_back(static_cast<int>(b.params.size()));
  completed_ = 0;
  for (int p : pending_) completed_ += p == 0;
}

std::vector<int> BucketReadiness::layer_done(int layer) {
  std::vector<int> complete;
  for (size_t k = 0; k < ready_layer_.size(); ++k) {
    const int b = plan_.bucket_of[k];
    if (b < 0 || ready_layer_[k] != layer) continue;
    if (--pending_[b] == 0) complete.push_back(b);
  }
  std::sort(complete.begin(), complete.end());
  completed_ += static_cast<int>(complete.size());
  return complete;
}

template <class T>
GradientSync<T>::GradientSync(Net<T>& net, Communicator& comm, size_t bucket_bytes)
    : net_(net),
      comm_(comm),
      ready_layer_(net.learnable_param_ready_layers()),
      readiness_(plan_, ready_layer_) {
  std::vector<int64_t> counts;
  std::vector<bool> reduce;
  for (size_t k = 0; k < net.learnable_params().size(); ++k) {
    counts.push_back(net.learnable_params()[k]->count());
    reduce.push_back(net.params_lr()[k] != 0);  // frozen parameters are never updated
  }
  plan_ = plan_buckets(counts, ready_layer_, reduce, sizeof(T), bucket_bytes);
  readiness_.reset();
  if (net.context().on_gpu()) {
    nccl_ = std::make_unique<NcclComm>(comm, net.context());
    for (size_t b = 0; b < plan_.buckets.size(); ++b)
      nccl_->bucket_buffer(static_cast<int>(b), plan_.buckets[b].count * sizeof(T));
  } else {
    for (const auto& b : plan_.buckets) buffers_.emplace_back(b.count);
  }
  tickets_.assign(plan_.buckets.size(), 0);
  reduce_ms_.assign(plan_.buckets.size(), 0.0);
  stats_.bucket_ready_ms.assign(plan_.buckets.size(), 0.0);
  stats_.bucket_reduce_ms.assign(plan_.buckets.size(), 0.0);
}

template <class T>
GradientSync<T>::~GradientSync() {
  net_.set_backward_hook(nullptr);
}

template <class T>
void GradientSync<T>::begin_backward() {
  readiness_.reset();
  std::fill(tickets_.begin(), tickets_.end(), 0);
  backward_start_ = clock::now();
  net_.set_backward_hook([this](int layer) {
    for (int b : readiness_.layer_done(layer)) start_bucket(b);
  });
}

template <class T>
void GradientSync<T>::start_bucket_on_gpu(int b) {
  // Pack, average and unpack on NCCL's stream, after the compute stream's work so far.
  const Context& ctx = net_.context();
  const auto& params = net_.learnable_params();
  const BucketPlan::Bucket& bucket = plan_.buckets[b];
  char* buf = static_cast<char*>(nccl_->bucket_buffer(b, bucket.count * sizeof(T)));
  nccl_->begin_bucket(b);
  char* dst = buf;
  for (int k : bucket.params) {
    nccl_->copy(dst, params[k]->gpu_diff(ctx), params[k]->count() * sizeof(T));
    dst += params[k]->count() * sizeof(T);
  }
  nccl_->allreduce_mean(buf, bucket.count, comm_type<T>());
  const char* src = buf;
  for (int k : bucket.params) {
    nccl_->copy(params[k]->mutable_gpu_diff(ctx), src, params[k]->count() * sizeof(T));
    src += params[k]->count() * sizeof(T);
  }
  nccl_->record_done(b);
}

template <class T>
void GradientSync<T>::start_bucket(int b) {
  stats_.bucket_ready_ms[b] +=
      std::chrono::duration<double, std::milli>(clock::now() - backward_start_).count();
  if (nccl_) {
    start_bucket_on_gpu(b);
    return;
  }
  const auto& params = net_.learnable_params();
  const BucketPlan::Bucket& bucket = plan_.buckets[b];
  T* buf = buffers_[b].data();
  auto start = std::make_shared<clock::time_point>();
  // Packing and unpacking run on the communication thread: nothing else touches these gradients
  // until finish(), so backward of the earlier layers goes on meanwhile.
  auto pack = [this, &bucket, &params, buf, start] {
    *start = clock::now();
    T* dst = buf;
    for (int k : bucket.params) dst = std::copy_n(params[k]->cpu_diff(), params[k]->count(), dst);
  };
  const T inv_world = T(1) / static_cast<T>(comm_.world());
  auto unpack = [this, b, &bucket, &params, buf, start, inv_world] {
    const T* src = buf;
    for (int k : bucket.params) {
      T* diff = params[k]->mutable_cpu_diff();
      for (int64_t i = 0; i < params[k]->count(); ++i) diff[i] = src[i] * inv_world;
      src += params[k]->count();
    }
    reduce_ms_[b] = std::chrono::duration<double, std::milli>(clock::now() - *start).count();
  };
  tickets_[b] = comm_.post_allreduce_sum(buf, bucket.count, comm_type<T>(),
                                         str_cat("gradient bucket ", b + 1, "/",
                                                 plan_.buckets.size()),
                                         pack, unpack);
}

template <class T>
void GradientSync<T>::finish() {
  net_.set_backward_hook(nullptr);
  CREMA_CHECK_AS(InternalError, readiness_.all_complete(),
                 "gradient buckets left incomplete by the backward pass");
  const auto end = clock::now();
  if (nccl_) nccl_->finish(static_cast<int>(reduce_ms_.size()), reduce_ms_.data());
  for (Communicator::Ticket t : tickets_) comm_.wait(t);
  const auto synced = clock::now();
  ++stats_.steps;
  stats_.backward_ms += std::chrono::duration<double, std::milli>(end - backward_start_).count();
  stats_.exposed_ms += std::chrono::duration<double, std::milli>(synced - end).count();
  for (size_t b = 0; b < reduce_ms_.size(); ++b) {
    stats_.reduce_ms += reduce_ms_[b];
    stats_.bucket_reduce_ms[b] += reduce_ms_[b];
  }
}

template <class T>
std::string GradientSync<T>::report() const {
  const double n = std::max(1, stats_.steps);
  const auto names = net_.learnable_param_names();
  std::string out = str_cat("gradient exchange over ", comm_.world(), " ranks (",
                            nccl_ ? "NCCL" : comm_.transport(), "), ", stats_.steps,
                            " steps, per step:\n");
  char line[256];
  std::snprintf(line, sizeof line, "  %-6s %-34s %10s %10s %10s\n", "bucket", "parameters", "MB",
                "ready ms", "reduce ms");
  out += line;
  for (size_t b = 0; b < plan_.buckets.size(); ++b) {
    const auto& params = plan_.buckets[b].params;
    std::string which = names[params.front()];
    if (params.size() > 1) which = str_cat(names[params.back()], " .. ", which);
    if (which.size() > 34) which = which.substr(0, 31) + "...";
    std::snprintf(line, sizeof line, "  %-6zu %-34s %10.3f %10.3f %10.3f\n", b + 1, which.c_str(),
                  plan_.buckets[b].count * sizeof(T) / 1048576.0, stats_.bucket_ready_ms[b] / n,
                  stats_.bucket_reduce_ms[b] / n);
    out += line;
  }
  const double reduce = stats_.reduce_ms / n, exposed = stats_.exposed_ms / n;
  const double overlapped = reduce > 0 ? std::clamp(1.0 - exposed / reduce, 0.0, 1.0) : 1.0;
  std::snprintf(line, sizeof line,
                "  backward %.3f ms, all-reduce %.3f ms, waited after backward %.3f ms: %.0f%% of "
                "the communication overlapped backward",
                stats_.backward_ms / n, reduce, exposed, 100.0 * overlapped);
  out += line;
  return out;
}

template class GradientSync<float>;
template class GradientSync<double>;

}  // namespace crema
