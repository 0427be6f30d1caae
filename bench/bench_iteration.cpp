// Google Benchmark of one whole AC-GAN training iteration and its two halves (the D step:
// G forward, D on real and fake, backward, Adam; the G step: D forward on that G output,
// backward through D and G into G, Adam), on the CPU and, when a GPU answers, on CUDA
// (CUDA events, after warm-up).
// Reports images/s and achieved GFLOP/s from the FLOP count in gan/profile.h, and beside
// them the machine's sgemm rate (sgemm_peak/cpu, a large square product through cpu::gemm).
// Shape flags (before Google Benchmark's own; --help lists them): --size S (64) --base C
// (32) --batch B (64). --contend N times the CPU iteration alone and beside N busy loops.
// CUDA flags: --precision fp32|tf32|bf16|auto (auto: tf32), --no-graph (eager iterations
// instead of a replayed CUDA graph), --deterministic (cuDNN's deterministic algorithms).
// The whole iteration runs as training runs it (gan/iteration.h: on CUDA one graph launch,
// no host synchronisation inside); the d_step and g_step halves run eagerly.
#include <benchmark/benchmark.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "base/precision.h"
#include "bench/bench_common.h"
#include "engine/io_util.h"
#include "engine/timer.h"
#include "gan/iteration.h"
#include "gan/profile.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/threads.h"

using namespace cg;
using namespace cg::gan;

