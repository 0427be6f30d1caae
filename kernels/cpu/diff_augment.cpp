// CPU DiffAugment loops (see diff_augment.h): OpenMP over the samples, sums in double.
#include "kernels/cpu/diff_augment.h"

#include "base/nvtx.h"
#include "kernels/cpu/parallel.h"

namespace cg::cpu {

template <class T>
void diffaug_color_forward(T* out, const T* x, const T* p, int64_t N, int64_t C, int64_t HW) {
  NVTX_RANGE_FN();
  parallel_each_if(N * C * HW > 65536, N, [&](int64_t n) {
    const T* xn = x + n * C * HW;
    T* on = out + n * C * HW;
    const double b = double(p[n * 3]), s = double(p[n * 3 + 1]), k = double(p[n * 3 + 2]);
    double total = 0;
    for (int64_t i = 0; i < C * HW; ++i) total += double(xn[i]);
    const double base = (1.0 - k) * (total / double(C * HW) + b);
    for (int64_t q = 0; q < HW; ++q) {
      double mc = 0;
      for (int64_t c = 0; c < C; ++c) mc += double(xn[c * HW + q]);
      mc /= double(C);
      for (int64_t c = 0; c < C; ++c) {
        const double y2 = s * (double(xn[c * HW + q]) - mc) + mc + b;
        on[c * HW + q] = T(k * y2 + base);
      }
    }
  });
}

template <class T>
void diffaug_color_backward(T* dx, const T* dout, const T* p, int64_t N, int64_t C, int64_t HW) {
  NVTX_RANGE_FN();
  parallel_each_if(N * C * HW > 65536, N, [&](int64_t n) {
    const T* gn = dout + n * C * HW;
    T* dn = dx + n * C * HW;
    const double s = double(p[n * 3 + 1]), k = double(p[n * 3 + 2]);
    double total = 0;
    for (int64_t i = 0; i < C * HW; ++i) total += double(gn[i]);
    const double through_mean = (1.0 - k) * total / double(C * HW);
    for (int64_t q = 0; q < HW; ++q) {
      double sc = 0;
      for (int64_t c = 0; c < C; ++c) sc += double(gn[c * HW + q]);
      const double through_pixel_mean = k * (1.0 - s) * sc / double(C);
      for (int64_t c = 0; c < C; ++c)
        dn[c * HW + q] = T(double(dn[c * HW + q]) + k * s * double(gn[c * HW + q]) + through_pixel_mean + through_mean);
    }
  });
}

template <class T>
void diffaug_translate_forward(T* out, const T* x, const T* p, int64_t N, int64_t C, int64_t H, int64_t W) {
  NVTX_RANGE_FN();
  parallel_each_if(N * C * H * W > 65536, N, [&](int64_t n) {
    const int64_t di = int64_t(p[n * 2]), dj = int64_t(p[n * 2 + 1]);
    for (int64_t c = 0; c < C; ++c) {
      const T* xc = x + (n * C + c) * H * W;
      T* oc = out + (n * C + c) * H * W;
      for (int64_t i = 0; i < H; ++i)
        for (int64_t j = 0; j < W; ++j) {
          const int64_t si = i + di, sj = j + dj;
          oc[i * W + j] = (si >= 0 && si < H && sj >= 0 && sj < W) ? xc[si * W + sj] : T(0);
        }
    }
  });
}

template <class T>
void diffaug_translate_backward(T* dx, const T* dout, const T* p, int64_t N, int64_t C, int64_t H, int64_t W) {
  NVTX_RANGE_FN();
  parallel_each_if(N * C * H * W > 65536, N, [&](int64_t n) {
    const int64_t di = int64_t(p[n * 2]), dj = int64_t(p[n * 2 + 1]);
    for (int64_t c = 0; c < C; ++c) {
      T* dc = dx + (n * C + c) * H * W;
      const T* gc = dout + (n * C + c) * H * W;
      for (int64_t i = 0; i < H; ++i)
        for (int64_t j = 0; j < W; ++j) {
          const int64_t si = i + di, sj = j + dj;  // each source pixel feeds at most one output
          if (si >= 0 && si < H && sj >= 0 && sj < W) dc[si * W + sj] += gc[i * W + j];
        }
    }
  });
}

template <class T>
void diffaug_cutout_forward(T* out, const T* x, const T* p, int64_t N, int64_t C, int64_t H, int64_t W) {
  NVTX_RANGE_FN();
  parallel_each_if(N * C * H * W > 65536, N, [&](int64_t n) {
    const int64_t r0 = int64_t(p[n * 4]), r1 = int64_t(p[n * 4 + 1]), c0 = int64_t(p[n * 4 + 2]),
                  c1 = int64_t(p[n * 4 + 3]);
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < H; ++i)
        for (int64_t j = 0; j < W; ++j) {
          const int64_t at = ((n * C + c) * H + i) * W + j;
          out[at] = (i >= r0 && i < r1 && j >= c0 && j < c1) ? T(0) : x[at];
        }
  });
}

template <class T>
void diffaug_cutout_backward(T* dx, const T* dout, const T* p, int64_t N, int64_t C, int64_t H, int64_t W) {
  NVTX_RANGE_FN();
  parallel_each_if(N * C * H * W > 65536, N, [&](int64_t n) {
    const int64_t r0 = int64_t(p[n * 4]), r1 = int64_t(p[n * 4 + 1]), c0 = int64_t(p[n * 4 + 2]),
                  c1 = int64_t(p[n * 4 + 3]);
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < H; ++i)
        for (int64_t j = 0; j < W; ++j) {
          const int64_t at = ((n * C + c) * H + i) * W + j;
          if (!(i >= r0 && i < r1 && j >= c0 && j < c1)) dx[at] += dout[at];
        }
  });
}

#define CG_DIFFAUG_INSTANTIATE(T)                                                                        \
  template void diffaug_color_forward<T>(T*, const T*, const T*, int64_t, int64_t, int64_t);             \
  template void diffaug_color_backward<T>(T*, const T*, const T*, int64_t, int64_t, int64_t);            \
  template void diffaug_translate_forward<T>(T*, const T*, const T*, int64_t, int64_t, int64_t, int64_t);  \
  template void diffaug_translate_backward<T>(T*, const T*, const T*, int64_t, int64_t, int64_t, int64_t); \
  template void diffaug_cutout_forward<T>(T*, const T*, const T*, int64_t, int64_t, int64_t, int64_t);     \
  template void diffaug_cutout_backward<T>(T*, const T*, const T*, int64_t, int64_t, int64_t, int64_t);
CG_DIFFAUG_INSTANTIATE(float)
CG_DIFFAUG_INSTANTIATE(double)
#undef CG_DIFFAUG_INSTANTIATE

}  // namespace cg::cpu
