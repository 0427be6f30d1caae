// The engine on CUDA against the CPU reference: Philox (raw words and uniforms bit
// for bit, normals within 1 float ulp), Adam over several steps, linear forward and
// backward, image normalisation, fill/axpy, the caching allocator's reuse and
// statistics, pinned uploads, and the TF32 switch.
#include <cmath>
#include <cstring>

#include "engine/adam.h"
#include "engine/normalize.h"
#include "engine/philox.h"
#include "engine/pinned.h"
#include "layers/linear.h"
#include "support/check.h"
#include "support/skip.h"
#if COVERGAN_CUDA
#include "base/cuda_context.h"
#endif

using namespace cg;

namespace {

std::vector<uint32_t> host_words(const Tensor& t) {
  Tensor h = t.to(Device::cpu);
  std::vector<uint32_t> v(static_cast<size_t>(t.numel()));
  if (!v.empty()) std::memcpy(v.data(), h.raw(), v.size() * 4);
  return v;
}

// Distance in units in the last place between two finite floats of the same sign.
int64_t ulp_distance(float a, float b) {
  int32_t ia, ib;
  std::memcpy(&ia, &a, 4);
  std::memcpy(&ib, &b, 4);
  if ((ia < 0) != (ib < 0)) return a == b ? 0 : INT64_MAX;
  return std::abs(static_cast<int64_t>(ia) - static_cast<int64_t>(ib));
}

}  // namespace

TEST_CASE("cuda philox: raw words and uniforms are bit-identical to the CPU") {
  CG_SKIP_WITHOUT_CUDA();
  for (auto [seed, offset, n] : {std::tuple<uint64_t, uint64_t, int64_t>{0, 0, 4}, {42, 1, 37}, {7, 3, (1 << 20) + 3},
                                 {0xdeadbeefcafef00dull, (1ull << 33) + 2, 1001}}) {
    INFO("seed " << seed << " offset " << offset << " n " << n);
    Philox c(seed, offset), g(seed, offset);
    Tensor bc = Tensor::empty(Shape{n}, DType::i32), bg = Tensor::empty(Shape{n}, DType::i32, Device::cuda);
    c.bits(bc);
    g.bits(bg);
    CHECK(host_words(bc) == host_words(bg));
    Tensor uc = Tensor::empty(Shape{n}), ug = Tensor::empty(Shape{n}, DType::f32, Device::cuda);
    c.uniform(uc, -1.0, 1.0);
    g.uniform(ug, -1.0, 1.0);
    CHECK(host_words(uc) == host_words(ug));  // compared as bit patterns
    CHECK(c.offset() == g.offset());
  }
}

TEST_CASE("cuda philox: normals agree with the CPU within 1 ulp, almost all exactly") {
  CG_SKIP_WITHOUT_CUDA();
  const int64_t n = (1 << 20) + 1;
  Philox c(2024, 6), g(2024, 6);
  Tensor nc = Tensor::empty(Shape{n}), ng = Tensor::empty(Shape{n}, DType::f32, Device::cuda);
  c.normal(nc, 0.0, 0.02);
  g.normal(ng, 0.0, 0.02);
  const Tensor h = ng.to(Device::cpu);
  int64_t exact = 0, worst = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t d = ulp_distance(nc.data<float>()[i], h.data<float>()[i]);
    exact += d == 0;
    worst = std::max(worst, d);
  }
  INFO("exact " << exact << " of " << n << ", worst " << worst << " ulp");
  CHECK(worst <= 1);
  CHECK(exact >= n - n / 1000);
}

TEST_CASE("cuda adam matches the CPU over several steps") {
  CG_SKIP_WITHOUT_CUDA();
  struct Model {
    ParamStore ps;
    explicit Model(Device d) {
      ps.param("w", Shape{1000, 3});
      ps.param("b", Shape{7});
      ps.finalize(d);
    }
  };
  Model cpu(Device::cpu), gpu(Device::cuda);
  std::mt19937 rng(8);
  const Tensor init = cgtest::random_tensor(cpu.ps.flat().shape(), rng, 1.0, DType::f32);
  cpu.ps.flat().copy_(init);
  gpu.ps.flat().copy_(init);
  Adam oc(cpu.ps, AdamConfig{2e-3, 0.5, 0.999, 1e-8}), og(gpu.ps, AdamConfig{2e-3, 0.5, 0.999, 1e-8});
  for (int step = 0; step < 5; ++step) {
    const Tensor g = cgtest::random_tensor(cpu.ps.flat().shape(), rng, step == 2 ? 100.0 : 0.1, DType::f32);
    cpu.ps.flat_grad().copy_(g);
    gpu.ps.flat_grad().copy_(g);
    oc.step();
    og.step();
  }
  CHECK_CLOSE_T(gpu.ps.flat(), cpu.ps.flat(), 1e-6, 1e-6);
  CHECK_CLOSE_T(og.m(), oc.m(), 1e-6, 1e-5);
  CHECK_CLOSE_T(og.v(), oc.v(), 1e-6, 1e-5);
}

