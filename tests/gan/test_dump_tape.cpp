// `covergan train --dump-tape`, --dump-tape-values and --dump-tape-dot: one iteration's
// D-step and G-step tapes with tensor ids a reader can follow from record to record,
// parameter names, statistics after the backward, and a Graphviz file with one node per
// record and per tensor that dot (when installed) parses and renders.
#include <filesystem>
#include <set>
#include <string>

#include "gan/tape_dump.h"
#include "gan_util.h"
#include "support/check.h"
#include "support/regex.h"

namespace {
size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}
// The block of record #k in a step's text.
std::string record(const std::string& step, int k) {
  const size_t a = step.find("\n#" + std::to_string(k) + " ");
  const size_t b = step.find("\n#", a + 1);
  return a == std::string::npos ? "" : step.substr(a + 1, b == std::string::npos ? std::string::npos : b - a);
}
const char* kTiny = "--base-channels 2 --batch 2 --device cpu";
}  // namespace

TEST_CASE("covergan train --dump-tape prints the D and G steps' records with tensor ids") {
  const auto r = gantest::run_covergan(std::string("train --dump-tape ") + kTiny);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const size_t d = r.output.find("== D step"), g = r.output.find("== G step");
  REQUIRE(d != std::string::npos);
  REQUIRE(g != std::string::npos);
  CHECK(d < g);
  const std::string dstep = r.output.substr(d, g - d), gstep = r.output.substr(g);
  // D sees the real and the fake batch: its tape has D's ops, G's forward ran without one.
  // BatchNorm and its activation are one fused record; so are conv1 (no BN) and its LeakyReLU.
  for (const char* op : {"conv2d  [conv2d_backward]", "batch_norm2d_act  [batch_norm2d_act_backward]",
                         "conv2d_leaky_relu  [conv2d_leaky_relu_backward]",
                         "bce_with_logits  [bce_with_logits_backward]",
                         "cross_entropy  [cross_entropy_backward]", "weighted_sum  [weighted_sum_backward]"})
    CHECK_MESSAGE(dstep.find(op) != std::string::npos, op);
  CHECK(dstep.find("conv_transpose2d") == std::string::npos);
  CHECK(dstep.find(" leaky_relu  [leaky_relu_backward]") == std::string::npos);  // no unfused LeakyReLU left
  CHECK(dstep.find("dropout") == std::string::npos);  // off unless --d-dropout
  CHECK(count_of(dstep, "bce_with_logits  [") == 2);  // real and fake
  for (const char* op : {"conv_transpose2d  [conv_transpose2d_backward]",
                         "batch_norm2d_act  [batch_norm2d_act_backward]", "tanh  [tanh_backward]",
                         "conv2d  [conv2d_backward]", "bce_with_logits  [bce_with_logits_backward]"})
    CHECK_MESSAGE(gstep.find(op) != std::string::npos, op);
  CHECK(count_of(gstep, "bce_with_logits  [") == 1);
  CHECK(gstep.find("relu  [relu_backward]") == std::string::npos);  // no unfused ReLU left in G

  // Every tensor has an id, dtype, shape and device; parameters their names; edges both ways.
  // D's real and fake batches run as one batch of 4 (Discriminator::forward_pair): the
  // first record reads both, joined; each half's features are sliced out for the heads.
  const std::string r0 = record(dstep, 0);
  CHECK(r0.find("in   x       t0   f32 (4,3,64,64) on cpu") != std::string::npos);
  CHECK(r0.find("'real images, then G(z) read detached: one batch' (leaf)") != std::string::npos);
  CHECK(r0.find("in   w       t1   f32 (2,3,4,4) on cpu *") != std::string::npos);
  CHECK(r0.find("D.conv1.weight (parameter)") != std::string::npos);
  CHECK(r0.find("out          t3   f32 (4,2,32,32) on cpu *       to #1 conv2d") != std::string::npos);
  CHECK(r0.find("args         stride=2 pad=1 slope=0.2 groups=2") != std::string::npos);
  CHECK(record(dstep, 1).find("in   x       t3   f32 (4,2,32,32) on cpu *       from #0 conv2d_leaky_relu") !=
        std::string::npos);
  CHECK(count_of(dstep, "slice_batch  [slice_batch_backward]") == 2);
  CHECK(count_of(dstep, "conv2d_leaky_relu  [") == 1);
  CHECK(count_of(gstep, "groups=") == 0);  // the G step's D sees one batch
  // Saved tensors and args by name; the total loss is the root.
  CHECK(dstep.find("  saved        mean: f32 (") != std::string::npos);
  CHECK(dstep.find("  args         stride=2 pad=1") != std::string::npos);
  CHECK(dstep.find("  args         training=1 eps=1e-05 slope=0.2") != std::string::npos);  // D's BN + LeakyReLU
  CHECK(gstep.find("  args         training=1 eps=1e-05 slope=0\n") != std::string::npos);   // G's BN + ReLU
  CHECK(dstep.find("'d_total' the root: backward starts here") != std::string::npos);
  CHECK(gstep.find("'g_total' the root: backward starts here") != std::string::npos);
  // In the G step D's parameters are frozen: no * on them.
  CHECK(std::regex_search(gstep, std::regex("f32 \\(2,3,4,4\\) on cpu   +D\\.conv1\\.weight \\(parameter\\)")));
}

