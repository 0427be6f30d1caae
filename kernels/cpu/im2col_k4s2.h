// im2col / col2im specialised for the one convolution shape the GAN uses: kernel 4,
// stride 2, padding 1 on an even image (H = 2*OH, W = 2*OW). Same layout and the same
// results, bit for bit, as the generic loops in im2col.cpp, which dispatch here.
#pragma once
#include <cstdint>

namespace cg::cpu {

// True when im2col_k4s2p1 / col2im_add_k4s2p1 apply to this shape.
inline bool is_k4s2p1(int64_t H, int64_t W, int64_t K, int64_t stride, int64_t pad, int64_t OH, int64_t OW) {
  return K == 4 && stride == 2 && pad == 1 && H == 2 * OH && W == 2 * OW && OH > 0 && OW > 0;
}

// p (4, OH*OW) = the four stride-2 phase planes of one image plane img (2*OH, 2*OW):
// plane a*2+b holds img[2i+a][2j+b]. merge_phases is the inverse. Also used by the
// implicit-GEMM convolutions (conv_k4s2_direct.cpp).
template <class T>
void split_phases(T* __restrict p, const T* __restrict img, int64_t OH, int64_t OW);
template <class T>
void merge_phases(T* __restrict img, const T* __restrict p, int64_t OH, int64_t OW);

// col (C*16, ldc) rows = the 4x4 patches of img (C,H,W); see im2col in im2col.h.
template <class T>
void im2col_k4s2p1(T* col, int64_t ldc, const T* img, int64_t C, int64_t H, int64_t W, int64_t OH, int64_t OW);

// img (C,H,W) += col2im(col); adds each pixel's four terms in the generic loop's order.
template <class T>
void col2im_add_k4s2p1(T* img, const T* col, int64_t ldc, int64_t C, int64_t H, int64_t W, int64_t OH,
                       int64_t OW);

// The same over a batch chunk (nb,C,H,W) with the samples' columns side by side in one
// (C*16, nb*OH*OW) matrix (im2col_batch's layout); OpenMP over channels and sample blocks.
template <class T>
void im2col_k4s2p1_batch(T* col, const T* img, int64_t nb, int64_t C, int64_t H, int64_t W, int64_t OH,
                         int64_t OW);
// With accumulate false, img is assigned (not read): a fresh gradient buffer.
template <class T>
void col2im_add_k4s2p1_batch(T* img, const T* col, int64_t nb, int64_t C, int64_t H, int64_t W, int64_t OH,
                             int64_t OW, bool accumulate = true);

}  // namespace cg::cpu
