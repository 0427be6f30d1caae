// CPU spectral loss (see spectral.h): one image per work item, its planes' DFTs by the
// cosine and sine tables, loops ordered so that the innermost runs along a row.
#include "kernels/cpu/spectral.h"

#include <cmath>
#include <vector>

#include "base/check.h"
#include "base/nvtx.h"
#include "kernels/common/spectral.h"
#include "kernels/cpu/parallel.h"

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

// out (S,S) = a (S,S) * b (S,S) * sa + c * d * sc: the row-major product pair both passes use.
template <class T>
void mat2(T* out, const T* a, const T* b, T sa, const T* c, const T* d, T sc, int S) {
  for (int i = 0; i < S * S; ++i) out[i] = T(0);
  for (int i = 0; i < S; ++i)
    for (int k = 0; k < S; ++k) {
      const T u = sa * a[i * S + k], v = sc * c[i * S + k];
      const T *br = b + k * S, *dr = d + k * S;
      T* o = out + i * S;
      for (int j = 0; j < S; ++j) o[j] += u * br[j] + v * dr[j];
    }
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
  parallel_for("spectral_rings_forward", N, 1, [&](int64_t lo, int64_t hi) {
    std::vector<T> u(P), v(P), power(P);
    for (int64_t n = lo; n < hi; ++n) {
      for (size_t i = 0; i < P; ++i) power[i] = T(0);
      for (int c = 0; c < C; ++c) {
        const size_t off = (size_t(n) * C + c) * P;
        // Rows: u = x cs, v = x sn; columns: re = cs u - sn v, im = -(cs v + sn u).
        mat2(u.data(), x + off, cs.data(), T(1), x + off, cs.data(), T(0), S);
        mat2(v.data(), x + off, sn.data(), T(1), x + off, sn.data(), T(0), S);
        mat2(re + off, cs.data(), u.data(), T(1), sn.data(), v.data(), T(-1), S);
        mat2(im + off, cs.data(), v.data(), T(-1), sn.data(), u.data(), T(-1), S);
        for (size_t i = 0; i < P; ++i) power[i] += re[off + i] * re[off + i] + im[off + i] * im[off + i];
      }
      T* rn = ring + n * R;
      for (int r = 0; r < R; ++r) rn[r] = T(0);
      for (size_t i = 0; i < P; ++i) rn[ring_of[i]] += power[i];
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
  parallel_for("spectral_loss_backward", N, 1, [&](int64_t lo, int64_t hi) {
    std::vector<T> a(P), b(P), p1(P), p2(P), out(P);
    for (int64_t n = lo; n < hi; ++n) {
      const T* wg = w.data() + size_t(labels[n]) * R;
      for (int c = 0; c < C; ++c) {
        const size_t off = (size_t(n) * C + c) * P;
        for (size_t i = 0; i < P; ++i) {  // d/d re = 2 re w, d/d im = 2 im w
          const T wi = T(2) * wg[ring_of[i]];
          a[i] = wi * re[off + i], b[i] = wi * im[off + i];
        }
        // The DFT's adjoint: dx = cs (a cs - b sn) - sn (a sn + b cs).
        mat2(p1.data(), a.data(), cs.data(), T(1), b.data(), sn.data(), T(-1), S);
        mat2(p2.data(), a.data(), sn.data(), T(1), b.data(), cs.data(), T(1), S);
        mat2(out.data(), cs.data(), p1.data(), T(1), sn.data(), p2.data(), T(-1), S);
        T* d = dx + off;
        if (accumulate)
          for (size_t i = 0; i < P; ++i) d[i] += out[i];
        else
          for (size_t i = 0; i < P; ++i) d[i] = out[i];
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
