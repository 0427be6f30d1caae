// The page's own files compiled into the binary: web/ (HTML, script, style) and
// Debian's Chart.js, embedded at build time by cmake/EmbedFiles.cmake and served
// under /static/NAME, so the server needs no network and no install folder.
#pragma once
#include <string_view>
#include <vector>

namespace cg::serve {

struct EmbeddedFile {
  std::string_view name;   // "app.js", "chart.min.js", ...
  std::string_view bytes;
};

// Every embedded file (defined in the generated serve_assets.cpp).
const std::vector<EmbeddedFile>& embedded_files();
// The file of that name, or nullptr.
const EmbeddedFile* find_embedded(std::string_view name);

}  // namespace cg::serve
