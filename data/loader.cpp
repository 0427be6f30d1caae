// The batch loader (data/loader.h). A producer thread gathers shuffled images from
// the memory-mapped dataset into page-locked slots (pixels, then one flip byte per
// image; labels in a second buffer); next() starts the slot's asynchronous upload,
// normalises it on the device and hands the slot back at once: the producer waits
// for the upload's event before refilling it, so the host never blocks on the GPU. The order, labels and flips are pure functions of (seed, epoch, position),
// so set_position() resumes exactly.
#include "data/loader.h"

#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include "base/nvtx.h"
#include "engine/device_cuda.h"
#include "engine/normalize.h"
#include "engine/philox.h"
#include "engine/pinned.h"
#include "kernels/common/philox.h"

namespace cg::data {
namespace {

constexpr int kSlots = 4;  // one uploading, one being consumed, two ready ahead

struct Batch {
  PinnedBuffer px;   // (B,S,S,C) pixels, then B flip bytes
  PinnedBuffer lab;  // (B) int32 labels
  int64_t epoch = 0, index = 0;
};

}  // namespace

BatchAssembler::BatchAssembler(const Dataset& ds, LoaderConfig cfg, std::vector<int64_t> indices)
    : ds_(&ds), cfg_(cfg), indices_(std::move(indices)),
      n_(indices_.empty() ? ds.info().count : int64_t(indices_.size())),
      img_bytes_(int64_t(ds.info().size) * ds.info().size * ds.info().channels) {
  CG_USER_CHECK(cfg.batch >= 1, "The batch size must be at least 1, got ", cfg.batch, ".");
  CG_USER_CHECK(n_ >= cfg.batch, "The dataset ", ds.path(), indices_.empty() ? " holds " : "'s training part holds ",
                n_, " images, fewer than one batch of ", cfg.batch, ".");
  CG_CHECK(cfg.slice_begin >= 0 && cfg.rows() >= 1 && cfg.slice_begin + cfg.rows() <= cfg.batch,
           "BatchAssembler: slice [", cfg.slice_begin, ", ", cfg.slice_end, ") of a batch of ", cfg.batch);
  for (int64_t i : indices_)
    CG_CHECK(i >= 0 && i < ds.info().count, "BatchAssembler: index ", i, " outside the dataset of ", ds.info().count);
  bpe_ = n_ / cfg.batch;
  shuffle_key_ = splitmix64(cfg.seed ^ 0x53485546464C45ull);  // "SHUFFLE"
  flip_key_ = splitmix64(cfg.seed ^ 0x464C4950ull);           // "FLIP"
}

void BatchAssembler::make_perm(int64_t e) {
  perm_.resize(size_t(n_));
  for (int64_t i = 0; i < n_; ++i) perm_[size_t(i)] = i;
  Philox rng(shuffle_key_, uint64_t(e) << 40);  // 2^40 draws per epoch: epochs never overlap
  for (int64_t i = n_ - 1; i > 0; --i) std::swap(perm_[size_t(i)], perm_[size_t(rng.next_below(i + 1))]);
  perm_epoch_ = e;
}

bool BatchAssembler::flip_of(int64_t e, int64_t pos) const {
  const uint64_t draw = (uint64_t(e) << 40) + uint64_t(pos);
  uint32_t w[4];
  common::philox_block(flip_key_, draw / 4, w);
  return (w[draw % 4] >> 31) != 0;
}

void BatchAssembler::fill(int64_t e, int64_t bi, uint8_t* px, int32_t* labels, uint8_t* flips) {
  CG_CHECK(e >= 0 && bi >= 0 && bi < bpe_, "BatchAssembler::fill: batch ", bi, " of ", bpe_, " in epoch ", e);
  if (perm_epoch_ != e) make_perm(e);
  const int64_t B = cfg_.batch, j0 = cfg_.slice_begin, R = cfg_.rows();
  for (int64_t j = 0; j < R; ++j) {
    const int64_t pos = bi * B + j0 + j, at = perm_[size_t(pos)];
    const int64_t idx = indices_.empty() ? at : indices_[size_t(at)];
    std::memcpy(px + j * img_bytes_, ds_->pixels(idx), size_t(img_bytes_));
    labels[j] = ds_->label(idx);
    flips[j] = cfg_.hflip && flip_of(e, pos) ? 1 : 0;
  }
}

struct Loader::Impl {
  LoaderConfig cfg;
  int64_t S = 0, C = 0, img_bytes = 0, bpe = 0;

  int64_t epoch = 0, batch = 0;  // the consumer's position: the next batch next() returns

  std::vector<std::unique_ptr<Batch>> pool;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Batch*> ready, free_list;
  bool stop = false;
  std::exception_ptr error;
  std::thread producer;
  Tensor stage;                // CUDA: u8 (B*S*S*C + B) pixels and flips on the device

  // The producer's own position and its assembler (which caches its epoch's order).
  int64_t p_epoch = 0, p_batch = 0;
  std::unique_ptr<BatchAssembler> assembler;

  void fill(Batch& b, int64_t e, int64_t bi) {
    b.px.wait();  // a CUDA upload from this slot may still be reading it
    b.lab.wait();
    uint8_t* px = b.px.as<uint8_t>();
    assembler->fill(e, bi, px, b.lab.as<int32_t>(), px + cfg.rows() * img_bytes);
    b.epoch = e;
    b.index = bi;
  }