namespace {

ModelConfig g_model;
int64_t g_batch = 64;
std::string g_precision = "auto";
bool g_graph = true, g_deterministic = false;

enum class Stage { iteration, d_step, g_step };

// The models of one device and, for the whole iteration, a runner over them.
struct Bench {
  IterationRig rig;
  IterationRunner runner;
  GForward gf;  // the g_step stage's forward
  Bench(Device dev)
      : rig(g_model, g_batch, dev),
        runner(*rig.G, *rig.D, *rig.opt_g, *rig.opt_d, rig.lc, g_batch, 7, 0, RunnerOptions{g_graph, 4}) {
    runner.real().copy_(rig.b.real);
    runner.real_labels().copy_(rig.b.real_labels);
  }
  void iteration() {
    StepStats st;
    runner.step();
    runner.next_stats(&st, true);
  }
};

// d_step: G's forward and the D step, as an iteration runs them; g_step: the G step on a
// forward made untimed before it (prepare_stage).
void prepare_stage(Bench& b, Stage s) {
  if (s == Stage::g_step) b.gf = g_forward(*b.rig.G, b.rig.b);
}

void run_stage(Bench& b, Stage s) {
  StepStats st;
  if (s == Stage::iteration) {
    b.iteration();
  } else if (s == Stage::d_step) {
    const GForward gf = g_forward(*b.rig.G, b.rig.b);
    d_backward(*b.rig.D, b.rig.b, gf.fake, b.rig.lc, st);
    b.rig.opt_d->step();
  } else {
    g_backward(*b.rig.G, *b.rig.D, b.rig.b, b.gf, b.rig.lc, st);
    b.rig.opt_g->step();
  }
}

void bench_stage(benchmark::State& state, Device dev, Stage s) {
  static std::unique_ptr<Bench> bench[2];  // one per device, reused by every stage
  auto& b = bench[dev == Device::cuda];
  if (!b) {
    b = std::make_unique<Bench>(dev);
    b->iteration();  // warm-up: pages, BLAS buffers, cuDNN algorithms measured
    b->iteration();  // and on CUDA the capture of the graph (and its first replay)
    b->rig.step();   // latents for the d_step and g_step halves
  }
  device_synchronize(dev);
  DeviceTimer timer(dev);
  for (auto _ : state) {
    // The halves adapt the CPU threads as a training iteration does (the whole iteration's
    // runner adapts inside), untimed: beside busy programs, the pool in shared mode.
    if (dev == Device::cpu && s != Stage::iteration) cpu::adapt_threads();
    prepare_stage(*b, s);
    timer.start();
    run_stage(*b, s);
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

// --contend N: the iteration timed alternately alone and beside N CPU-bound processes it
// starts (fork) and stops itself; prints each round and the median slowdown.
struct Competitors {
  std::vector<pid_t> pids;
  explicit Competitors(int n) {
    for (int i = 0; i < n; ++i) {
      const pid_t pid = fork();
      if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the benchmark
        volatile unsigned long x = 0;
        for (;;) x = x + 1;
      }
      if (pid > 0) pids.push_back(pid);
    }
    usleep(200000);  // let the scheduler place them
  }
  ~Competitors() {
    for (pid_t p : pids) kill(p, SIGKILL);
    for (pid_t p : pids) waitpid(p, nullptr, 0);
  }
};

// Median ms of one iteration over about `seconds` (at least 5 iterations); *count: how many.
double median_iteration_ms(IterationRig& rig, double seconds, size_t* count = nullptr) {
  std::vector<double> ms;
  const auto t_end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (ms.size() < 5 || std::chrono::steady_clock::now() < t_end) {
    const auto t0 = std::chrono::steady_clock::now();
    rig.step();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  if (count) *count = ms.size();
  return ms[ms.size() / 2];
}

// "2 shared (0.83)": the pool's threads and mode, and the CPUs other programs used.
std::string thread_state() {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%d %s (%.2f)", cpu::compute_threads(), cpu::pool_shared() ? "shared" : "alone",
                cpu::others_cpu_load());
  return buf;
}

// Removes a lone "--name" from argv; returns whether it was there.
bool take_switch(int& argc, char** argv, const char* name) {
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) {
      for (int j = i; j + 1 <= argc; ++j) argv[j] = argv[j + 1];
      argc -= 1;
      return true;
    }
  return false;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

int run_contend(int n, int rounds, double seconds, const std::string& json_path) {
  IterationRig rig(g_model, g_batch, Device::cpu);
  rig.step();  // warm-up
  const int T = cpu::compute_threads(), P = cpus_usable();
  const double fair = double(std::min(T, P)) / (double(P) * T / std::max(T + n, P));
  std::printf("bench_iteration --contend %d: %dx%d base %d batch %lld on the cpu; %s\n", n, g_model.image_size,
              g_model.image_size, g_model.base_channels, static_cast<long long>(g_batch), cpu::thread_summary().c_str());
  std::printf("load average before: %s; %d rounds, each %.1f s alone then %.1f s beside %d busy-loop process%s\n\n",
              load_average().c_str(), rounds, seconds, seconds, n, n == 1 ? "" : "es");
  std::printf("%6s %12s %14s %9s %9s %9s %6s   %s\n", "round", "alone ms", "contended ms", "slowdown", "helpers",
              "waits ms", "moves", "pool at the end of each: threads, mode (other programs' CPUs)");
  std::vector<double> alone, busy, ratio, shares, waits, moves;
  for (int r = 1; r <= rounds; ++r) {
    alone.push_back(median_iteration_ms(rig, seconds));
    const std::string state_alone = thread_state();
    size_t iterations = 1;
    const cpu::PoolStats s0 = cpu::pool_stats();
    {
      Competitors c(n);
      busy.push_back(median_iteration_ms(rig, seconds, &iterations));
    }
    const cpu::PoolStats s1 = cpu::pool_stats();
    ratio.push_back(busy.back() / alone.back());
    // Contended: the share of the chunks the helpers ran, the caller's waits for them and the
    // helpers it moved to its CPU while waiting, per iteration.
    const double share = s1.chunks > s0.chunks ? double(s1.by_helpers - s0.by_helpers) / double(s1.chunks - s0.chunks)
                                               : 0.0;
    shares.push_back(share);
    waits.push_back((s1.wait_ms - s0.wait_ms) / double(iterations));
    moves.push_back(double(s1.moves - s0.moves) / double(iterations));
    std::printf("%6d %12.2f %14.2f %8.2fx %8.0f%% %9.1f %6.1f   %s, %s\n", r, alone.back(), busy.back(),
                ratio.back(), 100.0 * share, waits.back(), moves.back(), state_alone.c_str(), thread_state().c_str());
    std::fflush(stdout);
  }
  const std::string load_after = load_average();
  std::printf("\nmedian: alone %.2f ms, beside %d competitor%s %.2f ms: slowdown %.2fx (the median round's; with "
              "every thread given an equal share of %d CPUs: %.2fx); load average after: %s\n",
              median(alone), n, n == 1 ? "" : "s", median(busy), median(ratio), P, fair, load_after.c_str());
  if (!json_path.empty()) {
    std::string j = "{\n  \"context\": {";
    Facts facts = provenance();
    facts.emplace_back("cpu_threads", cpu::thread_summary());
    facts.emplace_back("load_average_after", load_after);
    for (size_t i = 0; i < facts.size(); ++i)
      j += (i ? ",\n    \"" : "\n    \"") + facts[i].first + "\": \"" + facts[i].second + "\"";
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "\n  },\n  \"model\": \"%dx%d base %d batch %lld\", \"competitors\": %d, \"rounds\": %d,\n"
                  "  \"alone_ms\": %.3f, \"contended_ms\": %.3f, \"slowdown\": %.4f, \"fair_share_slowdown\": %.4f,\n",
                  g_model.image_size, g_model.image_size, g_model.base_channels, static_cast<long long>(g_batch), n,
                  rounds, median(alone), median(busy), median(ratio), fair);
    j += buf;
    auto arr = [](const std::vector<double>& v) {
      std::string a = "[";
      for (size_t i = 0; i < v.size(); ++i) a += (i ? ", " : "") + std::to_string(v[i]);
      return a + "]";
    };
    j += "  \"alone_rounds_ms\": " + arr(alone) + ",\n  \"contended_rounds_ms\": " + arr(busy) + ",\n";
    // Per contended round: the helpers' share of the chunks, the caller's waits for them
    // (ms per iteration) and the helpers it moved to its CPU per iteration.
    j += "  \"helper_share_rounds\": " + arr(shares) + ",\n  \"wait_ms_per_iteration_rounds\": " + arr(waits) +
         ",\n  \"moves_per_iteration_rounds\": " + arr(moves) + "\n}\n";
    write_file_atomic(json_path, j, "the --contend JSON");
  }
  return 0;
}

constexpr const char* kUsage =
    "bench_iteration: one AC-GAN training iteration and its two halves (D step, G step), CPU and CUDA.\n"
    "  --size S        image size, 16/32/64/128 (default 64)\n"
    "  --base C        base channels (default 32)\n"
    "  --batch B       batch size (default 64)\n"
    "  --precision P   CUDA arithmetic: fp32 (strict IEEE), tf32, bf16 (mixed) or auto (default, tf32)\n"
    "  --no-graph      CUDA: run each iteration eagerly instead of replaying it as a CUDA graph\n"
    "  --deterministic CUDA: cuDNN's deterministic convolution algorithms, none measured\n"
    "  --contend N     instead of the benchmarks: time the CPU iteration alternately alone and beside N\n"
    "                  CPU-bound processes started and stopped here, and print the slowdown\n"
    "  --rounds R      with --contend: alternations (default 3)\n"
    "  --seconds T     with --contend: seconds per measurement (default 2)\n"
    "  --contend-out F with --contend: also write the result (and provenance) as JSON to F";

}  // namespace

