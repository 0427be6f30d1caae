// CUDA spectral loss (see spectral.h): the DFT and its adjoint as two passes of one thread
// per output element each (rows, then columns, through the scratch workspace), one thread
// per (image, ring) for the ring sums, and one-block kernels for the per-genre loss and
// the per-ring weights of the backward.
#include <algorithm>

#include "base/check.h"
#include "base/cuda_check.h"
#include "base/cuda_context.h"
#include "base/nvtx.h"
#include "kernels/common/spectral.h"
#include "kernels/cuda/scratch.h"
#include "kernels/cuda/spectral.h"

namespace cg::cuda {
namespace {

constexpr int kMaxRings = 256;  // S up to 360

__device__ __forceinline__ float nan_value() { return __int_as_float(0x7fc00000); }

// cos and sin of 2 pi k x / S, exact in the index (k x mod S).
__device__ __forceinline__ void twiddle(int k, int x, int S, float* c, float* s) {
  sincospif(2.f * float((k * x) % S) / float(S), s, c);
}

// Row pass over planes (P = S*S each): u = a cs + sa * b sn, v = a sn + sb * b cs, row by row
// (b null: no second term). The forward uses it with a = x; the adjoint with a, b the
// weighted re, im (2 w of each term's ring, applied as the row is read).
struct RowIn {
  const float *re, *im, *w;  // adjoint: w (N,R) per image and ring; forward: re = x, im = w = null
  int C, R;                  // R: rings per image (the row of w)
};

__global__ void rows_kernel(float* u, float* v, RowIn in, int64_t planes, int S, float sa, float sb) {
  const int64_t P = int64_t(S) * S;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < planes * P; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t plane = i / P;
    const int row = int(i % P) / S, col = int(i % P) % S;
    const int64_t at = plane * P + int64_t(row) * S;
    // The adjoint's weights: 2 w of the ring of (row, k), looked up once per k for re and im.
    const float* wn = in.w ? in.w + (plane / in.C) * in.R : nullptr;
    float a = 0.f, b = 0.f;
    for (int k = 0; k < S; ++k) {
      float c, s;
      twiddle(k, col, S, &c, &s);
      const float w2 = wn ? 2.f * wn[common::spectral_ring(row, k, S)] : 1.f;  // 1 * x is x exactly
      const float x = w2 * in.re[at + k];
      a += x * c, b += x * s;
      if (in.im) {
        const float y = w2 * in.im[at + k];
        a += sa * y * s, b += sb * y * c;
      }
    }
    u[i] = a, v[i] = b;
  }
}

// Column pass: out1 = cs u + s1 * sn v, out2 = s2 * (cs v + sn u) (out2 null: only out1), out1
// assigned or added to.
__global__ void cols_kernel(float* out1, float* out2, const float* u, const float* v, int64_t planes, int S, float s1,
                            float s2, bool accumulate) {
  const int64_t P = int64_t(S) * S;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < planes * P; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t base = (i / P) * P;
    const int row = int(i % P) / S, col = int(i % P) % S;
    float a = 0.f, b = 0.f;
    for (int y = 0; y < S; ++y) {
      float c, s;
      twiddle(row, y, S, &c, &s);
      const float uy = u[base + y * S + col], vy = v[base + y * S + col];
      a += c * uy + s1 * s * vy;
      b += c * vy + s * uy;
    }
    out1[i] = accumulate ? out1[i] + a : a;
    if (out2) out2[i] = s2 * b;
  }
}

// ring (N,R): thread (n, r) sums its ring's bins over the channels, in a fixed order.
__global__ void rings_kernel(float* ring, const float* re, const float* im, int64_t N, int C, int S, int R) {
  const int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (t >= N * R) return;
  const int64_t n = t / R;
  const int r = int(t % R), P = S * S;
  float sum = 0.f;
  int bins = 0;
  for (int i = 0; i < P; ++i) {
    if (common::spectral_ring(i / S, i % S, S) != r) continue;
    ++bins;
    for (int c = 0; c < C; ++c) {
      const size_t o = (size_t(n) * C + c) * P + i;
      sum += re[o] * re[o] + im[o] * im[o];
    }
  }
  ring[t] = bins ? sum / (float(bins) * float(C) * float(P)) : 0.f;  // odd S: a ring can have no bins
}

__device__ bool labels_bad(const int32_t* labels, int64_t N, int K) {
  bool bad = false;
  for (int64_t n = 0; n < N; ++n) bad |= labels[n] < 0 || labels[n] >= K;
  return bad;
}

// genre_power (K,R) and loss[0], one thread per genre-ring, then thread 0 sums in order.
__global__ void loss_kernel(float* loss, float* genre_power, const float* ring, const int32_t* labels,
                            const float* target, int64_t N, int K, int R, int r0, float eps) {
  for (int t = threadIdx.x; t < K * R; t += blockDim.x) {
    const int g = t / R, r = t % R;
    float sum = 0.f;
    int count = 0;
    for (int64_t n = 0; n < N; ++n)
      if (labels[n] == g) sum += ring[n * R + r], ++count;
    genre_power[t] = count ? sum / float(count) : 0.f;
  }
  __syncthreads();
  if (threadIdx.x != 0) return;
  double sum = 0;
  int terms = 0;
  for (int g = 0; g < K; ++g) {
    bool present = false;
    for (int64_t n = 0; n < N && !present; ++n) present = labels[n] == g;
    if (!present) continue;
    for (int r = r0; r < R; ++r) {
      const double d = log(double(genre_power[g * R + r]) + eps) - double(target[g * R + r]);
      sum += d * d, ++terms;
    }
  }
  loss[0] = labels_bad(labels, N, K) ? nan_value() : float(terms ? sum / terms : 0.0);
}

