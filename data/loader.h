// The batch loader: shuffles each epoch from the run's seed, assembles uint8
// batches on a background thread, and hands out float batches on the requested
// device, normalised to [-1, 1] (x/127.5 - 1), NCHW.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "data/dataset.h"
#include "engine/tensor.h"

namespace cg::data {

struct LoaderConfig {
  int batch = 128;
  uint64_t seed = 0;
  Device device = Device::cpu;
  bool hflip = false;  // random horizontal flip
  // A data-parallel rank's rows [slice_begin, slice_end) of every global batch of `batch`
  // images (slice_end -1: all of them). The order, flips and epochs are those of the whole
  // batch, so N ranks together read exactly what one process would; each reads only its rows.
  int slice_begin = 0, slice_end = -1;
  int rows() const { return (slice_end < 0 ? batch : slice_end) - slice_begin; }
};

// The host side of the loader, one batch at a time: the images at positions
// [index*B, (index+1)*B) of epoch `epoch`'s shuffled order (of them, the slice's rows),
// copied into px (rows,S,S,C) uint8, with their labels and one flip flag per image (all 0
// without hflip). A pure
// function of (cfg.seed, epoch, index); the loader's producer thread runs it, and
// tests and benchmarks can call it directly.
class BatchAssembler {
 public:
  // indices: the images an epoch shuffles (a training part, data/holdout.h); empty: all.
  BatchAssembler(const Dataset& ds, LoaderConfig cfg, std::vector<int64_t> indices = {});
  void fill(int64_t epoch, int64_t index, uint8_t* px, int32_t* labels, uint8_t* flips);
  int64_t batches_per_epoch() const { return bpe_; }

 private:
  const Dataset* ds_;
  LoaderConfig cfg_;
  std::vector<int64_t> indices_;
  int64_t n_, img_bytes_, bpe_;
  uint64_t shuffle_key_, flip_key_;
  int64_t perm_epoch_ = -1;
  std::vector<int64_t> perm_;
  void make_perm(int64_t epoch);
  bool flip_of(int64_t epoch, int64_t pos) const;
};

class Loader {
 public:
  // indices: as BatchAssembler's (empty: every image).
  Loader(const Dataset& ds, LoaderConfig cfg, std::vector<int64_t> indices = {});
  ~Loader();
  // Fills images (R,C,S,S) f32 in [-1,1] and labels i32 (R) (-1 when unlabeled) on
  // cfg.device, R = cfg.rows() (the batch, or this rank's slice of it).
  // Tensors that already have that shape, dtype and device are overwritten in place (the
  // same buffers every step, as a captured CUDA graph needs); others are replaced.
  // Only full batches are returned; an epoch ends with the last full batch and the
  // next call starts the next epoch (reshuffled).
  void next(Tensor& images, Tensor& labels);
  int64_t epoch() const;           // epochs completed so far
  int64_t batches_per_epoch() const;
  // Resume support: the position is (epoch, batch index within the epoch); setting it
  // reproduces exactly the batches an uninterrupted run would have produced next.
  int64_t batch_in_epoch() const;
  void set_position(int64_t epoch, int64_t batch_in_epoch);

 private:
  struct Impl;
  std::unique_ptr<Impl> p_;
};

}  // namespace cg::data
