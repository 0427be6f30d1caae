// im2col / col2im for the CPU convolutions, shared by conv2d and conv_transpose2d
// (each one's forward is the other's backward-data), plus the batch packing, bias
// and chunking helpers both ops need. Templated on float and double.
#pragma once
#include <cstdint>

namespace cg::cpu {

// col rows (C*K*K) of OH*OW entries, row r starting at col + r*ldc: the K x K patches of
// img (C,H,W) that a convolution with this stride and zero padding visits on an (OH,OW)
// output grid; padding reads as 0. ldc >= OH*OW lets a batch share one wide matrix.
template <class T>
void im2col(T* col, int64_t ldc, const T* img, int64_t C, int64_t H, int64_t W, int64_t K, int64_t stride,
            int64_t pad, int64_t OH, int64_t OW);

// The adjoint of im2col: img (C,H,W) += each column entry scattered back to its pixel
// (entries that fall into the padding are dropped).
template <class T>
void col2im_add(T* img, const T* col, int64_t ldc, int64_t C, int64_t H, int64_t W, int64_t K, int64_t stride,
                int64_t pad, int64_t OH, int64_t OW);

// The same over a chunk of nb images (nb,C,H,W) with their columns side by side in one
// (C*K*K, nb*OH*OW) matrix: OpenMP over the samples.
template <class T>
void im2col_batch(T* col, const T* img, int64_t nb, int64_t C, int64_t H, int64_t W, int64_t K, int64_t stride,
                  int64_t pad, int64_t OH, int64_t OW);
// accumulate false: img is overwritten with col2im(col) instead of added to.
template <class T>
void col2im_add_batch(T* img, const T* col, int64_t nb, int64_t C, int64_t H, int64_t W, int64_t K, int64_t stride,
                      int64_t pad, int64_t OH, int64_t OW, bool accumulate = true);

// dst (C, nb*L) = src (nb,C,L) with the samples side by side, so one GEMM serves a chunk.
template <class T>
void pack_batch(T* dst, const T* src, int64_t nb, int64_t C, int64_t L);
// dst (nb,C,L) += src (C, nb*L): the inverse layout of pack_batch, accumulating (or
// assigning, with accumulate false).
template <class T>
void unpack_batch_add(T* dst, const T* src, int64_t nb, int64_t C, int64_t L, bool accumulate = true);

// dst (nb,C,L) = bias[c] (or 0 when bias is null) + src (C, nb*L): unpack_batch_add onto a
// fill_bias'd output in one pass, with the same sums.
template <class T>
void unpack_batch_bias(T* dst, const T* src, const T* bias, int64_t nb, int64_t C, int64_t L);

// out (N,OC,L) = bias[oc] broadcast, or 0 when bias is null.
template <class T>
void fill_bias(T* out, const T* bias, int64_t N, int64_t OC, int64_t L);

// dbias (OC) += sum over n and l of dout (N,OC,L).
template <class T>
void bias_grad_add(T* dbias, const T* dout, int64_t N, int64_t OC, int64_t L);

// The same, of dout taken back through the LeakyReLU whose output act (N,OC,L) is:
// dout * (act > 0 ? 1 : slope), summed in bias_grad_add's order (the same bits as that
// gradient computed first).
template <class T>
void bias_grad_add_leaky(T* dbias, const T* dout, const T* act, T slope, int64_t N, int64_t OC, int64_t L);

// Samples per chunk when each needs per_sample scratch elements: as many as fit a fixed
// budget (at least one), so deep layers with small images run one wide GEMM per chunk.
int64_t batch_chunk(int64_t N, int64_t per_sample);
// Sets that budget in elements (default 2^24) and returns the previous one; tests shrink
// it to run a batch in several chunks.
int64_t set_batch_chunk_budget(int64_t elems);

}  // namespace cg::cpu
