// Google Benchmark of what one playground request costs the server (serve/playground.h):
// a generator forward pass for one cover with eval-mode BatchNorm, and that plus the
// PNG the page receives. At the paper's model (64x64, base 128: ~0.8 GFLOP per cover)
// and the CPU demo's (32x32, base 32), on the CPU and, when a GPU answers, on CUDA.
// The end-to-end figure (slider moved to cover on screen) comes from a browser:
// scripts/serve-bench. GFLOP/s from gan/profile.h's count.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "engine/timer.h"
#include "gan/profile.h"
#include "gan/sampler.h"
#include "kernels/cpu/threads.h"
#include "serve/png.h"

using namespace cg;
using namespace cg::gan;

namespace {

ModelConfig model(int size, int base) {
  ModelConfig m;
  m.image_size = size;
  m.base_channels = base;
  return m;
}

// One cover, as the playground makes it: (genre, codes, noise) -> eval-mode forward -> PNG.
void bench_cover(benchmark::State& state, ModelConfig m, Device dev, bool png) {
  Generator G(m, dev);
  Philox init(1);
  G.init(init);
  Philox rng(7);
  const Latents l = draw_latents_for(m, {1}, rng);
  std::string bytes = serve::covers_png(generate(G, l, BnMode::eval), 1);  // warm-up: pages, buffers, algorithms
  for (auto _ : state) {
    const Tensor img = generate(G, l, BnMode::eval);  // returns on the host: the device work is done
    if (png) bytes = serve::covers_png(img, 1);
    benchmark::DoNotOptimize(bytes.data());
  }
  state.counters["FLOP/s"] =
      benchmark::Counter(generator_forward_flops(m, 1), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["png_bytes"] = double(bytes.size());
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<Device> devs{Device::cpu};
  if (cuda_available()) devs.push_back(Device::cuda);
  const std::pair<const char*, ModelConfig> models[] = {{"paper_64x64_base128", model(64, 128)},
                                                        {"demo_32x32_base32", model(32, 32)}};
  for (Device d : devs)
    for (const auto& [name, m] : models)
      for (bool png : {false, true}) {
        const std::string n = std::string(png ? "cover_png/" : "forward/") + name + "/" + device_name(d);
        benchmark::RegisterBenchmark(n.c_str(), [d, m = m, png](benchmark::State& st) { bench_cover(st, m, d, png); })
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);
      }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("cpu_threads", cpu::thread_summary());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