// w (N,R): d loss / d |X_c(k)|^2 for image n's bins in ring r (through the genre's mean, the
// ring's mean and the channel mean); NaN everywhere for a bad label.
__global__ void weights_kernel(float* w, const float* dloss, const float* genre_power, const int32_t* labels,
                               const float* target, int64_t N, int C, int S, int K, int r0, float eps) {
  const int R = common::spectral_rings(S);
  __shared__ int ring_bins[kMaxRings];
  for (int r = threadIdx.x; r < R; r += blockDim.x) ring_bins[r] = 0;
  __syncthreads();
  for (int i = threadIdx.x; i < S * S; i += blockDim.x) atomicAdd(&ring_bins[common::spectral_ring(i / S, i % S, S)], 1);
  __syncthreads();
  const bool bad = labels_bad(labels, N, K);
  int present = 0;
  for (int k = 0; k < K; ++k) {
    bool p = false;
    for (int64_t m = 0; m < N && !p; ++m) p = labels[m] == k;
    present += p;
  }
  for (int64_t t = threadIdx.x; t < N * R; t += blockDim.x) {
    const int64_t n = t / R;
    const int r = int(t % R), g = labels[n];
    float wr = 0.f;
    const int bins = ring_bins[r];
    if (!bad && r >= r0 && bins) {
      int count = 0;
      for (int64_t m = 0; m < N; ++m) count += labels[m] == g;
      const float p = genre_power[g * R + r] + eps;
      const float d = 2.f * (logf(p) - target[g * R + r]) / p / float(present * (R - r0));
      wr = dloss[0] * d / float(count) / float(bins) / (float(C) * float(S) * float(S));
    }
    w[t] = bad ? nan_value() : wr;
  }
}

unsigned blocks_for(int64_t n) { return unsigned(std::min<int64_t>((n + 255) / 256, 65535)); }

}  // namespace

void spectral_rings_forward(float* re, float* im, float* ring, const float* x, int64_t N, int C, int S) {
  NVTX_RANGE_FN();
  CG_CHECK(S >= 2 && N > 0 && C > 0, "spectral_rings_forward (cuda): bad shape N=", N, " C=", C, " S=", S);
  // The backward's ring table holds kMaxRings: refuse here, before a step that could not finish.
  CG_CHECK(common::spectral_rings(S) <= kMaxRings, "spectral_rings_forward (cuda): images up to 360 px (",
           kMaxRings, " rings), got ", S, "x", S);
  const int64_t planes = N * C, n = planes * S * S;
  float* u = static_cast<float*>(workspace(2 * sizeof(float) * size_t(n)));
  float* v = u + n;
  // u = x cs, v = x sn; re = cs u - sn v, im = -(cs v + sn u).
  rows_kernel<<<blocks_for(n), 256, 0, stream()>>>(u, v, RowIn{x, nullptr, nullptr, C, 0}, planes, S, 0.f, 0.f);
  cudaCheck(cudaGetLastError());
  cols_kernel<<<blocks_for(n), 256, 0, stream()>>>(re, im, u, v, planes, S, -1.f, -1.f, false);
  cudaCheck(cudaGetLastError());
  const int R = common::spectral_rings(S);
  rings_kernel<<<unsigned((N * R + 127) / 128), 128, 0, stream()>>>(ring, re, im, N, C, S, R);
  cudaCheck(cudaGetLastError());
}

void spectral_loss_forward(float* loss, float* genre_power, const float* ring, const int32_t* labels,
                           const float* target, int64_t N, int K, int R, int r0, float eps) {
  NVTX_RANGE_FN();
  CG_CHECK(N > 0 && K > 0 && r0 >= 0 && r0 < R, "spectral_loss_forward (cuda): N=", N, " K=", K, " rings ", r0, "..",
           R);
  loss_kernel<<<1, 256, 0, stream()>>>(loss, genre_power, ring, labels, target, N, K, R, r0, eps);
  cudaCheck(cudaGetLastError());
}

void spectral_loss_backward(float* dx, const float* dloss, const float* re, const float* im,
                            const float* genre_power, const int32_t* labels, const float* target, int64_t N, int C,
                            int S, int K, int r0, float eps, bool accumulate) {
  NVTX_RANGE_FN();
  CG_CHECK(S >= 2 && N > 0 && C > 0 && K > 0 && common::spectral_rings(S) <= kMaxRings,
           "spectral_loss_backward (cuda): bad shape N=", N, " C=", C, " S=", S);
  const int64_t planes = N * C, n = planes * S * S, R = common::spectral_rings(S);
  float* w = static_cast<float*>(workspace(sizeof(float) * size_t(2 * n + N * R)));
  float *p1 = w + N * R, *p2 = p1 + n;
  weights_kernel<<<1, 256, 0, stream()>>>(w, dloss, genre_power, labels, target, N, C, S, K, r0, eps);
  cudaCheck(cudaGetLastError());
  // a = 2 w re, b = 2 w im; p1 = a cs - b sn, p2 = a sn + b cs; dx = cs p1 - sn p2.
  rows_kernel<<<blocks_for(n), 256, 0, stream()>>>(p1, p2, RowIn{re, im, w, C, int(R)}, planes, S, -1.f, 1.f);
  cudaCheck(cudaGetLastError());
  cols_kernel<<<blocks_for(n), 256, 0, stream()>>>(dx, nullptr, p1, p2, planes, S, -1.f, 0.f, accumulate);
  cudaCheck(cudaGetLastError());
}

}  // namespace cg::cuda
