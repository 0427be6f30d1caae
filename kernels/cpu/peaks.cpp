// The CPU ceilings (see peaks.h). The FMA loop keeps 12 accumulators in flight per thread
// (latency 4 x 2 ports needs at least 8) with intrinsics, so -ffp-contract=off cannot
// split them; the triad is a plain OpenMP loop the compiler vectorises.
#include "kernels/cpu/peaks.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <vector>

#if defined(__AVX512F__) || defined(__FMA__) || defined(__SSE2__)
#include <immintrin.h>
#endif

#include "base/host_memory.h"
#include "kernels/cpu/threads.h"

namespace cg::cpu {

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

constexpr int kChains = 12;

// iters rounds of kChains independent FMAs; returns something the compiler cannot drop.
float fma_loop(long iters, float seed) {
#if defined(__AVX512F__)
  __m512 acc[kChains];
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(seed * 1e-7f);
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(seed + float(i));
  for (long it = 0; it < iters; ++it)
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  __m512 s = acc[0];
  for (int i = 1; i < kChains; ++i) s = _mm512_add_ps(s, acc[i]);
  float out[16];
  _mm512_storeu_ps(out, s);
  return out[0] + out[15];
#elif defined(__FMA__)
  __m256 acc[kChains];
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(seed * 1e-7f);
  for (int i = 0; i < kChains; ++i) acc[i] = _mm256_set1_ps(seed + float(i));
  for (long it = 0; it < iters; ++it)
    for (int i = 0; i < kChains; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  __m256 s = acc[0];
  for (int i = 1; i < kChains; ++i) s = _mm256_add_ps(s, acc[i]);
  float out[8];
  _mm256_storeu_ps(out, s);
  return out[0] + out[7];
#else  // SSE2: a multiply and an add per step, counted as one FMA's two FLOPs
  __m128 acc[kChains];
  const __m128 a = _mm_set1_ps(0.999999f), b = _mm_set1_ps(seed * 1e-7f);
  for (int i = 0; i < kChains; ++i) acc[i] = _mm_set1_ps(seed + float(i));
  for (long it = 0; it < iters; ++it)
    for (int i = 0; i < kChains; ++i) acc[i] = _mm_add_ps(_mm_mul_ps(acc[i], a), b);
  __m128 s = acc[0];
  for (int i = 1; i < kChains; ++i) s = _mm_add_ps(s, acc[i]);
  float out[4];
  _mm_storeu_ps(out, s);
  return out[0] + out[3];
#endif
}

constexpr int kLanes =
#if defined(__AVX512F__)
    16;
#elif defined(__FMA__)
    8;
#else
    4;
#endif

const char* isa_name() {
#if defined(__AVX512F__)
  return "AVX-512 FMA";
#elif defined(__FMA__)
  return "AVX2 FMA";
#else
  return "SSE2 (no FMA)";
#endif
}

volatile float g_sink;

}  // namespace

FmaPeak measure_fma_peak(double seconds) {
  FmaPeak p;
  p.isa = isa_name();
  p.threads = compute_threads();
  // Calibrate on one thread so each timed run lasts about seconds/5.
  long iters = 1 << 16;
  for (;;) {
    const double t0 = now();
    g_sink = fma_loop(iters, 1.0f);
    if (now() - t0 > 0.01 || iters > (1L << 34)) {
      iters = long(double(iters) * (seconds / 5) / std::max(now() - t0, 1e-6));
      break;
    }
    iters *= 4;
  }
  iters = std::max(iters, 1L << 12);
  for (int run = 0; run < 5; ++run) {
    const double t0 = now();
    float sum = 0;
#pragma omp parallel num_threads(p.threads) reduction(+ : sum)
    sum += fma_loop(iters, float(omp_get_thread_num() + 1));
    const double dt = now() - t0;
    g_sink = sum;
    p.flops = std::max(p.flops, 2.0 * kLanes * kChains * double(iters) * p.threads / dt);
  }
  return p;
}

MemBandwidth measure_mem_bandwidth(double array_mib, int passes) {
  MemBandwidth m;
  m.array_mib = array_mib;
  m.threads = compute_threads();
  const int64_t n = int64_t(array_mib * 1024 * 1024 / sizeof(float));
  const size_t bytes = size_t(n) * sizeof(float);
  std::unique_ptr<void, decltype(&std::free)> a(host_alloc_aligned(bytes), &std::free),
      b(host_alloc_aligned(bytes), &std::free), c(host_alloc_aligned(bytes), &std::free);
  float* pa = static_cast<float*>(a.get());
  float* pb = static_cast<float*>(b.get());
  float* pc = static_cast<float*>(c.get());
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) pa[i] = 0.f, pb[i] = 1.f, pc[i] = 2.f;  // first touch by the thread that streams it
  const float s = 0.5f;
  for (int pass = 0; pass < passes; ++pass) {
    const double t0 = now();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) pa[i] = pb[i] + s * pc[i];
    const double dt = now() - t0;
    if (pass > 0) m.bytes = std::max(m.bytes, 3.0 * double(n) * sizeof(float) / dt);  // the first warms the TLB
  }
  g_sink = pa[n / 2];
  return m;
}

}  // namespace cg::cpu
