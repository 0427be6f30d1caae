// Google Benchmark of every layer of the paper's 64x64 AC-GAN, forward and
// backward, at the paper's shapes: CPU at batch 16 and, when a GPU answers,
// CUDA at batch 128 (CUDA events). Each reports FLOP/s (convs, linears) or
// bytes/s (pointwise ops, batch norm) beside the time.
// Batch override: COVERGAN_BENCH_BATCH_CPU / COVERGAN_BENCH_BATCH_CUDA; width override
// (base channels, default the paper's 128): COVERGAN_BENCH_BASE, e.g. 32 for the demo's.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "engine/timer.h"
#include "layers/activations.h"
#include "layers/batchnorm2d.h"
#include "layers/conv2d.h"
#include "layers/conv_transpose2d.h"
#include "layers/linear.h"
#include "layers/losses.h"

using namespace cg;

namespace {

struct OpSpec {
  std::string name;                           // "D.conv2"
  std::vector<Shape> inputs;                  // input, then parameters
  std::function<Tensor(Tape*, std::vector<Tensor>&)> run;
  std::function<double(int64_t)> fwd_flops;   // per call, given batch
  bool bytes_counter = false;                 // pointwise: report bytes/s instead
};

Tensor random_on(Shape s, Device d, std::mt19937& rng) {
  std::normal_distribution<double> n(0.0, 0.5);
  std::vector<double> v(static_cast<size_t>(s.numel()));
  for (double& x : v) x = n(rng);
  return Tensor::from(v, s, DType::f32, d);
}

double conv_flops(int64_t B, int64_t C, int64_t OC, int64_t OH, int64_t K) { return 2.0 * B * OC * OH * OH * C * K * K; }

std::vector<OpSpec> specs(int64_t B, int K, int64_t ch) {  // ch: base_channels (the paper's 128)
  std::vector<OpSpec> v;
  v.push_back({"G.fc", {{B, 100}, {16 * ch * 8, 100}, {16 * ch * 8}},
               [](Tape* t, std::vector<Tensor>& in) { return linear(t, in[0], in[1], in[2]); },
               [=](int64_t b) { return 2.0 * b * 100 * 16 * ch * 8; }});
  const int64_t gin[4] = {8 * ch, 4 * ch, 2 * ch, ch}, gout[4] = {4 * ch, 2 * ch, ch, 3}, gh[4] = {4, 8, 16, 32};
  for (int i = 0; i < 4; ++i) {
    int64_t C = gin[i], OC = gout[i], H = gh[i];
    v.push_back({"G.deconv" + std::to_string(i + 1), {{B, C, H, H}, {C, OC, 4, 4}, {OC}},
                 [](Tape* t, std::vector<Tensor>& in) { return conv_transpose2d(t, in[0], in[1], in[2], 2, 1); },
                 [=](int64_t b) { return 2.0 * b * C * H * H * OC * 16; }});
  }
  const int64_t din[4] = {3, ch, 2 * ch, 4 * ch}, dout[4] = {ch, 2 * ch, 4 * ch, 8 * ch}, dh[4] = {64, 32, 16, 8};
  for (int i = 0; i < 4; ++i) {
    int64_t C = din[i], OC = dout[i], H = dh[i];
    v.push_back({"D.conv" + std::to_string(i + 1), {{B, C, H, H}, {OC, C, 4, 4}, {OC}},
                 [](Tape* t, std::vector<Tensor>& in) { return conv2d(t, in[0], in[1], in[2], 2, 1); },
                 [=](int64_t b) { return conv_flops(b, C, OC, H / 2, 4); }});
  }
  const int64_t feat = 8 * ch * 16;  // D's last feature map, flattened
  v.push_back({"D.heads", {{B, feat}, {1 + K + 2, feat}, {1 + K + 2}},
               [](Tape* t, std::vector<Tensor>& in) { return linear(t, in[0], in[1], in[2]); },
               [=](int64_t b) { return 2.0 * b * feat * (1 + K + 2); }});
  const int64_t bc = 4 * ch;  // G.bn1's channels
  v.push_back({"G.bn1", {{B, bc, 8, 8}, {bc}, {bc}},
               [=](Tape* t, std::vector<Tensor>& in) {
                 Tensor rm = Tensor::zeros(Shape{bc}, DType::f32, in[0].device());
                 Tensor rv = Tensor::full(Shape{bc}, 1.0, DType::f32, in[0].device());
                 return batch_norm2d(t, in[0], in[1], in[2], rm, rv, true);
               },
               [=](int64_t b) { return 2.0 * 4 * b * bc * 64; }, true});  // ~2 reads + 1 write (+stats), f32
  v.push_back({"D.leaky_relu1", {{B, ch, 32, 32}},
               [](Tape* t, std::vector<Tensor>& in) { return leaky_relu(t, in[0], 0.2); },
               [=](int64_t b) { return 2.0 * 4 * b * ch * 1024; }, true});
  v.push_back({"G.tanh", {{B, 3, 64, 64}},
               [](Tape* t, std::vector<Tensor>& in) { return tanh(t, in[0]); },
               [](int64_t b) { return 2.0 * 4 * b * 3 * 4096; }, true});
  return v;
}

void set_counters(benchmark::State& st, const OpSpec& op, int64_t B, double mult) {
  const double work = op.fwd_flops(B) * mult;
  if (op.bytes_counter)
    st.counters["bytes_per_second"] = benchmark::Counter(work, benchmark::Counter::kIsIterationInvariantRate,
                                                         benchmark::Counter::kIs1024);
  else
    st.counters["FLOP/s"] = benchmark::Counter(work, benchmark::Counter::kIsIterationInvariantRate);
  st.counters["batch"] = static_cast<double>(B);
}

void bench_forward(benchmark::State& st, OpSpec op, Device dev, int64_t B) {
  std::mt19937 rng(1);
  std::vector<Tensor> in;
  for (const Shape& s : op.inputs) in.push_back(random_on(s, dev, rng));
  DeviceTimer timer(dev);
  op.run(nullptr, in);  // warm-up: algorithm choice, workspace, caches
  for (auto _ : st) {
    timer.start();
    Tensor out = op.run(nullptr, in);
    st.SetIterationTime(timer.stop_seconds());
  }
  set_counters(st, op, B, 1.0);
}

// Backward of input and all parameters: two GEMM-sized passes for convs/linears.
void bench_backward(benchmark::State& st, OpSpec op, Device dev, int64_t B) {
  std::mt19937 rng(2);
  std::vector<Tensor> in;
  for (const Shape& s : op.inputs) {
    in.push_back(random_on(s, dev, rng));
    in.back().set_requires_grad(true);
  }
  DeviceTimer timer(dev);
  Tensor seed;
  for (auto _ : st) {
    Tape tape;
    Tensor out = op.run(&tape, in);
    if (!seed.defined()) seed = random_on(out.shape(), dev, rng);
    timer.start();
    tape.backward(out, seed);
    st.SetIterationTime(timer.stop_seconds());
  }
  set_counters(st, op, B, op.bytes_counter ? 1.5 : 2.0);
}

int64_t env_int(const char* name, int64_t dflt) {
  const char* v = std::getenv(name);
  return v ? std::atoll(v) : dflt;
}

}  // namespace

int main(int argc, char** argv) {
  const int K = 5;
  const int64_t ch = env_int("COVERGAN_BENCH_BASE", 128);
  std::vector<std::pair<Device, int64_t>> devs = {{Device::cpu, env_int("COVERGAN_BENCH_BATCH_CPU", 16)}};
  if (cuda_available()) devs.push_back({Device::cuda, env_int("COVERGAN_BENCH_BATCH_CUDA", 128)});
  else std::fprintf(stderr, "bench_layers: no CUDA GPU, CUDA benchmarks not registered\n");
  for (auto [dev, B] : devs) {
    for (const OpSpec& op : specs(B, K, ch)) {
      const std::string base = op.name + "/" + device_name(dev) + "/B" + std::to_string(B);
      benchmark::RegisterBenchmark((base + "/fwd").c_str(), bench_forward, op, dev, B)
          ->UseManualTime()->Unit(benchmark::kMillisecond);
      benchmark::RegisterBenchmark((base + "/bwd").c_str(), bench_backward, op, dev, B)
          ->UseManualTime()->Unit(benchmark::kMillisecond);
    }
  }
  // bench-compare --layers refuses to set this beside a peer measured at another width
  benchmark::AddCustomContext("base_channels", std::to_string(ch));
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
