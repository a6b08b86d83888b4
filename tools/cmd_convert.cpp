// crema convert: datasets into LMDB (filled in when core/convert lands).
#include "tools/commands.h"

namespace crema::cli {
void register_convert(CLI::App& app) { (void)app; }
}  // namespace crema::cli
