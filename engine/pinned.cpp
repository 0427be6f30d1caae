// PinnedBuffer (see pinned.h): cudaHostAlloc through engine/device_cuda.cu when a
// GPU is present, aligned host memory otherwise.
#include "engine/pinned.h"

#include <cstdlib>
#include <cstring>
#include <utility>

#include "engine/device_cuda.h"

namespace cg {

PinnedBuffer::~PinnedBuffer() { release(); }

PinnedBuffer::PinnedBuffer(PinnedBuffer&& o) noexcept
    : ptr_(std::exchange(o.ptr_, nullptr)), size_(std::exchange(o.size_, 0)),
      pinned_(std::exchange(o.pinned_, false)), event_(std::exchange(o.event_, nullptr)) {}

PinnedBuffer& PinnedBuffer::operator=(PinnedBuffer&& o) noexcept {
  if (this != &o) {
    release();
    ptr_ = std::exchange(o.ptr_, nullptr);
    size_ = std::exchange(o.size_, 0);
    pinned_ = std::exchange(o.pinned_, false);
    event_ = std::exchange(o.event_, nullptr);
  }
  return *this;
}

void PinnedBuffer::release() {
  if (ptr_) {
    try {
      wait();  // an upload may still be reading the buffer
    } catch (...) {
    }
    if constexpr (kCudaBuilt)
      if (pinned_) cuda_host_free(ptr_);
    if (!pinned_) std::free(ptr_);
  }
  if constexpr (kCudaBuilt) cuda_event_destroy(event_);
  ptr_ = nullptr;
  size_ = 0;
  pinned_ = false;
  event_ = nullptr;
}

void PinnedBuffer::resize(size_t bytes) {
  if (bytes <= size_ && ptr_) return;
  release();
  if (bytes == 0) return;
  if constexpr (kCudaBuilt) {
    ptr_ = cuda_host_alloc(bytes);
    pinned_ = ptr_ != nullptr;
  }
  if (!ptr_) {
    ptr_ = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
    CG_USER_CHECK(ptr_ != nullptr, "out of host memory allocating a ", bytes, "-byte upload buffer");
  }
  size_ = bytes;
}

void PinnedBuffer::upload(Tensor& dst) {
  CG_CHECK(dst.defined() && dst.nbytes() <= size_, "PinnedBuffer::upload: ",
           dst.defined() ? dst.describe() : std::string("undefined tensor"), " needs ",
           dst.defined() ? dst.nbytes() : 0, " bytes, the buffer holds ", size_);
  if (dst.nbytes() == 0) return;
  if constexpr (kCudaBuilt) {
    if (dst.is_cuda() && pinned_) {
      cuda_upload_async(dst.raw(), ptr_, dst.nbytes(), &event_);
      return;
    }
  }
  device_copy(dst.raw(), dst.device(), ptr_, Device::cpu, dst.nbytes());
}

void PinnedBuffer::download(const Tensor& src) {
  CG_CHECK(src.defined() && src.nbytes() <= size_, "PinnedBuffer::download: ",
           src.defined() ? src.describe() : std::string("undefined tensor"), " needs ",
           src.defined() ? src.nbytes() : 0, " bytes, the buffer holds ", size_);
  if (src.nbytes() == 0) return;
  if constexpr (kCudaBuilt) {
    if (src.is_cuda() && pinned_) {
      cuda_download_async(ptr_, src.raw(), src.nbytes(), &event_);
      return;
    }
  }
  device_copy(ptr_, Device::cpu, src.raw(), src.device(), src.nbytes());
}

bool PinnedBuffer::ready() const {
  if constexpr (kCudaBuilt) return cuda_event_done(event_);
  return true;
}

void PinnedBuffer::wait() {
  if constexpr (kCudaBuilt) cuda_event_wait(event_);
}

}  // namespace cg
