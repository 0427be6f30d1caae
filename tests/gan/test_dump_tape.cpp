// `covergan train --dump-tape`: one iteration's D-step and G-step tapes, each record
// with its op, named inputs and output with shapes, saved tensors and named args.
#include <string>

#include "gan_util.h"
#include "support/check.h"

namespace {
size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}
}  // namespace

TEST_CASE("covergan train --dump-tape prints the D and G steps' records") {
  const auto r = gantest::run_covergan("train --dump-tape --base-channels 2 --batch 2 --device cpu");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const size_t d = r.output.find("== D step"), g = r.output.find("== G step");
  REQUIRE(d != std::string::npos);
  REQUIRE(g != std::string::npos);
  CHECK(d < g);
  const std::string dstep = r.output.substr(d, g - d), gstep = r.output.substr(g);
  // D sees the real and the fake batch: its tape has D's ops, G's forward ran without one.
  // BatchNorm and its activation are one fused record; conv1 (no BN) keeps a plain leaky_relu.
  for (const char* op : {"conv2d  [conv2d_backward]", "batch_norm2d_act  [batch_norm2d_act_backward]",
                         "leaky_relu  [leaky_relu_backward]", "bce_with_logits  [bce_with_logits_backward]",
                         "cross_entropy  [cross_entropy_backward]", "weighted_sum  [weighted_sum_backward]"})
    CHECK_MESSAGE(dstep.find(op) != std::string::npos, op);
  CHECK(dstep.find("conv_transpose2d") == std::string::npos);
  CHECK(count_of(dstep, "bce_with_logits  [") == 2);  // real and fake
  // G's tape runs through G (transposed convolutions, tanh) and then D.
  for (const char* op : {"conv_transpose2d  [conv_transpose2d_backward]",
                         "batch_norm2d_act  [batch_norm2d_act_backward]", "tanh  [tanh_backward]", "conv2d  [conv2d_backward]",
                         "bce_with_logits  [bce_with_logits_backward]"})
    CHECK_MESSAGE(gstep.find(op) != std::string::npos, op);
  CHECK(count_of(gstep, "bce_with_logits  [") == 1);
  // Records name their inputs, saved tensors and args, with shapes.
  CHECK(r.output.find("    x: ") != std::string::npos);
  CHECK(r.output.find("    w: 'D.conv1.weight' f32 (2,3,4,4)") != std::string::npos);
  CHECK(r.output.find("  saved:\n    mean: f32 (") != std::string::npos);
  CHECK(r.output.find("  args: stride=2 pad=1") != std::string::npos);
  CHECK(r.output.find("  args: training=1 eps=1e-05 slope=0.2") != std::string::npos);  // D's BN + LeakyReLU
  CHECK(r.output.find("  args: training=1 eps=1e-05 slope=0\n") != std::string::npos);   // G's BN + ReLU
  CHECK(gstep.find("relu  [relu_backward]") == std::string::npos);  // no unfused ReLU left in G
}
