// The profiler and the iteration FLOP count: the FLOPs the convolution and linear layers
// report during one profiled iteration must add up to gan/profile.h's formula; the
// table is per layer and pass with the calls the iteration makes; phases stay apart
// from kernels; the trace has a slice per scope on every thread; and
// `covergan train --profile` writes its CSV (with provenance), roofline and trace.
// On a GPU the same iteration through the CUDA launchers is profiled (skipped here).
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "base/nvtx.h"
#include "base/profile.h"
#include "gan/profile.h"
#include "gan_util.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/threads.h"
#include "layers/activations.h"
#include "layers/linear.h"
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

// The first row of (layer, pass), or of (layer, pass, shape) when a shape is given.
const prof::Group* find_group(const std::vector<prof::Group>& gs, const std::string& layer, const std::string& pass,
                              const char* shape = nullptr) {
  for (const prof::Group& g : gs)
    if (g.layer == layer && g.pass == pass && (!shape || g.shape == shape)) return &g;
  return nullptr;
}

// Calls of (layer, pass) over all its shapes, and how many rows (shapes) it has.
std::pair<int64_t, int> calls_of(const std::vector<prof::Group>& gs, const std::string& layer,
                                 const std::string& pass) {
  std::pair<int64_t, int> r{0, 0};
  for (const prof::Group& g : gs)
    if (g.layer == layer && g.pass == pass) r.first += g.calls, r.second += 1;
  return r;
}

bool is_gemm_layer(const std::string& layer) {
  return layer.find("conv") != std::string::npos || layer.find(".fc") != std::string::npos;
}

}  // namespace

TEST_CASE("profiled CPU iteration: the GEMM layers report exactly the documented FLOPs") {
  const ModelConfig m = small_model();
  const int64_t B = 3;
  IterationRig rig(m, B, Device::cpu);
  rig.step();
  prof::start();
  rig.step();
  prof::stop();
  double flops = 0;
  for (const prof::Group& g : prof::groups())
    if (is_gemm_layer(g.layer)) flops += g.flops;
  CHECK(flops == doctest::Approx(iteration_flops(m, B)).epsilon(1e-12));
  CHECK(d_step_flops(m, B) + g_step_flops(m, B) == doctest::Approx(iteration_flops(m, B)).epsilon(1e-12));
  const auto rows = prof::rows();
  for (const char* k : {"conv2d_forward", "conv2d_backward", "conv_transpose2d_forward", "conv_transpose2d_backward",
                        "batch_norm2d_forward_train", "adam_step"}) {
    const prof::Row* r = find_row(rows, k);
    REQUIRE_MESSAGE(r != nullptr, k << " missing from the profile");
    CHECK(r->kind == prof::Kind::kernel);
    CHECK(r->calls > 0);
    CHECK(r->self_s <= r->total_s + 1e-12);
  }
  for (const char* k : {"train_step", "g_forward", "d_backward", "g_backward", "draw_latents", "Tape::backward"}) {
    const prof::Row* r = find_row(rows, k);
    REQUIRE_MESSAGE(r != nullptr, k << " missing from the profile");
    CHECK(r->kind == prof::Kind::scope);  // phases apart from kernels
  }
  // D has L convs: each runs once on the real and the fake batch joined in the D step (a
  // batch under 64: Discriminator::forward_pair) and once in the G step, conv1 with its
  // activation fused (conv2d_leaky_forward, not counted as conv2d_forward too).
  CHECK(find_row(rows, "conv2d_forward")->calls == 2 * (m.n_layers() - 1));
  REQUIRE(find_row(rows, "conv2d_leaky_forward") != nullptr);
  CHECK(find_row(rows, "conv2d_leaky_forward")->calls == 2);
  double self = 0;
  for (const prof::Row& r : rows) self += r.self_s;
  CHECK(self <= find_row(rows, "train_step")->total_s + find_row(rows, "draw_latents")->total_s + 1e-6);
}

