// CUDA behaviour that is not one op against the CPU (the op table, test_ops.cpp, holds
// those): convolution plans cached per shape, mixed-device errors, closed-form loss values
// at extreme logits, the BatchNorm2d module over unaligned flat-store slices across
// training and eval steps, the caching allocator, pinned uploads and the precision switch.
#include <cmath>
#include <cstring>

#include "cuda/op_table.h"
#include "engine/normalize.h"
#include "engine/params.h"
#include "engine/pinned.h"
#include "layers/batchnorm2d.h"
#include "layers/conv2d.h"
#include "layers/conv_transpose2d.h"
#include "layers/linear.h"
#include "layers/losses.h"
#include "support/check.h"
#include "support/skip.h"
#if COVERGAN_CUDA
#include "base/cuda_context.h"
#include "kernels/cuda/conv_algo.h"
#endif
#include "base/precision.h"

using namespace cg;
using cgtest::rnd;

namespace {

std::vector<uint32_t> host_words(const Tensor& t) {
  Tensor h = t.to(Device::cpu);
  std::vector<uint32_t> v(static_cast<size_t>(t.numel()));
  if (!v.empty()) std::memcpy(v.data(), h.raw(), v.size() * 4);
  return v;
}

}  // namespace

TEST_CASE("cuda convolution plans are cached: repeated calls give identical outputs") {
  CG_SKIP_WITHOUT_CUDA();
  std::mt19937 rng(8);
  const Tensor x = cgtest::random_tensor(Shape{4, 64, 16, 16}, rng, 1.0, DType::f32).to(Device::cuda),
               w = cgtest::random_tensor(Shape{32, 64, 4, 4}, rng, 0.05, DType::f32).to(Device::cuda),
               wt = cgtest::random_tensor(Shape{64, 32, 4, 4}, rng, 0.05, DType::f32).to(Device::cuda);
  const Tensor a = conv2d(nullptr, x, w, Tensor(), 2, 1), b = conv2d(nullptr, x, w, Tensor(), 2, 1);
  CHECK_CLOSE_T(a, b, 0, 0);
  const Tensor ta = conv_transpose2d(nullptr, x, wt, Tensor(), 2, 1),
               tb = conv_transpose2d(nullptr, x, wt, Tensor(), 2, 1);
  CHECK_CLOSE_T(ta, tb, 0, 0);
  CHECK(ta.shape() == Shape{4, 32, 32, 32});
}

TEST_CASE("cuda convolutions reject inputs on mixed devices with a cg::Error naming the op") {
  CG_SKIP_WITHOUT_CUDA();
  const Tensor x = Tensor::zeros(Shape{1, 3, 8, 8}, DType::f32, Device::cuda);
  CHECK_THROWS_WITH_AS(conv2d(nullptr, x, Tensor::zeros(Shape{4, 3, 4, 4}), Tensor(), 2, 1),
                       doctest::Contains("conv2d"), cg::Error);
  CHECK_THROWS_WITH_AS(conv_transpose2d(nullptr, x, Tensor::zeros(Shape{3, 4, 4, 4}), Tensor(), 2, 1),
                       doctest::Contains("conv_transpose2d"), cg::Error);
}

TEST_CASE("cuda losses stay finite at logits of +-100 and a bad label gives NaN, not a crash") {
  CG_SKIP_WITHOUT_CUDA();
  Tensor z = Tensor::from({100, -100, -100, 100}, Shape{4}, DType::f32, Device::cuda);
  Tensor t = Tensor::from({1, 0, 1, 0}, Shape{4}, DType::f32, Device::cuda);
  // Two right by a margin of 100 (loss ~ e^-100), two wrong by 100: mean 50.
  CHECK(bce_with_logits(nullptr, z, t).item() == doctest::Approx(50.0).epsilon(1e-6));
  Tensor zz = Tensor::from({100, -100, -100, 100}, Shape{2, 2}, DType::f32, Device::cuda);
  zz.set_requires_grad(true);
  Tape tape;
  Tensor ce = cross_entropy(&tape, zz, Tensor::from_labels({0, 0}, Device::cuda));
  CHECK(ce.item() == doctest::Approx(100.0).epsilon(1e-6));
  tape.backward(ce);
  CHECK_CLOSE_T(zz.grad().to_vector(), (std::vector<double>{0, 0, -0.5, 0.5}), 1e-7, 1e-6);
  Tensor bad = cross_entropy(nullptr, zz.detach(), Tensor::from_labels({0, 7}, Device::cuda));
  CHECK(std::isnan(bad.item()));
}

