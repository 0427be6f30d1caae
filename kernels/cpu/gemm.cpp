// The one place the CPU backend calls BLAS (see gemm.h). OpenBLAS runs single-threaded
// (kernels/cpu/threads.h); a product big enough to share is cut into blocks of C (along M
// or N, whichever is larger) that the pool hands out, each block a separate BLAS call.
// Every element of C is still one dot product over K in BLAS's order, so the split does
// not change the result.
#include "kernels/cpu/gemm.h"

#include <cblas.h>

#include <algorithm>

#include "base/nvtx.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/threads.h"

namespace cg::cpu {

namespace {

constexpr double kSplitMinFlops = 4e6;  // below this one thread is faster than waking the others

void blas(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)M, (int)N,
              (int)K, alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}
void blas(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t lda,
          const double* B, int64_t ldb, double beta, double* C, int64_t ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)M, (int)N,
              (int)K, alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}

template <class T>
void gemm_split(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda, const T* B,
                int64_t ldb, T beta, T* C, int64_t ldc) {
  configure_threads();
  const int nt = compute_threads();
  if (nt <= 1 || 2.0 * double(M) * double(N) * double(K) < kSplitMinFlops || std::max(M, N) < 32) {
    blas(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  const bool by_rows = M >= N;
  const int64_t len = by_rows ? M : N;
  // Chunks of whole 16-wide panels, at least an eighth of a thread's share each: every
  // chunk is a BLAS call of its own, and small ones run slower.
  const int64_t grain = std::max<int64_t>(16, (len / (8 * nt) + 15) / 16 * 16);
  parallel_for("gemm", len, grain, [&](int64_t lo, int64_t hi) {
    const int64_t n = hi - lo;
    if (by_rows)  // rows lo.. of op(A) and C
      blas(ta, tb, n, N, K, alpha, ta ? A + lo : A + lo * lda, lda, B, ldb, beta, C + lo * ldc, ldc);
    else  // columns lo.. of op(B) and C
      blas(ta, tb, M, n, K, alpha, A, lda, tb ? B + lo * ldb : B + lo, ldb, beta, C + lo, ldc);
  });
}

}  // namespace

template <>
void gemm<float>(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                 const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  gemm_split(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

template <>
void gemm<double>(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha, const double* A,
                  int64_t lda, const double* B, int64_t ldb, double beta, double* C, int64_t ldc) {
  gemm_split(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace cg::cpu
