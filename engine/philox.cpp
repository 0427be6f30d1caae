// Philox fills on the CPU (f32, f64, raw words) and the dispatch to the CUDA
// kernels; both evaluate the shared scalar math in kernels/common/philox.h.
#include "engine/philox.h"

#include "base/nvtx.h"
#include "engine/dispatch.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cuda/philox.h"

namespace cg {
namespace {

// Calls put(i, w, j) for every element i of a fill of n draws at offset: word j of
// block w. Parallel over blocks; each block is computed once.
template <class Put>
void for_each_draw(int64_t n, uint64_t seed, uint64_t offset, Put&& put) {
  if (n <= 0) return;
  const uint64_t first = offset / 4;
  const int64_t nblocks = static_cast<int64_t>((offset + static_cast<uint64_t>(n) - 1) / 4 - first + 1);
  cpu::parallel_each(nblocks, 4096, [&](int64_t b) {
    uint32_t w[4];
    common::philox_block(seed, first + static_cast<uint64_t>(b), w);
    for (int j = 0; j < 4; ++j) {
      const int64_t i = static_cast<int64_t>((first + static_cast<uint64_t>(b)) * 4 + static_cast<uint64_t>(j) - offset);
      if (i >= 0 && i < n) put(i, w, j);
    }
  });
}

void cpu_uniform(Tensor& t, uint64_t seed, uint64_t offset, double lo, double hi) {
  NVTX_RANGE_FN();
  if (t.dtype() == DType::f32) {
    float* out = t.data<float>();
    const float flo = static_cast<float>(lo), fscale = static_cast<float>(hi - lo);
    for_each_draw(t.numel(), seed, offset,
                  [&](int64_t i, const uint32_t* w, int j) { out[i] = common::uniform_float(w[j], flo, fscale); });
  } else {
    double* out = t.data<double>();
    const double scale = hi - lo;
    for_each_draw(t.numel(), seed, offset,
                  [&](int64_t i, const uint32_t* w, int j) { out[i] = common::uniform_double(w[j], lo, scale); });
  }
}

void cpu_normal(Tensor& t, uint64_t seed, uint64_t offset, double mean, double std) {
  NVTX_RANGE_FN();
  if (t.dtype() == DType::f32) {
    float* out = t.data<float>();
    for_each_draw(t.numel(), seed, offset, [&](int64_t i, const uint32_t* w, int j) {
      out[i] = static_cast<float>(common::philox_normal(w, j, mean, std));
    });
  } else {
    double* out = t.data<double>();
    for_each_draw(t.numel(), seed, offset,
                  [&](int64_t i, const uint32_t* w, int j) { out[i] = common::philox_normal(w, j, mean, std); });
  }
}

void cpu_bits(Tensor& t, uint64_t seed, uint64_t offset) {
  NVTX_RANGE_FN();
  uint32_t* out = reinterpret_cast<uint32_t*>(t.data<int32_t>());
  for_each_draw(t.numel(), seed, offset, [&](int64_t i, const uint32_t* w, int j) { out[i] = w[j]; });
}

uint64_t advance(int64_t n) { return (static_cast<uint64_t>(n) + 3) / 4 * 4; }

}  // namespace

void Philox::uniform(Tensor& t, double lo, double hi) {
  CG_CHECK(t.defined(), "Philox::uniform on an undefined tensor");
  check_float_dtype("Philox::uniform", t);
  CG_CHECK(lo <= hi, "Philox::uniform: empty range [", lo, ", ", hi, ")");
  if (t.is_cuda()) {
    on_cuda("Philox::uniform", t, [&]<class>() {
      cuda::philox_uniform(t.data<float>(), t.numel(), seed_, offset_, static_cast<float>(lo),
                           static_cast<float>(hi - lo));
    });
  } else {
    cpu_uniform(t, seed_, offset_, lo, hi);
  }
  offset_ += advance(t.numel());
}

void Philox::normal(Tensor& t, double mean, double std) {
  CG_CHECK(t.defined(), "Philox::normal on an undefined tensor");
  check_float_dtype("Philox::normal", t);
  CG_CHECK(std >= 0, "Philox::normal: negative standard deviation ", std);
  if (t.is_cuda()) {
    on_cuda("Philox::normal", t,
            [&]<class>() { cuda::philox_normal(t.data<float>(), t.numel(), seed_, offset_, mean, std); });
  } else {
    cpu_normal(t, seed_, offset_, mean, std);
  }
  offset_ += advance(t.numel());
}

void Philox::bits(Tensor& t) {
  CG_CHECK(t.defined() && t.dtype() == DType::i32, "Philox::bits needs an i32 tensor, got ",
           t.defined() ? t.describe() : std::string("an undefined tensor"));
  if (t.is_cuda()) {
    on_cuda("Philox::bits", t, [&]<class>() {
      cuda::philox_bits(reinterpret_cast<uint32_t*>(t.data<int32_t>()), t.numel(), seed_, offset_);
    });
  } else {
    cpu_bits(t, seed_, offset_);
  }
  offset_ += advance(t.numel());
}

uint64_t Philox::take(int64_t n) {
  CG_CHECK(n >= 0, "Philox::take: negative count ", n);
  const uint64_t at = offset_;
  offset_ += advance(n);
  return at;
}

uint32_t Philox::next_u32() {
  uint32_t w[4];
  common::philox_block(seed_, offset_ / 4, w);
  return w[offset_++ % 4];
}

double Philox::next_uniform() { return common::u32_to_uniform_double(next_u32()); }

int64_t Philox::next_below(int64_t n) {
  CG_CHECK(n > 0, "Philox::next_below: need a positive bound, got ", n);
  const uint64_t un = static_cast<uint64_t>(n);
  if (un <= (uint64_t{1} << 32)) {
    // Rejection keeps it unbiased: accept only u below the largest multiple of n.
    const uint64_t limit = (uint64_t{1} << 32) - (uint64_t{1} << 32) % un;
    for (;;) {
      const uint64_t u = next_u32();
      if (u < limit) return static_cast<int64_t>(u % un);
    }
  }
  const uint64_t limit = UINT64_MAX - (UINT64_MAX % un + 1) % un;  // accept u <= limit
  for (;;) {
    const uint64_t hi = next_u32();
    const uint64_t u = hi << 32 | next_u32();
    if (u <= limit) return static_cast<int64_t>(u % un);
  }
}

}  // namespace cg
