// The CPU speed paths must not change results: gemm split over the pool's threads against
// one BLAS call, the reuse cache of the CPU allocator, and the per-thread scratch.
#include <cblas.h>

#include <random>
#include <vector>

#include "engine/device.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/scratch.h"
#include "kernels/cpu/threads.h"
#include "support/check.h"

using namespace cg;

namespace {

template <class T>
std::vector<T> random_vec(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> d;
  std::vector<T> v(n);
  for (T& x : v) x = T(d(rng));
  return v;
}

template <class T>
void check_split_matches_one_call(bool ta, bool tb, int64_t M, int64_t N, int64_t K) {
  const auto A = random_vec<T>(size_t(M * K), 1), B = random_vec<T>(size_t(K * N), 2);
  auto C0 = random_vec<T>(size_t(M * N), 3), C1 = C0;
  const int64_t lda = ta ? M : K, ldb = tb ? K : N;
  cpu::gemm<T>(ta, tb, M, N, K, T(0.5), A.data(), lda, B.data(), ldb, T(1), C1.data(), N);
  for (int64_t i = 0; i < M; ++i)  // reference: plain loops in double
    for (int64_t j = 0; j < N; ++j) {
      double s = 0;
      for (int64_t k = 0; k < K; ++k)
        s += double(ta ? A[size_t(k * lda + i)] : A[size_t(i * lda + k)]) *
             double(tb ? B[size_t(j * ldb + k)] : B[size_t(k * ldb + j)]);
      C0[size_t(i * N + j)] = T(0.5 * s + double(C0[size_t(i * N + j)]));
    }
  double worst = 0;
  for (size_t i = 0; i < C0.size(); ++i) worst = std::max(worst, std::fabs(double(C0[i]) - double(C1[i])));
  INFO("ta " << ta << " tb " << tb << " M " << M << " N " << N << " K " << K << " worst " << worst);
  CHECK(worst <= (sizeof(T) == 4 ? 1e-3 : 1e-10));
}

}  // namespace

TEST_CASE("gemm split over threads agrees with a direct product in every transpose case") {
  cpu::configure_threads();
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      check_split_matches_one_call<float>(ta, tb, 200, 70, 96);   // split along M
      check_split_matches_one_call<float>(ta, tb, 40, 333, 64);   // split along N, ragged last block
      check_split_matches_one_call<double>(ta, tb, 129, 65, 80);
      check_split_matches_one_call<float>(ta, tb, 5, 7, 3);       // too small to split
    }
}

TEST_CASE("the CPU thread policy leaves OpenBLAS single-threaded inside the pool and OpenMP") {
  cpu::configure_threads();
  CHECK(openblas_get_num_threads() == 1);
  CHECK(cpu::compute_threads() >= 1);
  CHECK(cpu::thread_summary().find("OpenMP") != std::string::npos);
  CHECK(cpu::thread_summary().find("pool ") != std::string::npos);
}

TEST_CASE("a freed large CPU block is reused for the next allocation of its size") {
#if defined(__SANITIZE_ADDRESS__)
  return;  // the cache is off under AddressSanitizer
#endif
  const size_t n = size_t(1) << 20;
  void* a = device_alloc(Device::cpu, n);
  static_cast<char*>(a)[n - 1] = 7;
  device_free(Device::cpu, a, n);
  void* b = device_alloc(Device::cpu, n);
  CHECK(b == a);
  void* c = device_alloc(Device::cpu, n);  // the cache held one block: a fresh one now
  CHECK(c != b);
  device_free(Device::cpu, b, n);
  device_free(Device::cpu, c, n);
  device_empty_cache();
}

TEST_CASE("scratch buffers grow, stay put when big enough, and are 64-byte aligned") {
  float* a = cpu::scratch<float>(0, 1000);
  CHECK(reinterpret_cast<uintptr_t>(a) % 64 == 0);
  a[999] = 1.0f;
  CHECK(cpu::scratch<float>(0, 500) == a);
  float* b = cpu::scratch<float>(1, 10);
  CHECK(b != a);
  cpu::release_scratch();
}
