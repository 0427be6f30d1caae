// Penultimate features of a classifier (see features.h).
#include "eval/features.h"

#include <algorithm>

#include "engine/philox.h"
#include "eval/classifier.h"

namespace cg::gan {
namespace {

// Equal batches of at most `batch` covering n (no tiny last batch for batch statistics).
int64_t even_batch(int64_t n, int64_t batch) {
  const int64_t nb = (n + batch - 1) / std::max<int64_t>(batch, 1);
  return nb > 0 ? (n + nb - 1) / nb : batch;
}

// One batch: pooled features appended to f, predictions too.
void append_batch(const Discriminator& C, const Tensor& x, Features& f) {
  const DOut o = C.forward(nullptr, x, BnMode::batch);
  const int64_t n = x.dim(0), flat = o.feat.dim(1), c0 = flat / 16;
  f.d = int(c0);
  const std::vector<double> v = o.feat.to_vector(), logits = o.cls.to_vector();  // (n, c0*16), (n, K)
  const int64_t K = int64_t(logits.size()) / n;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t c = 0; c < c0; ++c) {
      double s = 0;
      for (int64_t p = 0; p < 16; ++p) s += v[size_t(i * flat + c * 16 + p)];
      f.x.push_back(s / 16.0);
    }
    const double* row = logits.data() + i * K;
    f.predicted.push_back(int32_t(std::max_element(row, row + K) - row));
  }
}

}  // namespace

Features classifier_features(const Discriminator& C, const Tensor& images, int batch) {
  Features f;
  const int64_t N = images.dim(0), per = images.numel() / std::max<int64_t>(N, 1);
  const int64_t B = even_batch(N, batch);
  for (int64_t b0 = 0; b0 < N; b0 += B) {
    const int64_t n = std::min(B, N - b0);
    append_batch(C, images.slice_view(b0 * per, Shape{n, images.dim(1), images.dim(2), images.dim(3)}), f);
  }
  return f;
}

Features classifier_features(Discriminator& C, const data::Dataset& ds, const std::vector<int64_t>& idx,
                             int batch) {
  std::vector<size_t> perm(idx.size());
  for (size_t i = 0; i < perm.size(); ++i) perm[i] = i;
  Philox rng(0xFEA7);
  for (size_t i = perm.size(); i > 1; --i) std::swap(perm[i - 1], perm[size_t(rng.next_below(int64_t(i)))]);
  std::vector<int64_t> shuffled(idx.size());
  for (size_t i = 0; i < perm.size(); ++i) shuffled[i] = idx[perm[i]];
  Features in_order;
  const int64_t B = even_batch(int64_t(idx.size()), batch);
  for (int64_t b0 = 0; b0 < int64_t(idx.size()); b0 += B) {
    const int64_t n = std::min<int64_t>(B, int64_t(idx.size()) - b0);
    append_batch(C, dataset_images(ds, shuffled.data() + b0, n, C.params().device()), in_order);
  }
  Features f;  // back to idx's order
  f.d = in_order.d;
  f.x.resize(in_order.x.size());
  f.predicted.resize(idx.size());
  for (size_t i = 0; i < perm.size(); ++i) {
    std::copy_n(in_order.row(int64_t(i)), f.d, f.x.data() + perm[i] * size_t(f.d));
    f.predicted[perm[i]] = in_order.predicted[i];
  }
  return f;
}

std::vector<double> gather_rows(const Features& f, const std::vector<int64_t>& rows) {
  std::vector<double> out(rows.size() * size_t(f.d));
  for (size_t i = 0; i < rows.size(); ++i) std::copy_n(f.row(rows[i]), f.d, out.data() + i * size_t(f.d));
  return out;
}

}  // namespace cg::gan
