// CPU spectral loss (see spectral.h): one image per work item, its planes' DFTs by the
// cosine and sine tables, loops ordered so that the innermost runs along a row.
#include "kernels/cpu/spectral.h"

#include <cmath>
#include <vector>

#include "base/check.h"
#include "base/nvtx.h"
#include "base/profile.h"
#include "kernels/common/spectral.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/scratch.h"

namespace cg::cpu {
namespace {

// cos and sin of 2 pi k x / S, (S,S), symmetric in k and x.
template <class T>
void dft_tables(std::vector<T>& cs, std::vector<T>& sn, int S) {
  cs.resize(size_t(S) * S), sn.resize(size_t(S) * S);
  for (int k = 0; k < S; ++k)
    for (int x = 0; x < S; ++x) {
      const double a = 2.0 * M_PI * double((int64_t(k) * x) % S) / double(S);
      cs[size_t(k) * S + x] = T(std::cos(a)), sn[size_t(k) * S + x] = T(std::sin(a));
    }
}

// The right-hand factor of a pass over rows (S rows of 2S in, 2S out): [[a, b], [c, d]] of
// the S x S tables, so that [u | v] (rows of 2S) times it is [u a + v c | u b + v d].
template <class T>
std::vector<T> block2(const std::vector<T>& a, const std::vector<T>& b, const std::vector<T>& c,
                      const std::vector<T>& d, int S) {
  std::vector<T> m(size_t(4) * S * S);
  for (int i = 0; i < S; ++i)
    for (int j = 0; j < S; ++j) {
      m[size_t(i) * 2 * S + j] = a[size_t(i) * S + j], m[size_t(i) * 2 * S + S + j] = b[size_t(i) * S + j];
      m[size_t(S + i) * 2 * S + j] = c[size_t(i) * S + j], m[size_t(S + i) * 2 * S + S + j] = d[size_t(i) * S + j];
    }
  return m;
}

// Per plane (S rows of 2S: [l | r]) -> [l^T | r^T]: the row pass's output read by columns,
// so that the next pass is a pass over rows again (the tables are symmetric).
template <class T>
void transpose_halves(T* out, const T* in, int64_t planes, int S) {
  const size_t P2 = size_t(2) * S * S;
  parallel_for("spectral_transpose", planes, 4, [&](int64_t lo, int64_t hi) {
    for (int64_t p = lo; p < hi; ++p)
      for (int i = 0; i < S; ++i)
        for (int j = 0; j < S; ++j) {
          out[p * P2 + size_t(j) * 2 * S + i] = in[p * P2 + size_t(i) * 2 * S + j];
          out[p * P2 + size_t(j) * 2 * S + S + i] = in[p * P2 + size_t(i) * 2 * S + S + j];
        }
  });
}

// Ring index and bin count per ring (R), for S.
void ring_map(std::vector<int>& ring_of, std::vector<int>& ring_n, int S) {
  ring_of.resize(size_t(S) * S), ring_n.assign(size_t(common::spectral_rings(S)), 0);
  for (int ky = 0; ky < S; ++ky)
    for (int kx = 0; kx < S; ++kx) ++ring_n[size_t(ring_of[size_t(ky) * S + kx] = common::spectral_ring(ky, kx, S))];
}

}  // namespace

template <class T>
void spectral_rings_forward(T* re, T* im, T* ring, const T* x, int64_t N, int C, int S) {
  NVTX_RANGE_FN();
  std::vector<T> cs, sn;
  dft_tables(cs, sn, S);
  std::vector<int> ring_of, ring_n;
  ring_map(ring_of, ring_n, S);
  const int R = common::spectral_rings(S);
  const size_t P = size_t(S) * S;
  const int64_t planes = N * C;
  // Rows: [u | v] = x [cs | sn]; columns, as rows of the transposes (the tables are
  // symmetric): [re^T | im^T] = [u^T | v^T] [[cs, -sn], [-sn, -cs]]. Two GEMMs over all planes.
  std::vector<T> zero(P, T(0)), ncs(P), nsn(P);
  for (size_t i = 0; i < P; ++i) ncs[i] = -cs[i], nsn[i] = -sn[i];
  const std::vector<T> rows = block2(cs, sn, zero, zero, S), cols = block2(cs, nsn, nsn, ncs, S);
  T* uv = scratch<T>(0, size_t(planes) * 2 * P);
  T* t = scratch<T>(1, size_t(planes) * 2 * P);
  gemm<T>(false, false, planes * S, 2 * S, S, T(1), x, S, rows.data(), 2 * S, T(0), uv, 2 * S);
  transpose_halves(t, uv, planes, S);
  gemm<T>(false, false, planes * S, 2 * S, 2 * S, T(1), t, 2 * S, cols.data(), 2 * S, T(0), uv, 2 * S);
  prof::add_work(12.0 * double(planes) * double(P) * S, (3.0 * double(planes) * double(P) + double(N * R)) * sizeof(T));
  parallel_for("spectral_rings_forward", N, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t n = lo; n < hi; ++n) {
      T* rn = ring + n * R;
      for (int r = 0; r < R; ++r) rn[r] = T(0);
      for (int c = 0; c < C; ++c) {
        const size_t off = (size_t(n) * C + c) * P;
        const T* z = uv + 2 * off;  // rows kx: re^T (S), then im^T (S)
        for (int ky = 0; ky < S; ++ky)
          for (int kx = 0; kx < S; ++kx) {
            const T a = z[size_t(kx) * 2 * S + ky], b = z[size_t(kx) * 2 * S + S + ky];
            re[off + size_t(ky) * S + kx] = a, im[off + size_t(ky) * S + kx] = b;
            rn[ring_of[size_t(ky) * S + kx]] += a * a + b * b;
          }
      }
      for (int r = 0; r < R; ++r)  // odd S leaves a ring without bins: power 0 there
        rn[r] = ring_n[size_t(r)] ? rn[r] / T(double(ring_n[size_t(r)]) * C * double(P)) : T(0);
    }
  });
}

