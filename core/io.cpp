#include "core/io.h"

#include <fcntl.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/text_format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace crema {
namespace fs = std::filesystem;
namespace pb = google::protobuf;

namespace {

class CollectFirstError : public pb::io::ErrorCollector {
 public:
  void AddError(int line, pb::io::ColumnNumber column, const std::string& message) override {
    if (first_.empty())
      first_ = str_cat(line + 1, ":", column + 1, ": ", message);
  }
  void AddWarning(int, pb::io::ColumnNumber, const std::string&) override {}
  const std::string& first() const { return first_; }

 private:
  std::string first_;
};

}  // namespace

bool file_exists(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec))
    throw DataError(str_cat("file not found: ", path));
  if (fs::is_directory(path, ec))
    throw DataError(str_cat(path, " is a directory, expected a file"));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(str_cat("cannot open ", path, ": ", std::strerror(errno)));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string resolve_path(const std::string& path, const std::string& relative_to) {
  std::error_code ec;
  if (path.empty() || fs::path(path).is_absolute() || fs::exists(path, ec)) return path;
  const fs::path alt = fs::path(relative_to).parent_path() / path;
  return fs::exists(alt, ec) ? alt.string() : path;
}

void parse_text_proto(const std::string& text, const std::string& name, pb::Message* msg,
                      TextLocations* where) {
  pb::TextFormat::Parser parser;
  CollectFirstError errors;
  parser.RecordErrorsTo(&errors);
  pb::TextFormat::ParseInfoTree tree;
  parser.WriteLocationsTo(&tree);
  if (!parser.ParseFromString(text, msg)) {
    throw ConfigError(str_cat(name, ":", errors.first().empty() ? "1:1: parse error" : errors.first(),
                              " (expected a ", msg->GetDescriptor()->name(), " in text format)"));
  }
  if (where) {
    where->file = name;
    where->layer_lines.clear();
    if (const auto* f = msg->GetDescriptor()->FindFieldByName("layer")) {
      const int n = msg->GetReflection()->FieldSize(*msg, f);
      for (int i = 0; i < n; ++i) where->layer_lines.push_back(tree.GetLocation(f, i).line + 1);
    }
  }
}

void read_text_proto(const std::string& path, pb::Message* msg, TextLocations* where) {
  parse_text_proto(read_file(path), path, msg, where);
}

void write_text_proto(const std::string& path, const pb::Message& msg) {
  std::string text;
  CREMA_ASSERT(pb::TextFormat::PrintToString(msg, &text));
  write_file_atomic(path, text);
}

void read_binary_proto(const std::string& path, pb::Message* msg) {
  const std::string bytes = read_file(path);
  pb::io::ArrayInputStream raw(bytes.data(), static_cast<int>(bytes.size()));
  pb::io::CodedInputStream coded(&raw);
  coded.SetTotalBytesLimit(INT32_MAX);
  if (!msg->ParseFromCodedStream(&coded) || !coded.ConsumedEntireMessage())
    throw DataError(str_cat(path, ": not a valid binary ", msg->GetDescriptor()->name(),
                            " (truncated or corrupt file, ", bytes.size(), " bytes)"));
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw DataError(str_cat("cannot write ", path, ": directory ", dir.string(),
                            " does not exist"));
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw DataError(str_cat("cannot write ", tmp, ": ", std::strerror(errno)));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw DataError(str_cat("cannot write ", tmp, ": ", std::strerror(e)));
    }
    done += static_cast<size_t>(w);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    throw DataError(str_cat("cannot flush ", tmp, ": ", std::strerror(errno)));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    throw DataError(str_cat("cannot rename ", tmp, " to ", path, ": ", std::strerror(e)));
  }
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

uint32_t crc32_of(const std::string& bytes) {
  uLong crc = ::crc32(0L, Z_NULL, 0);
  size_t off = 0;
  while (off < bytes.size()) {
    const uInt chunk = static_cast<uInt>(std::min<size_t>(bytes.size() - off, 1u << 30));
    crc = ::crc32(crc, reinterpret_cast<const Bytef*>(bytes.data() + off), chunk);
    off += chunk;
  }
  return static_cast<uint32_t>(crc);
}

namespace {
const pb::FieldDescriptor* checksum_field(const pb::Message& msg) {
  const auto* f = msg.GetDescriptor()->FindFieldByNumber(1000);
  CREMA_ASSERT(f != nullptr && f->name() == "checksum");
  return f;
}
std::string serialize(const pb::Message& msg) {
  std::string out;
  pb::io::StringOutputStream raw(&out);
  pb::io::CodedOutputStream coded(&raw);
  coded.SetSerializationDeterministic(true);
  CREMA_ASSERT(msg.SerializeToCodedStream(&coded));
  coded.Trim();
  return out;
}
}  // namespace

void write_checksummed_proto(const std::string& path, pb::Message* msg) {
  const auto* f = checksum_field(*msg);
  msg->GetReflection()->ClearField(msg, f);
  const uint32_t crc = crc32_of(serialize(*msg));
  msg->GetReflection()->SetUInt32(msg, f, crc);
  write_file_atomic(path, serialize(*msg));
}