TEST_CASE("the profile is per layer and pass with the calls one iteration makes") {
  const ModelConfig m = small_model();  // 16x16: G.deconv1, G.deconv2; D.conv1, D.conv2
  IterationRig rig(m, 2, Device::cpu);
  rig.step();
  prof::start();
  rig.step();
  prof::stop();
  const auto gs = prof::groups();
  struct Want {
    const char* layer;
    const char* pass;
    int64_t calls;
  };
  // G runs forward once (the G step backpropagates through the forward the D step read);
  // its gradients only in the G step. D's convolutions run forward twice (the real and the
  // fake batch as one in the D step, the fake again in the G step), their weight gradients
  // once (the D step: one pass, a kernel call per half) and conv1's input gradient once
  // (the G step: the real images and the detached fakes need none). The heads and the
  // batch norms' forward run per half: three times.
  for (const Want& w : {Want{"G.fc", "forward", 1}, Want{"G.deconv1", "forward", 1}, Want{"G.deconv2", "forward", 1},
                        Want{"G.deconv1", "backward-data", 1}, Want{"G.deconv1", "backward-weight", 1},
                        Want{"G.bn0", "forward", 1}, Want{"G.bn1", "backward", 1}, Want{"G.tanh", "forward", 1},
                        Want{"D.conv1", "forward", 2}, Want{"D.conv2", "forward", 2},
                        Want{"D.conv1", "backward-weight", 1}, Want{"D.conv1", "backward-data", 1},
                        Want{"D.conv2", "backward-weight", 1}, Want{"D.conv2", "backward-data", 2},
                        Want{"D.bn2", "backward", 2}, Want{"D.fc_src", "forward", 3},
                        Want{"D.loss", "forward", 1}, Want{"G.loss", "forward", 1}, Want{"D.adam", "update", 1},
                        Want{"G.adam", "update", 1}}) {
    const prof::Group* g = find_group(gs, w.layer, w.pass);
    REQUIRE_MESSAGE(g != nullptr, w.layer << " " << w.pass << " missing from the profile");
    CHECK_MESSAGE(calls_of(gs, w.layer, w.pass).first == w.calls, w.layer << " " << w.pass);
    CHECK(g->s > 0);
  }
  // conv1's LeakyReLU runs inside its forward and backward passes (conv2d_leaky_relu): no
  // layer or pass of its own on the CPU.
  CHECK(find_group(gs, "D.act1", "forward") == nullptr);
  CHECK(find_group(gs, "D.conv1", "backward-act") == nullptr);
  // No leftover "backward" rows for layers whose backward is split into passes.
  CHECK(find_group(gs, "D.conv2", "backward") == nullptr);
  CHECK(find_group(gs, "G.deconv1", "backward") == nullptr);
  // A row per shape: the D step's joined batch first, then the G step's, in the forward
  // and in the backward passes (which take the shape of the forward that recorded them).
  for (const char* pass : {"forward", "backward-data"}) {
    CHECK_MESSAGE(calls_of(gs, "D.conv2", pass).second == 2, pass);
    const prof::Group* joined = find_group(gs, "D.conv2", pass, "(4,4,8,8) -> (4,8,4,4)");
    const prof::Group* g_step = find_group(gs, "D.conv2", pass, "(2,4,8,8) -> (2,8,4,4)");
    REQUIRE_MESSAGE(joined != nullptr, pass);
    REQUIRE_MESSAGE(g_step != nullptr, pass);
    CHECK(joined->calls == 1);
    CHECK(g_step->calls == 1);
    CHECK(joined->flops == doctest::Approx(2 * g_step->flops).epsilon(1e-12));  // twice the samples
    CHECK(joined < g_step);  // in the order first entered
  }
  CHECK(find_group(gs, "D.conv2", "backward-weight")->shape == "(4,4,8,8) -> (4,8,4,4)");  // the D step only
  CHECK(calls_of(gs, "D.fc_src", "forward") == std::pair<int64_t, int>{3, 1});  // the heads run per half
  CHECK(find_group(gs, "D.fc_src", "forward")->shape == "(2,128) -> (2,1)");
  CHECK(calls_of(gs, "G.deconv1", "forward").second == 1);
  for (const prof::Group& g : gs) CHECK_MESSAGE((!g.shape.empty() || g.layer.find("loss") != std::string::npos),
                                                g.layer << " " << g.pass << " has no shape");
  CHECK(find_group(gs, "D.conv2", "backward-weight")->bytes > 0);
  const prof::Group* fwd = find_group(gs, "D.conv2", "forward");
  CHECK(fwd->flops / fwd->bytes > 0);
  // The layers account for nearly all of an iteration: only latents and loss read-backs are outside.
  double in_layers = 0;
  for (const prof::Group& g : gs) in_layers += g.s;
  const double step = find_row(prof::rows(), "train_step")->total_s;
  CHECK(in_layers <= step + 1e-9);
  const std::string table = prof::layer_table(1, step, {4e11, 1e10});
  CHECK(table.find("D.conv2 backward-weight") != std::string::npos);
  CHECK(table.find("%FMA") != std::string::npos);
  CHECK(table.find("FLOP/B") != std::string::npos);
  const std::string kernels = prof::kernel_table(1, step, {4e11, 1e10});
  CHECK(kernels.find("program phases") < kernels.find("kernels (self time"));
  const std::string csv = prof::csv(1, step, {4e11, 1e10});
  CHECK(csv.rfind("kind,name,pass,shape,calls_per_iter,ms_per_iter,", 0) == 0);
  CHECK(csv.find("\nlayer,D.conv2,backward-weight,") != std::string::npos);
  CHECK(csv.find("\nscope,train_step,") != std::string::npos);
  CHECK(csv.find("\nkernel,adam_step,") != std::string::npos);
}