TEST_CASE("cuda BatchNorm2d module on a flat parameter store (unaligned slices) matches the CPU") {
  CG_SKIP_WITHOUT_CUDA();
  // An odd-sized parameter first, so gamma, beta and their gradients start at unaligned offsets.
  struct Model {
    ParamStore ps;
    Tensor pad;
    BatchNorm2d bn;
    explicit Model(Device dev) {
      pad = ps.param("pad", Shape{3});
      bn = BatchNorm2d(ps, "D.conv2.bn", 20);
      ps.finalize(dev);
      bn.reset();
    }
  };
  Model cpu(Device::cpu), gpu(Device::cuda);
  std::mt19937 rng(31);
  const Shape s{6, 20, 5, 5};
  const Tensor x = rnd(s, rng, 2.0, 1.0), dy = rnd(s, rng);
  for (int step = 0; step < 3; ++step) {
    for (Model* m : {&cpu, &gpu}) {
      const Device dev = m == &gpu ? Device::cuda : Device::cpu;
      Tape tape;
      Tensor out = m->bn.forward(&tape, x.to(dev), step < 2);  // two training steps, then eval
      tape.backward(out, dy.to(dev));
    }
    INFO("step " << step);
    CHECK_CLOSE_T(gpu.ps.flat_grad(), cpu.ps.flat_grad(), 1e-3, 1e-4);
    CHECK_CLOSE_T(gpu.ps.flat_buffers(), cpu.ps.flat_buffers(), 2e-5, 1e-4);
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

TEST_CASE("the precision switch: strict fp32 plans never use tensor cores and tf32 ones visibly do") {
  CG_SKIP_WITHOUT_CUDA();
#if COVERGAN_CUDA
  cublasMath_t mode;
  REQUIRE(cublasGetMathMode(cuda::cublas(), &mode) == CUBLAS_STATUS_SUCCESS);
  CHECK(mode == CUBLAS_DEFAULT_MATH);  // TF32 is asked per GEMM (CUBLAS_COMPUTE_32F_FAST_TF32), never per handle
  std::mt19937 rng(4);
  const Tensor x = rnd(Shape{4, 512, 8, 8}, rng), w = rnd(Shape{1024, 512, 4, 4}, rng, 1.0 / 90.5);
  const Tensor ref = conv2d(nullptr, x, w, Tensor(), 2, 1);
  const Tensor xd = x.to(Device::cuda), wd = w.to(Device::cuda);
  double err[2];
  for (Precision p : {Precision::fp32, Precision::tf32}) {
    PrecisionScope scope(p);
    const Tensor y = conv2d(nullptr, xd, wd, Tensor(), 2, 1);
    err[p == Precision::tf32] = cgtest::compare(y, ref, 1, 1).rel_l2();
    const cuda::ConvPlan& plan = cuda::conv_plan(cuda::conv_geom("test", 4, 512, 8, 8, 1024, 4, 2, 1),
                                                 cuda::ConvPass::forward, cuda::ConvData::f32, xd.raw(), wd.raw());
    INFO(precision_name(p) << ": algorithm " << plan.algo << " math " << int(plan.math));
    if (p == Precision::fp32) CHECK(plan.math == CUDNN_FMA_MATH);
    CHECK(plan.math != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION);
  }
  INFO("rel_l2 against the CPU: fp32 " << err[0] << ", tf32 " << err[1]);
  CHECK(err[0] < 1e-6);  // FP32 rounding only
  CHECK(err[1] > 2e-6);  // TF32's 10-bit operands show: tensor cores ran
  CHECK(err[1] < 2e-3);
  CHECK(cuda::conv_plan_stats().measured > 0);  // the default chooses by measuring
#endif
}