TEST_CASE("covergan train --dump-tape-values adds each tensor's value and gradient statistics") {
  const auto r = gantest::run_covergan(std::string("train --dump-tape-values --d-dropout 0.3 ") + kTiny);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("dropout  [dropout_backward]") != std::string::npos);
  CHECK(r.output.find("  saved        mask: u8 (") != std::string::npos);
  CHECK(count_of(r.output, "                     value  mean ") > 50);
  CHECK(count_of(r.output, "                     grad   mean ") > 30);
  // The root's gradient is the seed, 1; the real images need none.
  const size_t root = r.output.find("'d_total' the root");
  REQUIRE(root != std::string::npos);
  CHECK(r.output.find("grad   mean  1.000e+00  std 0.000e+00  min  1.000e+00  max  1.000e+00", root) !=
        std::string::npos);
  CHECK(std::regex_search(r.output, std::regex("'real images' \\(leaf\\)\n +value  mean [^\n]+\n +grad   \\(needs none\\)")));
}

TEST_CASE("covergan train --dump-tape-dot writes a graph with one node per record and tensor, and dot renders it") {
  gantest::Scratch dir("tape_dot");
  const std::string dot = dir / "tape.dot";
  const auto r = gantest::run_covergan(std::string("train --dump-tape-dot ") + cgtest::shell_quote(dot) + " " + kTiny);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  // "tape graph: F (22 + 26 records, 45 + 61 tensors)": the counts the graph must hold.
  std::smatch m;
  REQUIRE(std::regex_search(r.output, m, std::regex("\\((\\d+) \\+ (\\d+) records, (\\d+) \\+ (\\d+) tensors\\)")));
  const size_t records = std::stoul(m[1]) + std::stoul(m[2]), tensors = std::stoul(m[3]) + std::stoul(m[4]);
  CHECK(records == 22 + 26);
  const std::string text = gantest::slurp(dot);
  REQUIRE(!text.empty());
  CHECK(count_of(text, "subgraph cluster_") == 2);
  CHECK(count_of(text, "[shape=box") == records);
  CHECK(count_of(text, "[shape=ellipse") == tensors);
  // Every edge joins declared nodes.
  std::set<std::string> nodes;
  const std::regex decl("\n    (g\\d+_[rt]\\d+) \\["), edge("\n    (g\\d+_[rt]\\d+) -> (g\\d+_[rt]\\d+)");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), decl); it != std::sregex_iterator(); ++it)
    nodes.insert((*it)[1]);
  CHECK(nodes.size() == records + tensors);
  size_t edges = 0;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), edge); it != std::sregex_iterator(); ++it, ++edges) {
    CHECK(nodes.count((*it)[1]));
    CHECK(nodes.count((*it)[2]));
  }
  CHECK(edges > records);
  if (cg::gan::find_dot_program().empty()) {
    CHECK(r.output.find("Graphviz's dot is not installed") != std::string::npos);
    return;
  }
  // Graphviz parses it and finds the same nodes; the renderings sit beside the .dot file.
  const auto plain = cgtest::run_shell("dot -Tplain " + cgtest::shell_quote(dot) + " 2>&1");
  CHECK(plain.exit_code == 0);
  CHECK(count_of(plain.output, "\nnode ") == records + tensors);
  for (const char* ext : {"svg", "png"}) {
    CHECK(r.output.find(std::string("rendered: ") + (dir / "tape.") + ext) != std::string::npos);
    CHECK(std::filesystem::file_size(dir / (std::string("tape.") + ext)) > 1000);
  }
}

TEST_CASE("covergan train --dump-tape-dot into a missing folder fails in one sentence") {
  const auto r = gantest::run_covergan(std::string("train --dump-tape-dot /nonexistent/x/tape.dot ") + kTiny);
  INFO(r.output);
  CHECK(r.exit_code != 0);
  CHECK(r.output.find("covergan: Cannot write the tape graph /nonexistent/x/tape.dot") != std::string::npos);
}

TEST_CASE("covergan train --dump-tape --g-spectral shows the spectral term's record in the G step only") {
  const auto r = gantest::run_covergan(std::string("train --dump-tape --g-spectral 2 --g-spectral-from 3 ") + kTiny);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const size_t g = r.output.find("== G step");
  REQUIRE(g != std::string::npos);
  const std::string dstep = r.output.substr(0, g), gstep = r.output.substr(g);
  CHECK(count_of(gstep, "spectral_loss  [spectral_loss_backward]") == 1);
  CHECK(dstep.find("spectral_loss") == std::string::npos);
  CHECK(gstep.find("args         first_ring=3 eps=0.0001") != std::string::npos);
  CHECK(gstep.find("'g_spectral'") != std::string::npos);
  const auto plain = gantest::run_covergan(std::string("train --dump-tape ") + kTiny);
  CHECK(plain.output.find("spectral_loss") == std::string::npos);
}