TEST_CASE("a layer's own time goes to its first pass and a pass counts once per layer entry") {
  prof::start();
  for (int rep = 0; rep < 2; ++rep) {
    NVTX_LAYER("L.x", "backward");
    {
      NVTX_RANGE("record_fn");  // a record's backward, between the layer and its passes
      {
        NVTX_PASS("backward-data");
        for (int chunk = 0; chunk < 3; ++chunk) {  // a kernel that re-enters its pass per chunk
          NVTX_PASS("backward-data");
          prof::add_work(10, 5);
        }
      }
      {
        NVTX_PASS("backward-weight");
        prof::add_work(4, 0);
      }
    }
  }
  prof::stop();
  const auto gs = prof::groups();
  REQUIRE(gs.size() == 2);
  CHECK(find_group(gs, "L.x", "backward") == nullptr);
  CHECK(find_group(gs, "L.x", "backward-data")->calls == 2);
  CHECK(find_group(gs, "L.x", "backward-data")->flops == 60);
  CHECK(find_group(gs, "L.x", "backward-data")->bytes == 30);
  CHECK(find_group(gs, "L.x", "backward-weight")->calls == 2);
  CHECK(find_group(gs, "L.x", "backward-weight")->flops == 8);
  CHECK(prof::current_layer() == nullptr);
}

