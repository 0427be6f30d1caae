// Google Benchmark of every op one AC-GAN iteration runs, layer by layer at the model's
// own shapes: the convolutions and transposed convolutions, the linear layers, batch norm
// fused with its activation (batch_norm2d_act, as the model runs it), the activations,
// the D and G losses and the two Adam steps; forward and backward (Adam: its step), on
// the CPU and, when a GPU answers, on CUDA (CUDA events). FLOPs and bytes come from the
// kernels themselves (the profiler's add_work, base/profile.h), so each result carries
// GFLOP/s and GB/s as the profile computes them. Flags as bench_iteration's (--help).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <functional>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "base/profile.h"
#include "bench/bench_common.h"
#include "engine/adam.h"
#include "engine/timer.h"
#include "gan/discriminator.h"
#include "gan/generator.h"
#include "kernels/common/spectral.h"
#include "layers/activations.h"
#include "layers/batchnorm2d.h"
#include "layers/conv2d.h"
#include "layers/conv_transpose2d.h"
#include "layers/dropout.h"
#include "layers/linear.h"
#include "layers/losses.h"
#include "layers/shape_ops.h"
#include "layers/spectral_loss.h"

using namespace cg;

namespace {

struct OpSpec {
  std::string name;           // "D.conv2"
  std::vector<Shape> inputs;  // input, then parameters
  std::function<Tensor(Tape*, std::vector<Tensor>&)> run;
  bool input_grad = true;  // false: the model never asks for the input's gradient (G.fc's latent)
};

Tensor random_on(Shape s, Device d, std::mt19937& rng) {
  std::normal_distribution<double> n(0.0, 0.5);
  std::vector<double> v(static_cast<size_t>(s.numel()));
  for (double& x : v) x = n(rng);
  return Tensor::from(v, s, DType::f32, d);
}

Tensor bn_act(Tape* t, std::vector<Tensor>& in, double slope) {
  const int64_t C = in[0].dim(1);
  Tensor rm = Tensor::zeros(Shape{C}, DType::f32, in[0].device());
  Tensor rv = Tensor::full(Shape{C}, 1.0, DType::f32, in[0].device());
  return batch_norm2d_act(t, in[0], in[1], in[2], rm, rv, true, 0.1, 1e-5, slope);
}

// The D step's loss terms on logits (B,1), (B,K), (B,2): what gan/acgan.cpp sums.
Tensor d_loss(Tape* t, std::vector<Tensor>& in) {
  const int64_t B = in[0].dim(0), K = in[1].dim(1);
  const Device d = in[0].device();
  std::vector<int32_t> labels(static_cast<size_t>(B));
  for (int64_t i = 0; i < B; ++i) labels[size_t(i)] = int32_t(i % K);
  const Tensor y = Tensor::from_labels(labels, d);
  const Tensor ones = Tensor::full(Shape{B, 1}, 1.0, DType::f32, d), zeros = Tensor::zeros(Shape{B, 1}, DType::f32, d);
  const Tensor codes = Tensor::zeros(Shape{B, 2}, DType::f32, d);
  return weighted_sum(t, {bce_with_logits(t, in[0], ones), bce_with_logits(t, in[0], zeros), cross_entropy(t, in[1], y),
                          cross_entropy(t, in[1], y), mse(t, in[2], codes)},
                      {1, 1, 1, 1, 1});
}

std::vector<OpSpec> specs(const gan::ModelConfig& m, int64_t B) {
  std::vector<OpSpec> v;
  const int L = m.n_layers();
  const int64_t c0 = m.top_channels(), S = m.image_size, K = m.num_genres;
  v.push_back({"G.fc", {{B, m.z_dim}, {c0 * 16, m.z_dim}},
               [](Tape* t, std::vector<Tensor>& in) { return linear(t, in[0], in[1], Tensor()); }, false});
  v.push_back({"G.bn0", {{B, c0, 4, 4}, {c0}, {c0}}, [](Tape* t, std::vector<Tensor>& in) { return bn_act(t, in, 0); }});
  for (int i = 0; i < L; ++i) {
    const int64_t C = c0 >> i, OC = i + 1 < L ? C / 2 : 3, H = int64_t(4) << i;
    std::vector<Shape> in{{B, C, H, H}, {C, OC, 4, 4}};
    if (i + 1 == L) in.push_back({OC});
    v.push_back({"G.deconv" + std::to_string(i + 1), in, [](Tape* t, std::vector<Tensor>& x) {
                   return conv_transpose2d(t, x[0], x[1], x.size() > 2 ? x[2] : Tensor(), 2, 1);
                 }});
    if (i + 1 < L)
      v.push_back({"G.bn" + std::to_string(i + 1), {{B, OC, 2 * H, 2 * H}, {OC}, {OC}},
                   [](Tape* t, std::vector<Tensor>& x) { return bn_act(t, x, 0); }});
  }
  v.push_back({"G.tanh", {{B, 3, S, S}}, [](Tape* t, std::vector<Tensor>& x) { return tanh(t, x[0]); }});
  for (int i = 0; i < L; ++i) {
    const int64_t C = i == 0 ? 3 : int64_t(m.base_channels) << (i - 1), OC = int64_t(m.base_channels) << i;
    const int64_t H = S >> i;
    // conv1 has a bias and its LeakyReLU fused in (conv2d_leaky_relu), as the model runs it.
    if (i == 0)
      v.push_back({"D.conv1", {{B, C, H, H}, {OC, C, 4, 4}, {OC}},
                   [s = m.leaky_slope](Tape* t, std::vector<Tensor>& x) {
                     return conv2d_leaky_relu(t, x[0], x[1], x[2], 2, 1, s);
                   }});
    else
      v.push_back({"D.conv" + std::to_string(i + 1), {{B, C, H, H}, {OC, C, 4, 4}},
                   [](Tape* t, std::vector<Tensor>& x) { return conv2d(t, x[0], x[1], Tensor(), 2, 1); }});
    if (i > 0)
      v.push_back({"D.bn" + std::to_string(i + 1), {{B, OC, H / 2, H / 2}, {OC}, {OC}},
                   [s = m.leaky_slope](Tape* t, std::vector<Tensor>& x) { return bn_act(t, x, s); }});
  }
  const int64_t feat = c0 * 16, heads = 1 + K + m.n_codes;
  v.push_back({"D.heads", {{B, feat}, {heads, feat}, {heads}},
               [](Tape* t, std::vector<Tensor>& x) { return linear(t, x[0], x[1], x[2]); }});
  // --d-dropout after D's second block (the model's own rate, or 0.3 when it has none):
  // a Philox mask drawn and applied; the backward reads the saved u8 mask.
  const int64_t dc = int64_t(m.base_channels) << 1, dh = S >> 2;
  const double p = m.d_dropout > 0 ? m.d_dropout : 0.3;
  v.push_back({"D.dropout2", {{B, dc, dh, dh}}, [p](Tape* t, std::vector<Tensor>& x) {
                 Philox masks(7);
                 return dropout(t, x[0], p, true, masks);
               }});
  v.push_back({"D.loss", {{B, 1}, {B, K}, {B, 2}}, d_loss});
  // train --g-spectral: G's spectral term on the batch's covers, every genre present.
  v.push_back({"G.spectral", {{B, 3, S, S}}, [K](Tape* t, std::vector<Tensor>& x) {
                 const int64_t N = x[0].dim(0), R = common::spectral_rings(int(x[0].dim(2)));
                 std::vector<int32_t> labels(static_cast<size_t>(N));
                 for (int64_t i = 0; i < N; ++i) labels[size_t(i)] = int32_t(i % K);
                 const Tensor target = Tensor::full(Shape{K, R}, -6.0, DType::f32, x[0].device());
                 return spectral_loss(t, x[0], Tensor::from_labels(labels, x[0].device()), target, 4, 1e-4);
               }});
  return v;
}

// Work per call as the kernels report it: the op run once with the profiler on.
std::pair<double, double> work_of(const std::function<void()>& f) {
  prof::start();
  f();
  prof::stop();
  double flops = 0, bytes = 0;
  for (const prof::Row& r : prof::rows()) flops += r.flops, bytes += r.bytes;
  return {flops, bytes};
}

void set_counters(benchmark::State& st, std::pair<double, double> work, int64_t B) {
  st.counters["FLOP/s"] = benchmark::Counter(work.first, benchmark::Counter::kIsIterationInvariantRate);
  st.counters["bytes_per_second"] = benchmark::Counter(work.second, benchmark::Counter::kIsIterationInvariantRate);
  st.counters["batch"] = double(B);
}

void bench_forward(benchmark::State& st, OpSpec op, Device dev, int64_t B) {
  std::mt19937 rng(1);
  std::vector<Tensor> in;
  for (const Shape& s : op.inputs) in.push_back(random_on(s, dev, rng));
  DeviceTimer timer(dev);
  op.run(nullptr, in);  // warm-up: algorithm choice, workspace, caches
  const auto work = work_of([&] { op.run(nullptr, in); });
  for (auto _ : st) {
    timer.start();
    Tensor out = op.run(nullptr, in);
    st.SetIterationTime(timer.stop_seconds());
  }
  set_counters(st, work, B);
}

// The backward of the input and every parameter (what the D step asks of most layers; of
// the parameters alone where the model never needs the input's, G.fc's latent).
void bench_backward(benchmark::State& st, OpSpec op, Device dev, int64_t B) {
  std::mt19937 rng(2);
  std::vector<Tensor> in;
  for (const Shape& s : op.inputs) {
    in.push_back(random_on(s, dev, rng));
    in.back().set_requires_grad(in.size() > 1 || op.input_grad);
  }
  DeviceTimer timer(dev);
  Tensor seed;
  // The root's gradient is set before the clock starts and the sweep alone is timed (as
  // bench_torch.py times autograd.grad, which takes its seed as given): seeding a
  // non-scalar root copies it (an 8 MiB zero fill and add at G.bn3), which no training
  // step does (its roots are scalar losses).
  // The forward on a fresh tape with the gradients cleared and the root's set; then the sweep.
  const auto ready = [&](Tape& tape) {
    Tensor out = op.run(&tape, in);
    if (!seed.defined()) seed = random_on(out.shape(), dev, rng);
    for (Tensor& t : in) t.set_grad(Tensor());
    if (out.numel() != 1) out.set_grad(seed.clone());
    return out;
  };
  const auto sweep = [](Tape& tape, const Tensor& out) {
    out.numel() == 1 ? tape.backward(out) : tape.backward_from_grad(out);
  };
  auto once = [&](bool timed) {
    Tape tape;
    const Tensor out = ready(tape);
    if (timed) timer.start();
    sweep(tape, out);
    return timed ? timer.stop_seconds() : 0.0;
  };
  once(false);
  std::pair<double, double> work{0, 0};
  {
    Tape tape;
    const Tensor out = ready(tape);
    work = work_of([&] { sweep(tape, out); });
  }
  for (auto _ : st) st.SetIterationTime(once(true));
  set_counters(st, work, B);
}

// One Adam step over all of G's or D's parameters (one flat buffer, one pass).
void bench_adam(benchmark::State& st, gan::ModelConfig m, bool generator, Device dev) {
  std::unique_ptr<gan::Generator> G;
  std::unique_ptr<gan::Discriminator> D;
  ParamStore* ps = nullptr;
  if (generator) G = std::make_unique<gan::Generator>(m, dev), ps = &G->params();
  else D = std::make_unique<gan::Discriminator>(m, dev), ps = &D->params();
  Tensor(ps->flat_grad()).fill_(1e-3);
  Adam opt(*ps, AdamConfig{2e-4, 0.5, 0.999, 1e-8});
  DeviceTimer timer(dev);
  opt.step();
  const auto work = work_of([&] { opt.step(); });
  for (auto _ : st) {
    timer.start();
    opt.step();
    st.SetIterationTime(timer.stop_seconds());
  }
  set_counters(st, work, 0);
  st.counters["params"] = double(ps->num_params());
}

std::vector<int> parse_sizes(const std::string& text) {
  std::vector<int> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(int(cgbench::positive("bench_layers", "--size", item)));
  return out;
}

constexpr const char* kUsage =
    "bench_layers: every op of one AC-GAN iteration at the model's shapes, forward and backward (Adam: step).\n"
    "  --size S[,S]  image sizes, 16/32/64/128 (default 32,64: the CPU demo's and the paper's)\n"
    "  --base C      base channels (default 32)\n"
    "  --batch B     batch size (default 64)\n"
    "Names read LAYER/DEVICE/SxS/BATCH/PASS, e.g. D.conv2/cpu/64x64/B64/bwd; filter with --benchmark_filter.";

}  // namespace