TEST_CASE("cuda linear forward and backward match the CPU, accumulating and with a frozen weight") {
  CG_SKIP_WITHOUT_CUDA();
  for (auto [B, C, OC] : {std::tuple<int64_t, int64_t, int64_t>{16, 100, 512}, {8, 16384, 8}, {3, 5, 4}}) {
    INFO("B " << B << " C " << C << " OC " << OC);
    std::mt19937 rng(static_cast<uint32_t>(B * C + OC));
    const Tensor x = cgtest::random_tensor(Shape{B, C}, rng, 1.0, DType::f32),
                 w = cgtest::random_tensor(Shape{OC, C}, rng, 0.1, DType::f32),
                 b = cgtest::random_tensor(Shape{OC}, rng, 1.0, DType::f32),
                 dy = cgtest::random_tensor(Shape{B, OC}, rng, 1.0, DType::f32);
    std::vector<Tensor> grads[2], outs;
    for (Device d : {Device::cpu, Device::cuda}) {
      Tensor xd = x.to(d).clone(), wd = w.to(d).clone(), bd = b.to(d).clone();
      for (Tensor* t : {&xd, &wd, &bd}) t->set_requires_grad(true);
      // Two backward passes accumulate (cuBLAS beta = 1, never 0) ...
      for (int pass = 0; pass < 2; ++pass) {
        Tape tape;
        Tensor y = linear(&tape, xd, wd, bd);
        tape.backward(y, dy.to(d));
        if (pass == 0) outs.push_back(y.to(Device::cpu));
      }
      // ... and a third with the weight frozen adds to x's and b's gradients only.
      Tensor wf = wd.detach();
      Tape tape;
      tape.backward(linear(&tape, xd, wf, bd), dy.to(d));
      CHECK_FALSE(wf.grad().defined());
      for (Tensor* t : {&xd, &wd, &bd}) grads[d == Device::cuda].push_back(t->grad().to(Device::cpu));
    }
    const double tol = 1e-5 * std::sqrt(static_cast<double>(C));
    CHECK_CLOSE_T(outs[1], outs[0], tol, 1e-5);
    for (size_t i = 0; i < 3; ++i) CHECK_CLOSE_T(grads[1][i], grads[0][i], 3 * tol * std::sqrt(double(B)), 1e-5);
  }
}

TEST_CASE("cuda image normalisation is bit-identical to the CPU, flips included") {
  CG_SKIP_WITHOUT_CUDA();
  const int64_t B = 5, H = 64, W = 64, C = 3;
  Tensor px = Tensor::empty(Shape{B, H, W, C}, DType::u8);
  Philox rng(1);
  for (int64_t i = 0; i < px.numel(); ++i) px.data<uint8_t>()[i] = static_cast<uint8_t>(rng.next_below(256));
  const std::vector<uint8_t> flip = {1, 0, 0, 1, 1};
  const Tensor fc = images_u8_to_f32(px, flip), fg = images_u8_to_f32(px.to(Device::cuda), flip);
  CHECK(fg.is_cuda());
  CHECK(host_words(fc) == host_words(fg));
  CHECK(host_words(images_u8_to_f32(px)) == host_words(images_u8_to_f32(px.to(Device::cuda))));
  // Back to pixels, with values outside [-1, 1] and NaN.
  Tensor v = Tensor::empty(Shape{2, 3, 17, 9});
  Philox(9).uniform(v, -1.3, 1.3);
  v.data<float>()[5] = NAN;
  const Tensor uc = images_f32_to_u8(v), ug = images_f32_to_u8(v.to(Device::cuda));
  CHECK(ug.is_cuda());
  CHECK(uc.to_vector() == ug.to_vector());
}

TEST_CASE("cuda fill and axpy match the CPU") {
  CG_SKIP_WITHOUT_CUDA();
  for (int64_t n : {int64_t{1}, int64_t{1000}, int64_t{(1 << 22) + 5}}) {
    Tensor a = Tensor::full(Shape{n}, 0.75, DType::f32, Device::cuda);
    Tensor x = Tensor::empty(Shape{n});
    Philox(3).uniform(x, -2, 2);
    a.add_(x.to(Device::cuda), -1.5);
    Tensor ref = Tensor::full(Shape{n}, 0.75);
    ref.add_(x, -1.5);
    CHECK_CLOSE_T(a, ref, 1e-6, 1e-6);
    a.zero_();
    CHECK(a.to(Device::cpu).to_vector() == std::vector<double>(static_cast<size_t>(n), 0.0));
  }
}