TEST_CASE("a kernel named as its record (linear_backward) reports its work in that row") {
  // The record and the kernel it calls under a pass share one row (counted once); the
  // kernel's FLOPs and bytes must reach it, or bench_layers reads 0 FLOP/s for the pass.
  const int64_t B = 5, C = 24, OC = 16;  // more than linear_narrow's outputs: the GEMM path
  std::mt19937 rng(3);
  Tensor x = cgtest::random_tensor(Shape{B, C}, rng, 1.0, DType::f32);
  Tensor w = cgtest::random_tensor(Shape{OC, C}, rng, 1.0, DType::f32);
  x.set_requires_grad(true);
  w.set_requires_grad(true);
  Tape tape;
  const Tensor y = linear(&tape, x, w, Tensor());
  prof::start();
  tape.backward(y, Tensor::full(y.shape(), 1.0, DType::f32));
  prof::stop();
  const auto rows = prof::rows();
  const prof::Row* r = find_row(rows, "linear_backward");
  REQUIRE(r != nullptr);
  CHECK(r->calls == 1);
  CHECK(r->flops == 2 * 2.0 * B * C * OC);  // the input's and the weight's gradients
  CHECK(r->bytes > 0);
  double group_flops = 0;
  for (const prof::Group& g : prof::groups()) group_flops += g.flops;
  CHECK(group_flops == r->flops);
}

TEST_CASE("the tape carries a record's layer into its backward scope") {
  prof::start();
  Tensor x = Tensor::from(std::vector<double>{1, -2, 3, -4}, Shape{4}, DType::f32);
  x.set_requires_grad(true);
  Tape tape;
  Tensor y;
  {
    NVTX_LAYER("T.act", "forward");
    CHECK(std::string(prof::current_layer()) == "T.act");
    y = leaky_relu(&tape, x, 0.2);
  }
  CHECK(prof::current_layer() == nullptr);
  REQUIRE(tape.size() == 1);
  CHECK(std::string(tape.records()[0].layer) == "T.act");
  tape.backward(y, Tensor::full(y.shape(), 1.0, DType::f32));
  prof::stop();
  const auto gs = prof::groups();
  const prof::Group* g = find_group(gs, "T.act", "backward");
  REQUIRE(g != nullptr);
  CHECK(g->calls == 1);
  CHECK(g->bytes > 0);
}

TEST_CASE("profiler records nothing once stopped") {
  prof::start();
  prof::stop();
  IterationRig rig(small_model(), 2, Device::cpu);
  rig.step();
  CHECK(prof::rows().empty());
  CHECK(prof::groups().empty());
}

