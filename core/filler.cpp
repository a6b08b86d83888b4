#include "core/filler.h"

#include <cmath>
#include <random>

#include "core/error.h"
#include "proto/crema.pb.h"

namespace crema {
namespace {

// Fan-in and fan-out as Caffe computes them: count / shape(0) and count / shape(1).
template <class T>
double fan(const FillerParameter& f, const Tensor<T>& t) {
  CREMA_CHECK_AS(ConfigError, t.num_axes() >= 1 && t.count() > 0,
                 "filler '", f.type(), "' needs a non-empty blob");
  const double fan_in = static_cast<double>(t.count()) / t.shape(0);
  const double fan_out =
      t.num_axes() > 1 ? static_cast<double>(t.count()) / t.shape(1) : fan_in;
  switch (f.variance_norm()) {
    case FillerParameter::FAN_OUT: return fan_out;
    case FillerParameter::AVERAGE: return (fan_in + fan_out) / 2;
    default: return fan_in;
  }
}

}  // namespace

template <class T>
void fill(const FillerParameter& f, Tensor<T>* t, uint64_t seed) {
  std::mt19937_64 gen(seed);
  T* d = t->mutable_cpu_data();
  const int64_t n = t->count();
  const std::string& type = f.type();
  auto uniform = [&](double lo, double hi) {
    CREMA_CHECK_AS(ConfigError, lo <= hi, "filler '", type, "': min ", lo, " > max ", hi);
    std::uniform_real_distribution<double> u(lo, hi);
    for (int64_t i = 0; i < n; ++i) d[i] = static_cast<T>(u(gen));
  };
  auto gaussian = [&](double mean, double std) {
    CREMA_CHECK_AS(ConfigError, std >= 0, "filler '", type, "': std must be >= 0, got ", std);
    std::normal_distribution<double> g(mean, std);
    for (int64_t i = 0; i < n; ++i) d[i] = static_cast<T>(g(gen));
  };
  if (type == "constant") {
    for (int64_t i = 0; i < n; ++i) d[i] = static_cast<T>(f.value());
  } else if (type == "uniform") {
    uniform(f.min(), f.max());
  } else if (type == "gaussian") {
    gaussian(f.mean(), f.std());
    if (f.sparse() >= 0 && n > 0) {
      // Keep each weight with probability sparse / num_outputs (Caffe's sparse Gaussian).
      CREMA_CHECK_AS(ConfigError, t->num_axes() >= 1, "sparse gaussian filler needs a 2-d blob");
      const double p = static_cast<double>(f.sparse()) / t->shape(0);
      std::bernoulli_distribution keep(std::min(1.0, p));
      for (int64_t i = 0; i < n; ++i)
        if (!keep(gen)) d[i] = 0;
    }
  } else if (type == "positive_unitball") {
    uniform(0, 1);
    const int64_t rows = t->shape(0), dim = n / std::max<int64_t>(rows, 1);
    for (int64_t r = 0; r < rows; ++r) {
      double s = 0;
      for (int64_t j = 0; j < dim; ++j) s += d[r * dim + j];
      for (int64_t j = 0; j < dim; ++j) d[r * dim + j] = static_cast<T>(d[r * dim + j] / s);
    }
  } else if (type == "xavier") {
    const double scale = std::sqrt(3.0 / fan(f, *t));
    uniform(-scale, scale);
  } else if (type == "msra") {
    gaussian(0, std::sqrt(2.0 / fan(f, *t)));
  } else if (type == "bilinear") {
    CREMA_CHECK_AS(ConfigError, t->num_axes() == 4 && t->shape(2) == t->shape(3),
                   "bilinear filler needs a 4-d blob with square kernels, got ",
                   t->shape_string());
    const int64_t k = t->shape(3);
    const double factor = std::ceil(k / 2.0);
    const double c = (2 * factor - 1 - static_cast<int64_t>(factor) % 2) / (2.0 * factor);
    for (int64_t i = 0; i < n; ++i) {
      const double x = i % k, y = (i / k) % k;
      d[i] = static_cast<T>((1 - std::fabs(x / factor - c)) * (1 - std::fabs(y / factor - c)));
    }
  } else {
    throw ConfigError(str_cat("unknown filler type '", type,
                              "'; known: constant, uniform, gaussian, positive_unitball, xavier, "
                              "msra, bilinear"));
  }
}

template void fill<float>(const FillerParameter&, Tensor<float>*, uint64_t);
template void fill<double>(const FillerParameter&, Tensor<double>*, uint64_t);

}  // namespace crema
