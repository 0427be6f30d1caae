// scripts/make-demo-data, the demo's synthetic covers: the same seed gives the same files
// byte for byte, so two runs of scripts/demo train on the same data. The trap was Pillow's
// noise (metal, rock), drawn from the C library's rand(): a cover depended on which
// covers its worker process had drawn before. Another seed gives other covers.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "data/prepare.h"
#include "support/paths.h"
#include "support/skip.h"
#include "support/temp_dir.h"

namespace {

std::string script() { return cgtest::shell_quote(cgtest::source_dir() + "/scripts/make-demo-data"); }
// The interpreter: a python3 with Pillow found at run time (tests/support/paths.h).
std::string python() { return cgtest::shell_quote(cgtest::python_with_pillow().path); }

// Writes a small set (6 covers a genre, 5 unlabeled) into dir; the script's exit code.
int make(const std::string& dir, int seed) {
  return cgtest::run_shell(python() + " " + script() + " --out " + cgtest::shell_quote(dir) +
                           " --per-genre 6 --unlabeled 5 --seed " + std::to_string(seed) + " 2>&1")
      .exit_code;
}

bool same_tree(const std::string& a, const std::string& b) {
  return cgtest::run_shell("diff -r " + cgtest::shell_quote(a) + " " + cgtest::shell_quote(b) + " >/dev/null 2>&1")
             .exit_code == 0;
}

// Imports the script, draws one metal cover, advances rand() as another job's noise would,
// draws it again: exit 0 when both are the same pixels.
constexpr const char* kSameAfterOtherJobs = R"(
import ctypes, importlib.machinery, importlib.util, sys
loader = importlib.machinery.SourceFileLoader("make_demo_data", sys.argv[1])
module = importlib.util.module_from_spec(importlib.util.spec_from_loader("make_demo_data", loader))
loader.exec_module(module)
first = module.make_cover("metal", 123).tobytes()
libc = ctypes.CDLL(None)
for _ in range(1000):
    libc.rand()
sys.exit(0 if module.make_cover("metal", 123).tobytes() == first else 1)
)";

}  // namespace

TEST_CASE("make-demo-data writes the same covers for the same seed, whatever ran before, and others for another seed") {
  if (cgtest::python_with_pillow().path.empty()) CG_SKIP(cgtest::python_with_pillow().reason);
  cgtest::TempDir tmp("demodata");
  const std::string probe = (tmp.path() / "probe.py").string();
  std::ofstream(probe) << kSameAfterOtherJobs;
  CHECK(cgtest::run_shell(python() + " " + cgtest::shell_quote(probe) + " " + script() + " 2>&1").exit_code == 0);
  const std::string a = (tmp.path() / "a").string(), b = (tmp.path() / "b").string(),
                    c = (tmp.path() / "c").string();
  REQUIRE(make(a, 1) == 0);
  REQUIRE(make(b, 1) == 0);
  REQUIRE(make(c, 2) == 0);
  CHECK(same_tree(a, b));
  CHECK_FALSE(same_tree(a + "/covers/metal", c + "/covers/metal"));
}

TEST_CASE("prepare --dedupe perceptual finds make-demo-data's near duplicates and keeps every distinct cover") {
  // The demo's near duplicates are resized to 0.9x and re-encoded as JPEG (quality 80):
  // prepare once found none of them (the dHash distance alone was too strict).
  if (cgtest::run_shell("/usr/bin/python3 -c 'import PIL' 2>&1").exit_code != 0)
    CG_SKIP("/usr/bin/python3 has no Pillow (python3-pil)");
  cgtest::TempDir tmp("demodedupe");
  const std::string out = (tmp.path() / "demo").string();
  REQUIRE(cgtest::run_shell("/usr/bin/python3 " + script() + " --out " + cgtest::shell_quote(out) +
                            " --per-genre 40 --unlabeled 0 --seed 5 2>&1")
              .exit_code == 0);
  cg::data::PrepareOptions o;
  o.sources = {out + "/covers"};
  o.output = (tmp.path() / "d.cgd").string();
  o.size = 32, o.threads = 2, o.dedupe = cg::data::DedupeMode::perceptual;
  const cg::data::PrepareReport r = cg::data::prepare_dataset(o);
  int planted_near = 0, planted_exact = 0;
  namespace fs = std::filesystem;
  for (const auto& e : fs::recursive_directory_iterator(out + "/covers")) {
    const std::string n = e.path().filename().string();
    planted_near += n.find("_reencoded.jpg") != std::string::npos;
    planted_exact += n.find("_copy.") != std::string::npos;
  }
  REQUIRE(planted_near == 2);
  int near = 0, exact = 0;
  for (const auto& d : r.duplicates) {
    INFO(d.path << " matched " << d.kept_path);
    const std::string removed = fs::path(d.path).filename().string();
    if (d.exact) {
      ++exact;
      CHECK(removed.find("_copy.") != std::string::npos);
      continue;
    }
    ++near;
    // A near match is a planted copy matched to its own original, never two distinct covers.
    REQUIRE(removed.find("_reencoded.jpg") != std::string::npos);
    const std::string original = removed.substr(0, removed.find("_reencoded.jpg"));
    CHECK(fs::path(d.kept_path).stem().string() == original);
  }
  CHECK(near == planted_near);
  CHECK(exact == planted_exact);
}