TEST_CASE("the trace has one slice per scope on every thread that ran one") {
  IterationRig rig(small_model(), 4, Device::cpu);
  rig.step();
  prof::start(nullptr, /*trace=*/true);
  rig.step();
  prof::stop();
  const auto j = nlohmann::json::parse(prof::trace_json());
  std::set<int> tids;
  std::set<std::string> names, cats;
  size_t slices = 0;
  for (const auto& e : j.at("traceEvents")) {
    if (e.at("ph") != "X") continue;
    ++slices;
    tids.insert(e.at("tid").get<int>());
    names.insert(e.at("name").get<std::string>());
    cats.insert(e.at("cat").get<std::string>());
    CHECK(e.at("dur").get<double>() >= 0);
  }
  CHECK(slices == prof::trace_events());
  CHECK(names.count("G.deconv1 forward") == 1);
  CHECK(names.count("D.conv2 backward") == 1);
  CHECK(names.count("backward-weight") == 1);
  CHECK(names.count("train_step") == 1);
  CHECK(cats == std::set<std::string>{"kernel", "layer", "pass", "scope"});
  // A scope opened on a thread of its own (not the pool's) gets its own track.
  prof::start(nullptr, true);
  { prof::Scope main_side("main-side", prof::Kind::scope); }
  std::thread side([] { prof::Scope s("side-thread"); });
  side.join();
  prof::stop();
  std::map<std::string, int> tid_of;
  const auto side_trace = nlohmann::json::parse(prof::trace_json());
  for (const auto& e : side_trace.at("traceEvents"))
    if (e.at("ph") == "X") tid_of[e.at("name").get<std::string>()] = e.at("tid").get<int>();
  REQUIRE(tid_of.count("main-side") == 1);
  REQUIRE(tid_of.count("side-thread") == 1);
  CHECK(tid_of["main-side"] != tid_of["side-thread"]);
  // A wide gemm is split over the pool's threads, and every helper that ran one of its
  // chunks must show a "gemm" slice on its own track. Whether a helper wakes in time is
  // up to the OS (the caller takes every chunk a slow helper leaves, and on a busy 2-core
  // CI machine 50 products once ran with no helper at all), so the products repeat until
  // the pool's counters say a helper ran a chunk, or 20 s pass.
  if (cpu::compute_threads() > 1) {
    prof::start(nullptr, true);
    std::vector<float> a(256 * 256, 1.f), b(256 * 256, 1.f), c(256 * 256);
    const int64_t helped0 = cpu::pool_stats().by_helpers;
    const auto t0 = std::chrono::steady_clock::now();
    int products = 0;
    while (cpu::pool_stats().by_helpers == helped0 && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(20)) {
      for (int i = 0; i < 10; ++i, ++products)
        cpu::gemm<float>(false, false, 256, 256, 256, 1.f, a.data(), 256, b.data(), 256, 0.f, c.data(), 256);
    }
    // A helper closes its slice just after its chunks are counted: give it that moment.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    prof::stop();
    const bool helped = cpu::pool_stats().by_helpers > helped0;
    std::set<int> gemm_tids;
    const auto t = nlohmann::json::parse(prof::trace_json());
    for (const auto& e : t.at("traceEvents"))
      if (e.at("ph") == "X" && e.at("name") == "gemm") gemm_tids.insert(e.at("tid").get<int>());
    MESSAGE(products << " products, helpers ran chunks: " << std::string(helped ? "yes" : "no (the OS never woke one)")
                     << ", gemm slices on " << gemm_tids.size() << " threads");
    CHECK(!gemm_tids.empty());
    if (helped) CHECK(gemm_tids.size() >= 2);
  }
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
        doctest::Approx(2 * (3 * fG + 8 * fD - 2 * 2.0 * 3 * 16 * 128 * 1024 - 2.0 * 100 * 16384 - 2 * 2.0 * 16384 * 2)));
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
  for (const prof::Group& g : prof::groups())
    if (is_gemm_layer(g.layer)) flops += g.flops;
  CHECK(flops == doctest::Approx(iteration_flops(m, 3)).epsilon(1e-12));
  CHECK(find_group(prof::groups(), "D.conv2", "backward-weight") != nullptr);
}

TEST_CASE("covergan train --profile writes the layer table and profile.csv with provenance and roofline.png and a trace") {
  gantest::Scratch s("profile_cli");
  const std::string dir = (s.path() / "prof").string(), trace = (s.path() / "t.json").string();
  const auto r = gantest::run_covergan("train --profile 1 --base-channels 2 --batch 2 --device cpu --out " + dir +
                                       " --profile-trace " + trace);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("64x64, base 2, batch 2") != std::string::npos);
  CHECK(r.output.find("D.conv3 backward-weight") != std::string::npos);
  CHECK(r.output.find("G.deconv1 forward") != std::string::npos);
  CHECK(r.output.find("ceilings: ") != std::string::npos);
  CHECK(r.output.find("images/s") != std::string::npos);
  const std::string text = gantest::slurp(dir + "/profile.csv");
  for (const char* key : {"# commit: ", "# dirty: ", "# compiler: ", "# flags: ", "# cpu_model: ", "# peak_gflops: ",
                          "# mem_gbs: ", "# load_average: ", "# date: "})
    CHECK_MESSAGE(text.find(key) != std::string::npos, key);
  CHECK(text.find("\nkind,name,pass,shape,") != std::string::npos);
  CHECK(text.find("\nlayer,G.deconv1,forward,") != std::string::npos);
  CHECK(gantest::slurp(dir + "/roofline.png").rfind("\x89PNG", 0) == 0);
  CHECK(nlohmann::json::parse(gantest::slurp(trace)).at("traceEvents").size() > 10);
}