int main(int argc, char** argv) {
  using cgbench::take_flag, cgbench::positive;
  cgbench::help(argc, argv, kUsage);
  const std::vector<int> sizes = parse_sizes(take_flag(argc, argv, "--size", "32,64"));
  const int base = int(positive("bench_layers", "--base", take_flag(argc, argv, "--base", "32")));
  const int64_t B = positive("bench_layers", "--batch", take_flag(argc, argv, "--batch", "64"));
  std::vector<Device> devs{Device::cpu};
  if (cuda_available()) devs.push_back(Device::cuda);
  else std::fprintf(stderr, "bench_layers: no CUDA GPU, CUDA benchmarks not registered\n");
  for (int S : sizes) {
    gan::ModelConfig m;
    m.image_size = S;
    m.base_channels = base;
    try {
      m.validate();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bench_layers: %s\n", e.what());
      return 2;
    }
    const std::string size = std::to_string(S) + "x" + std::to_string(S);
    for (Device dev : devs) {
      const std::string tail = std::string("/") + device_name(dev) + "/" + size + "/B" + std::to_string(B);
      for (const OpSpec& op : specs(m, B)) {
        benchmark::RegisterBenchmark((op.name + tail + "/fwd").c_str(), bench_forward, op, dev, B)
            ->UseManualTime()->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark((op.name + tail + "/bwd").c_str(), bench_backward, op, dev, B)
            ->UseManualTime()->Unit(benchmark::kMillisecond);
      }
      for (bool g : {true, false})
        benchmark::RegisterBenchmark(((g ? "G.adam" : "D.adam") + tail + "/step").c_str(), bench_adam, m, g, dev)
            ->UseManualTime()->Unit(benchmark::kMillisecond);
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  cgbench::explain_debug_banner();
  // bench-compare --layers refuses to set these beside a peer measured at other shapes
  benchmark::AddCustomContext("base_channels", std::to_string(base));
  benchmark::AddCustomContext("batch", std::to_string(B));
  cgbench::add_context(cuda_available());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