  void produce() {
    try {
      for (;;) {
        Batch* b;
        {
          std::unique_lock<std::mutex> lk(mu);
          cv.wait(lk, [&] { return stop || !free_list.empty(); });
          if (stop) return;
          b = free_list.front();
          free_list.pop_front();
        }
        fill(*b, p_epoch, p_batch);
        if (++p_batch == bpe) p_batch = 0, ++p_epoch;
        {
          std::lock_guard<std::mutex> lk(mu);
          ready.push_back(b);
        }
        cv.notify_all();
      }
    } catch (...) {
      std::lock_guard<std::mutex> lk(mu);
      error = std::current_exception();
      cv.notify_all();
    }
  }

  void start() {
    stop = false;
    p_epoch = epoch;
    p_batch = batch;
    int gpu = -1;  // the producer waits on CUDA events: on this thread's GPU, not GPU 0
    if constexpr (kCudaBuilt)
      if (cfg.device == Device::cuda) gpu = cuda_current_device();
    producer = std::thread([this, gpu] {
      if constexpr (kCudaBuilt)
        if (gpu >= 0) cuda_use_device(gpu);
      produce();
    });
  }

  void halt() {
    {
      std::lock_guard<std::mutex> lk(mu);
      stop = true;
    }
    cv.notify_all();
    if (producer.joinable()) producer.join();
    free_list.insert(free_list.end(), ready.begin(), ready.end());
    ready.clear();
  }
};

Loader::Loader(const Dataset& ds, LoaderConfig cfg, std::vector<int64_t> indices) : p_(std::make_unique<Impl>()) {
  Impl& L = *p_;
  L.assembler = std::make_unique<BatchAssembler>(ds, cfg, std::move(indices));  // checks the batch against the dataset
  const DatasetInfo& info = ds.info();
  CG_USER_CHECK(cfg.device == Device::cpu || kCudaBuilt, "The loader cannot place batches on cuda: this build has "
                                                            "no CUDA backend.");
  L.cfg = cfg;
  L.S = info.size;
  L.C = info.channels;
  L.img_bytes = L.S * L.S * L.C;
  L.bpe = L.assembler->batches_per_epoch();
  for (int s = 0; s < kSlots; ++s) {
    auto b = std::make_unique<Batch>();
    b->px.resize(size_t(cfg.rows()) * size_t(L.img_bytes + 1));
    b->lab.resize(size_t(cfg.rows()) * 4);
    L.free_list.push_back(b.get());
    L.pool.push_back(std::move(b));
  }
  L.start();
}

Loader::~Loader() {
  try {
    p_->halt();
  } catch (...) {
  }
}

void Loader::next(Tensor& images, Tensor& labels) {
  NVTX_SCOPE_FN();
  Impl& L = *p_;
  Batch* b;
  {
    std::unique_lock<std::mutex> lk(L.mu);
    L.cv.wait(lk, [&] { return !L.ready.empty() || L.error; });
    if (L.error) std::rethrow_exception(L.error);
    b = L.ready.front();
    L.ready.pop_front();
  }
  CG_CHECK(b->epoch == L.epoch && b->index == L.batch, "Loader: producer out of step");
  const int64_t B = L.cfg.rows(), S = L.S, C = L.C;
  const Device dev = L.cfg.device;
  if (!images.defined() || images.shape() != Shape{B, C, S, S} || images.dtype() != DType::f32 ||
      images.device() != dev)
    images = Tensor::empty(Shape{B, C, S, S}, DType::f32, dev);
  if (!labels.defined() || labels.shape() != Shape{B} || labels.dtype() != DType::i32 || labels.device() != dev)
    labels = Tensor::empty(Shape{B}, DType::i32, dev);
  const uint8_t* flips = L.cfg.hflip ? b->px.as<uint8_t>() + B * L.img_bytes : nullptr;
  if (dev == Device::cuda) {  // the constructor refused cuda in a CPU-only build
    if (!L.stage.defined()) L.stage = Tensor::empty(Shape{B * L.img_bytes + B}, DType::u8, Device::cuda);
    b->px.upload(L.stage);
    b->lab.upload(labels);
    const uint8_t* d = L.stage.data<uint8_t>();
    images_u8_to_f32_into(images, d, flips ? d + B * L.img_bytes : nullptr);
  } else {
    images_u8_to_f32_into(images, b->px.as<uint8_t>(), flips);
    std::memcpy(labels.data<int32_t>(), b->lab.data(), size_t(B) * 4);
  }
  {  // back to the producer, which waits for the slot's uploads before refilling it
    std::lock_guard<std::mutex> lk(L.mu);
    L.free_list.push_back(b);
  }
  L.cv.notify_all();
  if (++L.batch == L.bpe) L.batch = 0, ++L.epoch;
}

int64_t Loader::epoch() const { return p_->epoch; }
int64_t Loader::batches_per_epoch() const { return p_->bpe; }
int64_t Loader::batch_in_epoch() const { return p_->batch; }

void Loader::set_position(int64_t epoch, int64_t batch_in_epoch) {
  Impl& L = *p_;
  CG_USER_CHECK(epoch >= 0 && batch_in_epoch >= 0 && batch_in_epoch <= L.bpe, "Cannot resume the loader at epoch ",
                epoch, ", batch ", batch_in_epoch, ": an epoch here has ", L.bpe, " batches.");
  L.halt();
  L.epoch = epoch;
  L.batch = batch_in_epoch;
  if (L.batch == L.bpe) L.batch = 0, ++L.epoch;
  L.start();
}

}  // namespace cg::data
