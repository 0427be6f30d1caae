// `covergan gradcheck`, run as the built binary: the named ops (every setting of each)
// with a line per input, the full list, and bad requests in one sentence.
#include <string>

#include "engine/device.h"
#include "gan_util.h"
#include "layers/gradcheck_ops.h"
#include "support/check.h"

namespace {
size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}
}  // namespace

TEST_CASE("covergan gradcheck OP... checks every setting of the named ops, a line per input") {
  const auto r = gantest::run_covergan("gradcheck conv2d dropout --seed 3");
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("covergan gradcheck: 4 checks in f64 on cpu, seed 3") == 0);
  CHECK(count_of(r.output, "\nconv2d ") == 3);  // k3, k4 s2 as in D, and as D's two halves
  CHECK(count_of(r.output, " ok      worst rel err ") == 4);
  for (const char* line : {"\n    x             (2,3,7,6)     element ", "\n    w             (4,3,3,3)     element ",
                           "\n    b             (4)           element ", "\n    x             (2,3,4,5)     element ",
                           "\n    x             (4,3,8,8)     element "})
    CHECK_MESSAGE(r.output.find(line) != std::string::npos, line);
  CHECK(r.output.find(" analytic ") != std::string::npos);
  CHECK(r.output.find(" numeric ") != std::string::npos);
  CHECK(r.output.find("\nall 4 checks pass (") != std::string::npos);
}

TEST_CASE("covergan gradcheck with no op runs the whole list, in f32 when asked") {
  const auto r = gantest::run_covergan("gradcheck --dtype f32");
  INFO(r.output);
  CHECK(r.exit_code == 0);
  const std::string all = "all " + std::to_string(cg::gradcheck_ops().size()) + " checks pass";
  CHECK(r.output.find(all) != std::string::npos);
  CHECK(r.output.find("in f32 on cpu") != std::string::npos);
  const auto list = gantest::run_covergan("gradcheck --list");
  CHECK(list.exit_code == 0);
  CHECK(count_of(list.output, "\n") == cg::gradcheck_ops().size());
}

TEST_CASE("covergan gradcheck refuses an unknown op and f64 on cuda in one sentence") {
  const auto r = gantest::run_covergan("gradcheck conv3d");
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("covergan: Unknown op \"conv3d\"; the ops with gradient checks are linear, conv2d,") !=
        std::string::npos);
  const auto c = gantest::run_covergan("gradcheck --device cuda --dtype f64");
  INFO(c.output);
  CHECK(c.exit_code == 1);
  if (cg::cuda_available())
    CHECK(c.output.find("The CUDA kernels compute in float only: pass --dtype f32") != std::string::npos);
  else
    CHECK(c.output.find("covergan: ") == 0);  // no GPU or no CUDA build: said in one sentence
}
