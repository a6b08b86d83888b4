/// Crema's exception types and the CREMA_CHECK macro (DESIGN §5).
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace crema {

/// Joins any streamable parts into one string.
template <class... Parts>
std::string str_cat(Parts&&... parts) {
  std::ostringstream os;
  (os << ... << std::forward<Parts>(parts));
  return os.str();
}

/// Base of every error a user can cause; the CLI prints what() and exits 1.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Bad prototxt or parameter value (file:line:column where known).
class ConfigError : public Error {
 public:
  using Error::Error;
};

/// Tensor shapes that do not fit (layer, blob, expected vs got).
class ShapeError : public Error {
 public:
  using Error::Error;
};

/// Missing, truncated or corrupt files and records.
class DataError : public Error {
 public:
  using Error::Error;
};

/// CUDA / cuBLAS / cuDNN / NCCL failures, or a device asked for where none is.
class DeviceError : public Error {
 public:
  using Error::Error;
};

/// A peer rank died or hangs, or the MPI / NCCL transport failed (data-parallel training).
class CommError : public Error {
 public:
  using Error::Error;
};

/// Training diverged (NaN/Inf loss).
class NumericError : public Error {
 public:
  using Error::Error;
};

/// A bug in Crema itself; the CLI exits 2.
class InternalError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

}  // namespace crema

/// Throws crema::Error (or the given subclass) with the parts joined when cond is false.
#define CREMA_CHECK(cond, ...) \
  do {                         \
    if (!(cond)) throw ::crema::Error(::crema::str_cat(__VA_ARGS__)); \
  } while (0)

#define CREMA_CHECK_AS(ErrorType, cond, ...) \
  do {                                       \
    if (!(cond)) throw ::crema::ErrorType(::crema::str_cat(__VA_ARGS__)); \
  } while (0)

/// For invariants that only a bug in Crema can break.
#define CREMA_ASSERT(cond)                                                          \
  do {                                                                              \
    if (!(cond))                                                                    \
      throw ::crema::InternalError(                                                 \
          ::crema::str_cat("internal error: ", #cond, " at ", __FILE__, ":", __LINE__)); \
  } while (0)

namespace crema {

/// Rethrows the exception being handled with `prefix` prepended to its message, keeping its
/// type (so the CLI's exit code stays right). Call only inside a catch block.
[[noreturn]] void rethrow_with_context(const std::string& prefix);

}  // namespace crema
