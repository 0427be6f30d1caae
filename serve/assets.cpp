// Lookup over the embedded page files (see assets.h; the table itself is generated).
#include "serve/assets.h"

namespace cg::serve {

const EmbeddedFile* find_embedded(std::string_view name) {
  for (const auto& f : embedded_files())
    if (f.name == name) return &f;
  return nullptr;
}

}  // namespace cg::serve
