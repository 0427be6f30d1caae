// Devices without a GPU: the allocator statistics are zero, PinnedBuffer falls back
// to plain aligned host memory with the same API, and uploads to CPU tensors copy.
#include <cstdint>
#include <cstring>

#include "engine/device.h"
#include "engine/pinned.h"
#include "support/check.h"

using namespace cg;

TEST_CASE("device memory statistics are zero when no CUDA memory was used") {
  if (cuda_available()) return;  // the CUDA suite checks the real counters
  const DeviceMemoryStats s = device_memory_stats();
  CHECK(s.bytes_in_use == 0);
  CHECK(s.bytes_cached == 0);
  CHECK(s.cuda_malloc_count == 0);
  device_empty_cache();  // harmless without a GPU
  reset_peak_device_memory();
  CHECK(device_memory_stats().peak_bytes_in_use == 0);
}

TEST_CASE("PinnedBuffer: allocation, growth, uploads into CPU tensors") {
  PinnedBuffer buf(100);
  CHECK(buf.size() == 100);
  CHECK(buf.data() != nullptr);
  CHECK(reinterpret_cast<uintptr_t>(buf.data()) % 64 == 0);
  if (!cuda_available()) CHECK_FALSE(buf.pinned());
  void* before = buf.data();
  buf.resize(50);  // shrinking keeps the allocation
  CHECK(buf.data() == before);
  CHECK(buf.size() == 100);
  buf.resize(4096);
  CHECK(buf.size() == 4096);
  uint8_t* p = buf.as<uint8_t>();
  for (int i = 0; i < 12; ++i) p[i] = static_cast<uint8_t>(i * 3);
  Tensor dst = Tensor::zeros(Shape{1, 2, 2, 3}, DType::u8);
  buf.upload(dst);
  buf.wait();
  for (int i = 0; i < 12; ++i) CHECK(dst.data<uint8_t>()[i] == i * 3);
  Tensor big = Tensor::zeros(Shape{5000}, DType::u8);
  CHECK_THROWS_WITH_AS(buf.upload(big), doctest::Contains("PinnedBuffer::upload: u8 (5000) on cpu needs 5000 bytes"),
                       cg::Error);
}

TEST_CASE("PinnedBuffer moves its memory") {
  PinnedBuffer a(256);
  void* p = a.data();
  PinnedBuffer b(std::move(a));
  CHECK(b.data() == p);
  CHECK(a.data() == nullptr);
  CHECK(a.size() == 0);
  PinnedBuffer c;
  c = std::move(b);
  CHECK(c.data() == p);
  CHECK(c.size() == 256);
  PinnedBuffer none;
  CHECK(none.data() == nullptr);
  none.wait();
}
