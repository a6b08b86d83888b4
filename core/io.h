/// Reading and writing protos (text with line numbers, binary with checksums, atomically), .npy.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <google/protobuf/message.h>

#include "core/tensor.h"

namespace crema {

/// Where each top-level repeated element of a parsed text proto starts (1-based line).
struct TextLocations {
  std::string file;
  std::vector<int> layer_lines;  ///< line of each `layer { ... }` of a NetParameter
};

/// Parses a prototxt file into msg. Syntax errors and unknown fields are ConfigErrors with
/// file:line:column; a missing file is a DataError.
void read_text_proto(const std::string& path, google::protobuf::Message* msg,
                     TextLocations* where = nullptr);
/// Parses prototxt text (for tests and embedded nets); `name` is used in messages.
void parse_text_proto(const std::string& text, const std::string& name,
                      google::protobuf::Message* msg, TextLocations* where = nullptr);
void write_text_proto(const std::string& path, const google::protobuf::Message& msg);

/// Parses a binary proto file (e.g. .caffemodel); truncated or corrupt files are DataErrors.
void read_binary_proto(const std::string& path, google::protobuf::Message* msg);

/// Writes bytes to path atomically: temp file in the same directory, fsync, rename, fsync dir.
void write_file_atomic(const std::string& path, const std::string& bytes);
std::string read_file(const std::string& path);
bool file_exists(const std::string& path);

/// CRC-32 (zlib) of bytes.
uint32_t crc32_of(const std::string& bytes);

/// Serializes msg with its `checksum` field (number 1000, fixed32) set to the CRC-32 of the
/// serialization without it, and writes it atomically.
void write_checksummed_proto(const std::string& path, google::protobuf::Message* msg);
/// Reads a binary proto and, when it carries a checksum, verifies it (DataError on mismatch).
void read_checksummed_proto(const std::string& path, google::protobuf::Message* msg);

/// A .npy array (little-endian float32 or float64, C order; also reads int/uint8 as float).
struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<double> data;
};
NpyArray read_npy(const std::string& path);
/// Writes float32 (or float64 when `as_double`).
void write_npy(const std::string& path, const std::vector<int64_t>& shape, const double* data,
               bool as_double = false);
template <class T>
void write_npy(const std::string& path, const Tensor<T>& t, bool diff = false);

/// Resolves `path` as given, else relative to the directory of `relative_to` (a file).
std::string resolve_path(const std::string& path, const std::string& relative_to);

}  // namespace crema