template <class T>
void spectral_loss_forward(T* loss, T* genre_power, const T* ring, const int32_t* labels, const T* target,
                           int64_t N, int K, int R, int r0, T eps) {
  NVTX_RANGE_FN();
  std::vector<int64_t> count(size_t(K), 0);
  for (int i = 0; i < K * R; ++i) genre_power[i] = T(0);
  for (int64_t n = 0; n < N; ++n) {
    CG_CHECK(labels[n] >= 0 && labels[n] < K, "spectral_loss: label ", labels[n], " outside [0, ", K, ")");
    ++count[size_t(labels[n])];
    for (int r = 0; r < R; ++r) genre_power[labels[n] * R + r] += ring[n * R + r];
  }
  double sum = 0;
  int64_t terms = 0;
  for (int g = 0; g < K; ++g) {
    if (!count[size_t(g)]) continue;
    for (int r = 0; r < R; ++r) genre_power[g * R + r] /= T(count[size_t(g)]);
    for (int r = r0; r < R; ++r) {
      const double d = std::log(double(genre_power[g * R + r]) + double(eps)) - double(target[g * R + r]);
      sum += d * d, ++terms;
    }
  }
  loss[0] = T(terms ? sum / double(terms) : 0.0);
}

template <class T>
void spectral_loss_backward(T* dx, const T* dloss, const T* re, const T* im, const T* genre_power,
                            const int32_t* labels, const T* target, int64_t N, int C, int S, int K, int r0, T eps,
                            bool accumulate) {
  NVTX_RANGE_FN();
  const int R = common::spectral_rings(S);
  std::vector<int64_t> count(size_t(K), 0);
  for (int64_t n = 0; n < N; ++n) ++count[size_t(labels[n])];
  int64_t terms = 0;
  for (int g = 0; g < K; ++g) terms += count[size_t(g)] ? R - r0 : 0;
  std::vector<int> ring_of, ring_n;
  ring_map(ring_of, ring_n, S);
  const size_t P = size_t(S) * S;
  // d loss / d |X_c(k)|^2 for an image of genre g, per ring: through the genre's mean, the
  // ring's mean over its bins and the channel mean.
  std::vector<T> w(size_t(K) * R, T(0));
  for (int g = 0; g < K; ++g)
    for (int r = r0; r < R && count[size_t(g)]; ++r) {
      const double p = double(genre_power[g * R + r]) + double(eps);
      const double d = 2.0 * (std::log(p) - double(target[g * R + r])) / p / double(terms);
      if (ring_n[size_t(r)])
        w[size_t(g) * R + r] = T(double(dloss[0]) * d / double(count[size_t(g)]) / double(ring_n[size_t(r)]) /
                                 (double(C) * double(P)));
    }
  std::vector<T> cs, sn;
  dft_tables(cs, sn, S);
  const int64_t planes = N * C;
  // [a | b] = 2 w [re | im] by rows ky; [p1 | p2] = [a | b] [[cs, sn], [-sn, cs]] (p1 = a cs - b sn,
  // p2 = a sn + b cs); then dx^T = [p1^T | p2^T] [[cs], [-sn]], dx = cs p1 - sn p2: the DFT's adjoint.
  std::vector<T> zero(P, T(0)), nsn(P);
  for (size_t i = 0; i < P; ++i) nsn[i] = -sn[i];
  const std::vector<T> first = block2(cs, sn, nsn, cs, S), second = block2(cs, zero, nsn, zero, S);
  T* ab = scratch<T>(0, size_t(planes) * 2 * P);
  T* t = scratch<T>(1, size_t(planes) * 2 * P);
  parallel_for("spectral_loss_weights", planes, 4, [&](int64_t lo, int64_t hi) {
    for (int64_t p = lo; p < hi; ++p) {
      const T* wg = w.data() + size_t(labels[p / C]) * R;
      for (size_t i = 0; i < P; ++i) {
        const T wi = T(2) * wg[ring_of[i]];
        const size_t row = i / size_t(S), col = i % size_t(S);
        ab[size_t(p) * 2 * P + row * 2 * S + col] = wi * re[size_t(p) * P + i];
        ab[size_t(p) * 2 * P + row * 2 * S + S + col] = wi * im[size_t(p) * P + i];
      }
    }
  });
  gemm<T>(false, false, planes * S, 2 * S, 2 * S, T(1), ab, 2 * S, first.data(), 2 * S, T(0), t, 2 * S);
  transpose_halves(ab, t, planes, S);
  gemm<T>(false, false, planes * S, S, 2 * S, T(1), ab, 2 * S, second.data(), 2 * S, T(0), t, 2 * S);
  prof::add_work(12.0 * double(planes) * double(P) * S, 4.0 * double(planes) * double(P) * sizeof(T));
  parallel_for("spectral_loss_backward", planes, 4, [&](int64_t lo, int64_t hi) {
    for (int64_t p = lo; p < hi; ++p) {
      T* d = dx + size_t(p) * P;
      const T* z = t + size_t(p) * 2 * P;  // rows x of dx^T in the first S columns
      for (int y = 0; y < S; ++y)
        for (int x = 0; x < S; ++x) {
          const T v = z[size_t(x) * 2 * S + y];
          d[size_t(y) * S + x] = accumulate ? d[size_t(y) * S + x] + v : v;
        }
    }
  });
}

#define CG_SPECTRAL_INSTANTIATE(T)                                                                             \
  template void spectral_rings_forward<T>(T*, T*, T*, const T*, int64_t, int, int);                            \
  template void spectral_loss_forward<T>(T*, T*, const T*, const int32_t*, const T*, int64_t, int, int, int, T); \
  template void spectral_loss_backward<T>(T*, const T*, const T*, const T*, const T*, const int32_t*, const T*, \
                                          int64_t, int, int, int, int, T, bool);
CG_SPECTRAL_INSTANTIATE(float)
CG_SPECTRAL_INSTANTIATE(double)

}  // namespace cg::cpu
