// The per-op profiler and the iteration FLOP count: the FLOPs the kernels report during
// one profiled iteration must add up to gan/profile.h's formula, and the table must name
// the kernels with self times that sum to no more than the iteration. On a GPU the same
// iteration through the CUDA launchers is profiled (skipped here without one).
#include <cmath>
#include <string>

#include "base/profile.h"
#include "gan/profile.h"
#include "gan_util.h"
#include "support/check.h"
#include "support/skip.h"

using namespace cg;
using namespace cg::gan;

namespace {

ModelConfig small_model() {
  ModelConfig m;
  m.image_size = 16;
  m.base_channels = 4;
  m.z_dim = 12;
  return m;
}

const prof::Row* find_row(const std::vector<prof::Row>& rows, const std::string& name) {
  for (const prof::Row& r : rows)
    if (r.name == name) return &r;
  return nullptr;
}

}  // namespace

TEST_CASE("profiled CPU iteration reports exactly the documented GEMM FLOPs") {
  const ModelConfig m = small_model();
  const int64_t B = 3;
  IterationRig rig(m, B, Device::cpu);
  rig.step();
  prof::start();
  rig.step();
  prof::stop();
  const auto rows = prof::rows();
  double flops = 0;
  for (const prof::Row& r : rows) flops += r.flops;
  CHECK(flops == doctest::Approx(iteration_flops(m, B)).epsilon(1e-12));
  CHECK(d_step_flops(m, B) + g_step_flops(m, B) == doctest::Approx(iteration_flops(m, B)).epsilon(1e-12));
  for (const char* k : {"conv2d_forward", "conv2d_backward", "conv_transpose2d_forward", "conv_transpose2d_backward",
                        "batch_norm2d_forward_train", "adam_step", "train_step"}) {
    const prof::Row* r = find_row(rows, k);
    REQUIRE_MESSAGE(r != nullptr, k << " missing from the profile");
    CHECK(r->calls > 0);
    CHECK(r->self_s <= r->total_s + 1e-12);
  }
  // D has L convs: each runs on the real and the fake batch in the D step and once in the G step.
  CHECK(find_row(rows, "conv2d_forward")->calls == 3 * m.n_layers());
  double self = 0;
  for (const prof::Row& r : rows) self += r.self_s;
  CHECK(self <= find_row(rows, "train_step")->total_s + find_row(rows, "draw_latents")->total_s + 1e-6);
  const std::string table = prof::table(1, find_row(rows, "train_step")->total_s);
  CHECK(table.find("conv2d_backward") != std::string::npos);
  CHECK(table.find("GFLOP/s") != std::string::npos);
  const std::string csv = prof::csv(1, 1.0);
  CHECK(csv.rfind("op,calls_per_iter,", 0) == 0);
}

TEST_CASE("profiler records nothing once stopped") {
  prof::start();
  prof::stop();
  IterationRig rig(small_model(), 2, Device::cpu);
  rig.step();
  CHECK(prof::rows().empty());
}

TEST_CASE("the paper's iteration FLOP count matches a hand count") {
  ModelConfig m;  // 64x64, base 128
  // D forward per image: convs 3->128 (32x32), 128->256 (16x16), 256->512 (8x8), 512->1024 (4x4), heads 16384->8.
  const double fD = 2.0 * (3 * 16 * 128 * 1024.0 + 128 * 16 * 256 * 256.0 + 256 * 16 * 512 * 64.0 +
                           512 * 16 * 1024 * 16.0 + 16384 * 8.0);
  const double fG = 2.0 * (100 * 16384.0 + 1024 * 16 * 512 * 16.0 + 512 * 16 * 256 * 64.0 + 256 * 16 * 128 * 256.0 +
                           128 * 16 * 3 * 1024.0);
  CHECK(discriminator_forward_flops(m, 1) == doctest::Approx(fD));
  CHECK(generator_forward_flops(m, 1) == doctest::Approx(fG));
  CHECK(iteration_flops(m, 2) ==
        doctest::Approx(2 * (4 * fG + 8 * fD - 2 * 2.0 * 3 * 16 * 128 * 1024 - 2.0 * 100 * 16384 - 2 * 2.0 * 16384 * 2)));
}

TEST_CASE("profiled CUDA iteration reports the same GEMM FLOPs as the CPU") {
  CG_SKIP_WITHOUT_CUDA();
  const ModelConfig m = small_model();
  IterationRig rig(m, 3, Device::cuda);
  rig.step();
  prof::start(device_sync_fn(Device::cuda));
  rig.step();
  prof::stop();
  double flops = 0;
  for (const prof::Row& r : prof::rows()) flops += r.flops;
  CHECK(flops == doctest::Approx(iteration_flops(m, 3)).epsilon(1e-12));
}

TEST_CASE("covergan train --profile prints the per-op table and writes its CSV") {
  gantest::Scratch s("profile_cli");
  const std::string csv = (s.path() / "p.csv").string();
  const auto r = gantest::run_covergan("train --profile 1 --base-channels 2 --batch 2 --device cpu --profile-csv " + csv);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("conv2d_backward") != std::string::npos);
  CHECK(r.output.find("images/s") != std::string::npos);
  const std::string text = gantest::slurp(csv);
  CHECK(text.rfind("op,calls_per_iter,", 0) == 0);
  CHECK(text.find("conv_transpose2d_forward,") != std::string::npos);
  const auto bad = gantest::run_covergan("train --profile 0");
  CHECK(bad.exit_code != 0);
  const auto no_out = gantest::run_covergan("train --data x.cgd");
  CHECK(no_out.exit_code != 0);
  CHECK(no_out.output.find("--out") != std::string::npos);
}