TEST_CASE("the caching allocator reuses freed blocks without calling cudaMalloc") {
  CG_SKIP_WITHOUT_CUDA();
  device_synchronize(Device::cuda);
  device_empty_cache();  // other tests in this process may have left blocks of this size class
  const DeviceMemoryStats s0 = device_memory_stats();
  const int64_t n = 3 * 1000 * 1000 + 17;  // 12 MB: a large size class
  {
    Tensor a = Tensor::empty(Shape{n}, DType::f32, Device::cuda);
    const DeviceMemoryStats s1 = device_memory_stats();
    CHECK(s1.bytes_in_use >= s0.bytes_in_use + static_cast<size_t>(n) * 4);
    CHECK(s1.peak_bytes_in_use >= s1.bytes_in_use);
  }
  const DeviceMemoryStats s2 = device_memory_stats();
  CHECK(s2.bytes_in_use == s0.bytes_in_use);
  CHECK(s2.bytes_cached >= static_cast<size_t>(n) * 4);
  {
    Tensor b = Tensor::empty(Shape{n}, DType::f32, Device::cuda);  // same size: from the cache
    const DeviceMemoryStats s3 = device_memory_stats();
    CHECK(s3.cuda_malloc_count == s2.cuda_malloc_count);
    CHECK(s3.cache_hits == s2.cache_hits + 1);
    Tensor c = Tensor::empty(Shape{n - 5}, DType::f32, Device::cuda);  // same class, cache empty: driver
    CHECK(device_memory_stats().cuda_malloc_count == s2.cuda_malloc_count + 1);
  }
  device_empty_cache();
  const DeviceMemoryStats s4 = device_memory_stats();
  CHECK(s4.bytes_cached == 0);
  CHECK(s4.cuda_free_count >= s2.cuda_free_count + 2);
  CHECK(s4.bytes_in_use == s0.bytes_in_use);
  // An impossible request is one clear sentence, and the allocator still works afterwards.
  CHECK_THROWS_WITH_AS(Tensor::empty(Shape{int64_t{1} << 50}, DType::f32, Device::cuda),
                       doctest::Contains("the GPU is out of memory"), cg::Error);
  CHECK(device_memory_stats().bytes_in_use == s0.bytes_in_use);
  Tensor ok = Tensor::zeros(Shape{10}, DType::f32, Device::cuda);
  CHECK(ok.to(Device::cpu).to_vector() == std::vector<double>(10, 0.0));
}

TEST_CASE("pinned buffers upload asynchronously into cuda tensors") {
  CG_SKIP_WITHOUT_CUDA();
  const int64_t B = 4, S = 32;
  PinnedBuffer buf(static_cast<size_t>(B * S * S * 3));
  CHECK(buf.pinned());
  for (size_t i = 0; i < buf.size(); ++i) buf.as<uint8_t>()[i] = static_cast<uint8_t>(i * 7);
  Tensor dev = Tensor::empty(Shape{B, S, S, 3}, DType::u8, Device::cuda);
  buf.upload(dev);
  const Tensor f = images_u8_to_f32(dev, {0, 1, 0, 1});
  buf.wait();
  Tensor host = Tensor::empty(Shape{B, S, S, 3}, DType::u8);
  std::memcpy(host.raw(), buf.data(), host.nbytes());
  CHECK(host_words(f) == host_words(images_u8_to_f32(host, {0, 1, 0, 1})));
}

TEST_CASE("the TF32 switch sets cuBLAS's math mode both ways") {
  CG_SKIP_WITHOUT_CUDA();
#if COVERGAN_CUDA
  CHECK_FALSE(cuda::tf32_enabled());
  cublasMath_t mode;
  cuda::set_tf32(true);
  CHECK(cuda::tf32_enabled());
  REQUIRE(cublasGetMathMode(cuda::cublas(), &mode) == CUBLAS_STATUS_SUCCESS);
  CHECK(mode == CUBLAS_TF32_TENSOR_OP_MATH);
  // Linear still runs and stays close to FP32 under TF32 (10-bit mantissa inputs).
  std::mt19937 rng(4);
  const Tensor x = cgtest::random_tensor(Shape{64, 256}, rng, 1.0, DType::f32),
               w = cgtest::random_tensor(Shape{128, 256}, rng, 0.1, DType::f32);
  const Tensor y32 = linear(nullptr, x, w, Tensor());
  const Tensor yt = linear(nullptr, x.to(Device::cuda), w.to(Device::cuda), Tensor());
  CHECK_CLOSE_T(yt, y32, 2e-2, 1e-2);
  cuda::set_tf32(false);
  CHECK_FALSE(cuda::tf32_enabled());
  REQUIRE(cublasGetMathMode(cuda::cublas(), &mode) == CUBLAS_STATUS_SUCCESS);
  CHECK(mode == CUBLAS_DEFAULT_MATH);
#endif
}
