// The floors of docs/DESIGN.md section 2 hold: scripts/check-includes passes on the
// tree and fails, naming the file and the floors, on a planted upward include.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "support/paths.h"
#include "support/temp_dir.h"

namespace {

void write(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

cgtest::ShellResult check_includes(const std::string& root) {
  return cgtest::run_shell("python3 " + cgtest::shell_quote(cgtest::source_dir() + "/scripts/check-includes") +
                           " " + cgtest::shell_quote(root) + " 2>&1");
}

}  // namespace

TEST_CASE("no include in the tree points up a floor") {
  const auto r = check_includes(cgtest::source_dir());
  INFO(r.output);
  CHECK(r.exit_code == 0);
}

TEST_CASE("check-includes fails on a planted upward or sideways include and passes on downward ones") {
  cgtest::TempDir dir("includes");
  write(dir.path() / "base/a.h", "#pragma once\n");
  write(dir.path() / "kernels/cpu/k.cpp", "#include \"base/a.h\"\n#include \"kernels/cpu/k.h\"\n");
  write(dir.path() / "gan/g.cpp", "#include \"layers/l.h\"\n#include \"data/d.h\"\n#include <vector>\n");
  SUBCASE("downward only: passes") {
    const auto r = check_includes(dir.path().string());
    INFO(r.output);
    CHECK(r.exit_code == 0);
  }
  SUBCASE("kernels including engine: fails, naming the file and line") {
    write(dir.path() / "kernels/cuda/x.cu", "// a kernel\n#include \"engine/tensor.h\"\n");
    const auto r = check_includes(dir.path().string());
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("kernels/cuda/x.cu:2") != std::string::npos);
    CHECK(r.output.find("may not include engine/") != std::string::npos);
  }
  SUBCASE("data including layers (same floor): fails") {
    write(dir.path() / "data/d.cpp", "#include \"layers/conv2d.h\"\n");
    const auto r = check_includes(dir.path().string());
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("sideways") != std::string::npos);
  }
}
