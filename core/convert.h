/// Dataset converters behind `crema convert`: MNIST-style IDX files and image lists into LMDB.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace crema {

/// Called as records are written: done of total.
using ConvertProgress = std::function<void(int64_t done, int64_t total)>;

/// Writes the images and labels of an IDX pair (MNIST / Fashion-MNIST; gzip-compressed or not)
/// into a new LMDB at out_lmdb: one Datum per image (1 x rows x cols uint8, label), keys "%08d"
/// in file order. Bad magic numbers, unequal counts and truncated files are DataErrors. An
/// existing LMDB with records is a DataError unless `overwrite`. The LMDB appears only when
/// complete (it is written beside out_lmdb and moved into place). Returns the record count.
int64_t convert_idx(const std::string& images_path, const std::string& labels_path,
                    const std::string& out_lmdb, bool overwrite = false,
                    const ConvertProgress& progress = {});

/// Like Caffe's convert_imageset: each non-blank line of list_file is "relative/path label"
/// (the label is the last field, so paths may hold spaces); images are read from root_dir with
/// OpenCV, in colour (BGR) or `gray`, resized to resize_h x resize_w when both are > 0, and stored
/// as raw CHW uint8 Datums, or as encoded image bytes when `encoded` (the file's own bytes when no
/// resize or colour change is needed, else PNG). `shuffle` permutes the lines with `seed` first.
/// Keys are "%08d_<path>". A missing or unreadable image is a DataError naming the list file line.
int64_t convert_image_list(const std::string& root_dir, const std::string& list_file,
                           const std::string& out_lmdb, int resize_h, int resize_w, bool gray,
                           bool encoded, bool shuffle, uint64_t seed, bool overwrite = false,
                           const ConvertProgress& progress = {});

}  // namespace crema