int main(int argc, char** argv) {
  using cgbench::take_flag, cgbench::positive;
  cgbench::help(argc, argv, kUsage);
  const char* prog = "bench_iteration";
  g_model.image_size = int(positive(prog, "--size", take_flag(argc, argv, "--size", "64")));
  g_model.base_channels = int(positive(prog, "--base", take_flag(argc, argv, "--base", "32")));
  g_batch = positive(prog, "--batch", take_flag(argc, argv, "--batch", "64"));
  const std::string contend = take_flag(argc, argv, "--contend", "");
  const int rounds = int(positive(prog, "--rounds", take_flag(argc, argv, "--rounds", "3")));
  const double seconds = std::atof(take_flag(argc, argv, "--seconds", "2").c_str());
  const std::string contend_out = take_flag(argc, argv, "--contend-out", "");
  g_precision = take_flag(argc, argv, "--precision", "auto");
  g_graph = !take_switch(argc, argv, "--no-graph");
  g_deterministic = take_switch(argc, argv, "--deterministic");
  try {
    g_model.validate();
    gan::use_cuda_math(g_precision, g_deterministic, cuda_available() ? Device::cuda : Device::cpu, "");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_iteration: %s\n", e.what());
    return 2;
  }
  if (!contend.empty()) {
    try {
      return run_contend(int(positive(prog, "--contend", contend)), rounds, seconds > 0 ? seconds : 2.0, contend_out);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bench_iteration: %s\n", e.what());
      return 1;
    }
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
  cgbench::explain_debug_banner();
  benchmark::AddCustomContext("model", std::to_string(g_model.image_size) + "x" + std::to_string(g_model.image_size) +
                                           " base " + std::to_string(g_model.base_channels) + " batch " +
                                           std::to_string(g_batch));
  benchmark::AddCustomContext("iteration_gflop", std::to_string(iteration_flops(g_model, g_batch) / 1e9));
  cgbench::add_context(cuda_available());
  benchmark::AddCustomContext("precision", precision_name(cuda_math().precision));
  benchmark::AddCustomContext("cuda_graph", g_graph ? "on" : "off");
  benchmark::AddCustomContext("deterministic", g_deterministic ? "yes" : "no");
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
