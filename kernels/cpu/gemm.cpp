// The one place the CPU backend calls BLAS (see gemm.h). OpenBLAS runs single-threaded
// (kernels/cpu/threads.h); a product big enough to share is cut into fixed blocks of C
// (kBlock rows or columns, along M or N, whichever is larger) that the pool hands out,
// each block a separate BLAS call. The blocks do not depend on the thread count or the
// pool's mode: OpenBLAS chooses its kernels by a call's shape, and the same element of C
// came out differently from a 512-row call than from a 128-row one (training beside a
// busy program, where the pool cuts finer, drifted from the same run alone).
#include "kernels/cpu/gemm.h"

#include <cblas.h>

#include <algorithm>

#include "base/nvtx.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/threads.h"

namespace cg::cpu {

namespace {

constexpr double kSplitMinFlops = 4e6;  // below this one thread is faster than waking the others
constexpr int64_t kBlock = 128;         // rows (or columns) of C per BLAS call when split

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
  const bool by_rows = M >= N;
  const int64_t len = by_rows ? M : N;
  // Whether to split depends on the shape alone, never on the threads (see above).
  if (2.0 * double(M) * double(N) * double(K) < kSplitMinFlops || len < 2 * kBlock) {
    blas(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  const int64_t blocks = (len + kBlock - 1) / kBlock;
  parallel_for("gemm", blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t lo = b * kBlock, n = std::min(kBlock, len - lo);
      if (by_rows)  // rows lo.. of op(A) and C
        blas(ta, tb, n, N, K, alpha, ta ? A + lo : A + lo * lda, lda, B, ldb, beta, C + lo * ldc, ldc);
      else  // columns lo.. of op(B) and C
        blas(ta, tb, M, n, K, alpha, A, lda, tb ? B + lo * ldb : B + lo, ldb, beta, C + lo, ldc);
    }
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
