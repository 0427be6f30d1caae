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
void append_batch(const Discriminator& C, const Tensor& x, Features& f, BnMode mode) {
  const DOut o = C.forward(nullptr, x, mode);
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

Features classifier_features(const Discriminator& C, const Tensor& images, int batch, BnMode mode) {
  Features f;
  const int64_t N = images.dim(0), per = images.numel() / std::max<int64_t>(N, 1);
  const int64_t B = even_batch(N, batch);
  for (int64_t b0 = 0; b0 < N; b0 += B) {
    const int64_t n = std::min(B, N - b0);
    append_batch(C, images.slice_view(b0 * per, Shape{n, images.dim(1), images.dim(2), images.dim(3)}), f, mode);
  }
  return f;
}

Features classifier_features(Discriminator& C, const data::Dataset& ds, const std::vector<int64_t>& idx,
                             int batch, BnMode mode) {
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
    append_batch(C, dataset_images(ds, shuffled.data() + b0, n, C.params().device()), in_order, mode);
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

std::unique_ptr<Discriminator> with_fixed_statistics(Discriminator& C, const data::Dataset& ds,
                                                     const std::vector<int64_t>& idx, int batch) {
  ModelConfig m = C.config();
  m.bn_momentum = 1.0;  // a training-mode pass leaves exactly that batch's statistics in the buffers
  auto F = std::make_unique<Discriminator>(m, C.params().device());
  F->params().flat().copy_(C.params().flat());
  std::vector<int64_t> order = idx;
  Philox rng(0xB7A7);
  for (int64_t i = int64_t(order.size()) - 1; i > 0; --i) std::swap(order[size_t(i)], order[size_t(rng.next_below(i + 1))]);
  const int64_t B = std::min<int64_t>(batch, int64_t(order.size()));
  CG_USER_CHECK(B >= 2, "Fixing the classifier's BatchNorm statistics needs at least 2 covers, got ", order.size(), ".");
  Tensor& buf = F->params().flat_buffers();
  std::vector<double> sum(size_t(buf.numel()), 0.0);
  int64_t batches = 0;
  for (int64_t b0 = 0; b0 + B <= int64_t(order.size()); b0 += B, ++batches) {
    F->forward(nullptr, dataset_images(ds, order.data() + b0, B, C.params().device()), BnMode::train);
    const std::vector<double> v = buf.to_vector();
    for (size_t i = 0; i < v.size(); ++i) sum[i] += v[i];
  }
  for (double& v : sum) v /= double(batches);
  buf.copy_(Tensor::from(sum, buf.shape(), buf.dtype()).to(buf.device()));
  return F;
}

std::vector<double> gather_rows(const Features& f, const std::vector<int64_t>& rows) {
  std::vector<double> out(rows.size() * size_t(f.d));
  for (size_t i = 0; i < rows.size(); ++i) std::copy_n(f.row(rows[i]), f.d, out.data() + i * size_t(f.d));
  return out;
}

}  // namespace cg::gan