TEST_CASE("covergan train --profile honours --data and refuses a count that is not positive") {
  gantest::Scratch s("profile_data");
  const std::string data = (s.path() / "d.cgd").string();
  gantest::write_striped_dataset(data, 8, 16, {"a", "b", "c"}, 3);
  const auto r = gantest::run_covergan("train --profile 1 --base-channels 2 --batch 2 --device cpu --data " + data +
                                       " --out " + (s.path() / "p").string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("16x16, base 2, batch 2") != std::string::npos);
  for (const char* bad : {"0", "-3", "x"}) {
    const auto b = gantest::run_covergan(std::string("train --profile ") + bad);
    CHECK(b.exit_code != 0);
    CHECK_MESSAGE(b.output.find("--profile needs a positive number of iterations") != std::string::npos, b.output);
    CHECK(b.output.size() < 400);  // one sentence, not a 300-digit range
  }
  const auto stray = gantest::run_covergan("train --profile-trace t.json --data x.cgd --out o");
  CHECK(stray.exit_code != 0);
  const auto no_out = gantest::run_covergan("train --data x.cgd");
  CHECK(no_out.exit_code != 0);
  CHECK(no_out.output.find("--out") != std::string::npos);
}

TEST_CASE("a layer run at several shapes has a row per shape, and its backward the forward's") {
  prof::start();
  const auto run = [](const char* layer, const char* shape) {
    uint64_t entry = 0;
    {
      NVTX_LAYER(layer, "forward");
      prof::note_shape(shape);
      prof::note_shape("(1) -> (1)");  // a nested note in the same entry does not rename it
      prof::add_work(1, 1);
      entry = prof::current_entry();
    }
    NVTX_LAYER(layer, "backward", entry);
    NVTX_PASS("backward-data");
    prof::add_work(2, 0);
  };
  run("X.conv", "(32,512,8,8) -> (32,1024,4,4)");
  run("X.conv", "(16,512,8,8) -> (16,1024,4,4)");
  run("X.conv", "(32,512,8,8) -> (32,1024,4,4)");  // a shape seen before adds to its row
  run("X.bn", "(4,6) -> (4,6)");
  prof::stop();
  CHECK(prof::current_entry() == 0);  // not recording
  const auto gs = prof::groups();
  REQUIRE(gs.size() == 6);
  const char* big = "(32,512,8,8) -> (32,1024,4,4)";
  const char* small = "(16,512,8,8) -> (16,1024,4,4)";
  for (const char* pass : {"forward", "backward-data"}) {
    REQUIRE(find_group(gs, "X.conv", pass, big) != nullptr);
    REQUIRE(find_group(gs, "X.conv", pass, small) != nullptr);
    CHECK(find_group(gs, "X.conv", pass, big)->calls == 2);
    CHECK(find_group(gs, "X.conv", pass, small)->calls == 1);
  }
  CHECK(find_group(gs, "X.conv", "forward", big)->flops == 2);
  CHECK(find_group(gs, "X.conv", "backward-data", big)->flops == 4);
  CHECK(find_group(gs, "X.conv", "backward-data", small)->flops == 2);
  CHECK(find_group(gs, "X.bn", "backward-data", "(4,6) -> (4,6)") != nullptr);
  // The order first entered: forward, backward at 32; forward, backward at 16; X.bn.
  CHECK(gs[0].shape == big);
  CHECK(gs[1].pass == "backward-data");
  CHECK(gs[2].shape == small);
  CHECK(gs[4].layer == "X.bn");
  const std::string table = prof::layer_table(1, 1.0, {4e11, 1e10});
  CHECK(table.find(small) != std::string::npos);
  CHECK(table.find(big) != std::string::npos);
  // roofline.png tells the two shapes' points apart by their batch; a single one needs none.
  CHECK(roofline_label(gs[0], gs) == "X.conv b32");
  CHECK(roofline_label(gs[2], gs) == "X.conv b16");
  CHECK(roofline_label(gs[4], gs) == "X.bn");
}
