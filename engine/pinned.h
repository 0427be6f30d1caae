// Page-locked host buffers for the data loader's uploads: cudaHostAlloc memory when
// this build has CUDA and a GPU answers (so host-to-device copies run asynchronously
// at full bandwidth), otherwise plain 64-byte-aligned host memory with the same API.
#pragma once
#include <cstddef>
#include <cstdint>

#include "engine/tensor.h"

namespace cg {

class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  explicit PinnedBuffer(size_t bytes) { resize(bytes); }
  ~PinnedBuffer();
  PinnedBuffer(PinnedBuffer&& o) noexcept;
  PinnedBuffer& operator=(PinnedBuffer&& o) noexcept;
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;

  // Makes room for at least bytes; reallocates (contents lost) only when growing.
  void resize(size_t bytes);
  size_t size() const { return size_; }
  bool pinned() const { return pinned_; }  // page-locked (cudaHostAlloc), not plain memory
  void* data() { return ptr_; }
  const void* data() const { return ptr_; }
  template <class T>
  T* as() { return static_cast<T*>(ptr_); }

  // Copies the first dst.nbytes() bytes of the buffer into dst (any device). To a CUDA
  // tensor from pinned memory the copy is asynchronous on the engine stream: call
  // wait() before writing into the buffer again. Otherwise it completes before returning.
  void upload(Tensor& dst);
  // Copies src (any device) into the start of the buffer. From a CUDA tensor into pinned
  // memory the copy is asynchronous on the engine stream, after the work queued before it:
  // ready() says whether it has landed, wait() waits for it. Otherwise it completes here.
  void download(const Tensor& src);
  bool ready() const;
  // Blocks until the last upload from (or download into) this buffer has finished.
  void wait();

 private:
  void* ptr_ = nullptr;
  size_t size_ = 0;
  bool pinned_ = false;
  void* event_ = nullptr;  // cudaEvent_t recorded after the last asynchronous upload
  void release();
};

}  // namespace cg
