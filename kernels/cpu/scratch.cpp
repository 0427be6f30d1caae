// Per-thread growing scratch buffers (see scratch.h).
#include "kernels/cpu/scratch.h"

#include <cstdlib>
#include <new>

#include "base/host_memory.h"

namespace cg::cpu {

namespace {

constexpr int kSlots = 5;  // 0-3 the kernels' own; 4 an activation's gradient (conv2d.cpp)

struct Buffers {
  void* p[kSlots] = {};
  size_t bytes[kSlots] = {};
  ~Buffers() {
    for (void* q : p) std::free(q);
  }
};
thread_local Buffers t_buf;

}  // namespace

template <class T>
T* scratch(int slot, size_t n) {
  const size_t want = (n * sizeof(T) + 63) / 64 * 64;
  if (t_buf.bytes[slot] < want) {
    std::free(t_buf.p[slot]);
    t_buf.p[slot] = host_alloc_aligned(want);
    t_buf.bytes[slot] = t_buf.p[slot] ? want : 0;
    if (!t_buf.p[slot]) throw std::bad_alloc();
  }
  return static_cast<T*>(t_buf.p[slot]);
}

void release_scratch() {
  for (int i = 0; i < kSlots; ++i) {
    std::free(t_buf.p[i]);
    t_buf.p[i] = nullptr;
    t_buf.bytes[i] = 0;
  }
}

template float* scratch<float>(int, size_t);
template double* scratch<double>(int, size_t);

}  // namespace cg::cpu