void read_checksummed_proto(const std::string& path, pb::Message* msg) {
  read_binary_proto(path, msg);
  const auto* f = checksum_field(*msg);
  if (!msg->GetReflection()->HasField(*msg, f)) return;  // e.g. a Caffe .caffemodel
  const uint32_t stored = msg->GetReflection()->GetUInt32(*msg, f);
  msg->GetReflection()->ClearField(msg, f);
  const uint32_t actual = crc32_of(serialize(*msg));
  if (stored != actual)
    throw DataError(str_cat(path, ": checksum mismatch (stored ", stored, ", computed ", actual,
                            "): the file is corrupt; use an earlier snapshot"));
  msg->GetReflection()->SetUInt32(msg, f, stored);
}

// ---- .npy (format 1.0/2.0/3.0) ----

NpyArray read_npy(const std::string& path) {
  const std::string bytes = read_file(path);
  auto bad = [&](const std::string& why) {
    return DataError(str_cat(path, ": not a valid .npy file: ", why));
  };
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) throw bad("missing magic");
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t header_len, header_off;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    header_off = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw bad("truncated header");
    header_len = 0;
    for (int i = 0; i < 4; ++i) header_len |= size_t(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    header_off = 12;
  } else {
    throw bad(str_cat("unsupported version ", major));
  }
  if (header_off + header_len > bytes.size()) throw bad("truncated header");
  const std::string header = bytes.substr(header_off, header_len);
  auto field = [&](const std::string& key) -> std::string {
    const size_t k = header.find("'" + key + "'");
    if (k == std::string::npos) throw bad("header lacks '" + key + "'");
    size_t v = header.find(':', k);
    if (v == std::string::npos) throw bad("malformed header");
    ++v;
    while (v < header.size() && header[v] == ' ') ++v;
    if (v >= header.size()) throw bad("malformed header");
    const char open = header[v];
    if (open == '\'') {
      const size_t e = header.find('\'', v + 1);
      if (e == std::string::npos) throw bad("malformed header");
      return header.substr(v + 1, e - v - 1);
    }
    if (open == '(') {
      const size_t e = header.find(')', v);
      if (e == std::string::npos) throw bad("malformed header");
      return header.substr(v + 1, e - v - 1);
    }
    size_t e = v;
    while (e < header.size() && header[e] != ',' && header[e] != '}') ++e;
    return header.substr(v, e - v);
  };
  const std::string descr = field("descr");
  if (field("fortran_order").find("False") == std::string::npos)
    throw bad("Fortran-order arrays are not supported; save with np.ascontiguousarray");
  NpyArray arr;
  std::stringstream dims(field("shape"));
  std::string tok;
  while (std::getline(dims, tok, ',')) {
    if (tok.find_first_not_of(" ") == std::string::npos) continue;
    try {
      const long long d = std::stoll(tok);
      if (d < 0) throw bad("negative dimension");
      arr.shape.push_back(d);
    } catch (const std::logic_error&) {
      throw bad("bad shape '" + field("shape") + "'");
    }
  }
  int64_t n = 1;
  for (int64_t d : arr.shape) n *= d;
  if (descr.size() < 3 || descr[0] == '>') throw bad("big-endian or unknown dtype '" + descr + "'");
  const char kind = descr[1];
  const int width = std::atoi(descr.c_str() + 2);
  const size_t data_off = header_off + header_len;
  if (width <= 0 || (bytes.size() - data_off) / width < static_cast<size_t>(n))
    throw bad(str_cat("data truncated: shape needs ", n, " values of ", width, " bytes, file has ",
                      bytes.size() - data_off, " bytes"));
  arr.data.resize(n);
  const char* p = bytes.data() + data_off;
  for (int64_t i = 0; i < n; ++i, p += width) {
    if (kind == 'f' && width == 4) { float v; std::memcpy(&v, p, 4); arr.data[i] = v; }
    else if (kind == 'f' && width == 8) { double v; std::memcpy(&v, p, 8); arr.data[i] = v; }
    else if (kind == 'i' && width == 4) { int32_t v; std::memcpy(&v, p, 4); arr.data[i] = v; }
    else if (kind == 'i' && width == 8) { int64_t v; std::memcpy(&v, p, 8); arr.data[i] = static_cast<double>(v); }
    else if (kind == 'u' && width == 1) { arr.data[i] = static_cast<unsigned char>(*p); }
    else throw bad("unsupported dtype '" + descr + "' (use float32, float64, int32, int64, uint8)");
  }
  return arr;
}

void write_npy(const std::string& path, const std::vector<int64_t>& shape, const double* data,
               bool as_double) {
  std::string dims;
  int64_t n = 1;
  for (int64_t d : shape) dims += std::to_string(d) + ",", n *= d;
  if (shape.size() > 1) dims.pop_back();
  std::string header = str_cat("{'descr': '<", as_double ? "f8" : "f4",
                               "', 'fortran_order': False, 'shape': (", dims, "), }");
  // Pad so the data starts on a 64-byte boundary; the header ends with '\n'.
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  for (int64_t i = 0; i < n; ++i) {
    if (as_double) {
      out.append(reinterpret_cast<const char*>(&data[i]), 8);
    } else {
      const float f = static_cast<float>(data[i]);
      out.append(reinterpret_cast<const char*>(&f), 4);
    }
  }
  write_file_atomic(path, out);
}

template <class T>
void write_npy(const std::string& path, const Tensor<T>& t, bool diff) {
  const T* p = diff ? t.cpu_diff() : t.cpu_data();
  std::vector<double> v(p, p + t.count());
  write_npy(path, t.shape(), v.data(), std::is_same_v<T, double>);
}

template void write_npy<float>(const std::string&, const Tensor<float>&, bool);
template void write_npy<double>(const std::string&, const Tensor<double>&, bool);

}  // namespace crema
