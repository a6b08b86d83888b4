#include "core/error.h"

#include <new>

namespace crema {

void rethrow_with_context(const std::string& prefix) {
  try {
    throw;
  } catch (const ConfigError& e) {
    throw ConfigError(prefix + e.what());
  } catch (const ShapeError& e) {
    throw ShapeError(prefix + e.what());
  } catch (const DataError& e) {
    throw DataError(prefix + e.what());
  } catch (const DeviceError& e) {
    throw DeviceError(prefix + e.what());
  } catch (const NumericError& e) {
    throw NumericError(prefix + e.what());
  } catch (const Error& e) {
    throw Error(prefix + e.what());
  } catch (const InternalError& e) {
    throw InternalError(prefix + e.what());
  } catch (const std::bad_alloc&) {
    throw Error(prefix + "out of memory; reduce batch_size or the input size");
  }
}

}  // namespace crema
