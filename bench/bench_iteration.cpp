// Google Benchmark of one whole AC-GAN training iteration and its two halves (the D step:
// G forward, D on real and fake, backward, Adam; the G step: G and D forward, backward
// into G, Adam), on the CPU and, when a GPU answers, on CUDA (CUDA events, after warm-up).
// Reports images/s and achieved GFLOP/s from the FLOP count in gan/profile.h, and beside
// them the machine's sgemm rate (sgemm_peak/cpu, a large square product through cpu::gemm).
// Shape flags (before Google Benchmark's own): --size S (64) --base C (32) --batch B (64).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "engine/timer.h"
#include "gan/profile.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/threads.h"

using namespace cg;
using namespace cg::gan;

namespace {

ModelConfig g_model;
int64_t g_batch = 64;

enum class Stage { iteration, d_step, g_step };

void run_stage(IterationRig& rig, Stage s) {
  StepStats st;
  if (s == Stage::iteration) {
    rig.step();
  } else if (s == Stage::d_step) {
    d_backward(*rig.G, *rig.D, rig.b, rig.lc, st);
    rig.opt_d->step();
  } else {
    g_backward(*rig.G, *rig.D, rig.b, rig.lc, st);
    rig.opt_g->step();
  }
}

void bench_stage(benchmark::State& state, Device dev, Stage s) {
  static std::unique_ptr<IterationRig> rig[2];  // one per device, reused by every stage
  auto& r = rig[dev == Device::cuda];
  if (!r) r = std::make_unique<IterationRig>(g_model, g_batch, dev);
  r->step();  // warm-up: pages, BLAS buffers, cuDNN algorithms; also draws the latents
  device_synchronize(dev);
  DeviceTimer timer(dev);
  for (auto _ : state) {
    timer.start();
    run_stage(*r, s);
    state.SetIterationTime(timer.stop_seconds());
  }
  const double flops = s == Stage::iteration ? iteration_flops(g_model, g_batch)
                       : s == Stage::d_step  ? d_step_flops(g_model, g_batch)
                                             : g_step_flops(g_model, g_batch);
  state.counters["images/s"] = benchmark::Counter(double(g_batch), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["FLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
}

// The yardstick of the CPU goals ("half of the machine's sgemm rate"): C = A B with n = 2048,
// through cpu::gemm, so on the same threads and OpenBLAS build as the convolutions.
void bench_sgemm_peak(benchmark::State& state) {
  const int64_t n = 2048;
  std::vector<float> a(size_t(n * n), 0.5f), b(size_t(n * n), 0.25f), c(size_t(n * n));
  cpu::gemm<float>(false, false, n, n, n, 1.f, a.data(), n, b.data(), n, 0.f, c.data(), n);  // warm-up
  for (auto _ : state) {
    cpu::gemm<float>(false, false, n, n, n, 1.f, a.data(), n, b.data(), n, 0.f, c.data(), n);
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * double(n * n * n), benchmark::Counter::kIsIterationInvariantRate);
}

// Removes "--name value" from argv; returns the value or def.
long take_flag(int& argc, char** argv, const char* name, long def) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) {
      const long v = std::strtol(argv[i + 1], nullptr, 10);
      for (int j = i; j + 2 <= argc; ++j) argv[j] = argv[j + 2];
      argc -= 2;
      return v;
    }
  return def;
}

}  // namespace

int main(int argc, char** argv) {
  g_model.image_size = int(take_flag(argc, argv, "--size", 64));
  g_model.base_channels = int(take_flag(argc, argv, "--base", 32));
  g_batch = take_flag(argc, argv, "--batch", 64);
  try {
    g_model.validate();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_iteration: %s\n", e.what());
    return 2;
  }
  std::vector<Device> devs{Device::cpu};
  if (std::getenv("COVERGAN_BENCH_NO_CPU")) devs.clear();
  if (cuda_available()) devs.push_back(Device::cuda);
  const std::pair<const char*, Stage> stages[] = {
      {"iteration", Stage::iteration}, {"d_step", Stage::d_step}, {"g_step", Stage::g_step}};
  for (Device d : devs)
    for (const auto& [name, s] : stages) {
      const std::string n = std::string(name) + "/" + device_name(d);
      benchmark::RegisterBenchmark(n.c_str(), [d, s = s](benchmark::State& st) { bench_stage(st, d, s); })
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond);
    }
  if (!devs.empty() && devs[0] == Device::cpu)
    benchmark::RegisterBenchmark("sgemm_peak/cpu", bench_sgemm_peak)->UseRealTime()->Unit(benchmark::kMillisecond);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("model", std::to_string(g_model.image_size) + "x" + std::to_string(g_model.image_size) +
                                           " base " + std::to_string(g_model.base_channels) + " batch " +
                                           std::to_string(g_batch));
  benchmark::AddCustomContext("cpu_threads", cpu::thread_summary());
  benchmark::AddCustomContext("iteration_gflop", std::to_string(iteration_flops(g_model, g_batch) / 1e9));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
