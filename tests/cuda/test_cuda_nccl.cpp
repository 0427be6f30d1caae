// The GPU half of data-parallel training on one GPU (a test machine has one): an NCCL
// communicator of one rank and its all-reduce on the training stream (sum and mean of
// floats and doubles, watched by an event), and the synchronised batch norm's CUDA
// kernels against the CPU ones, forward and backward. Skipped without a GPU, and without
// NCCL in the build; the multi-rank cases are tests/dist (CPU ranks under mpirun).
#include <cmath>

#include "engine/comm.h"
#include "engine/comm_nccl.h"
#include "layers/batchnorm2d.h"
#include "layers/batchnorm2d_sync.h"
#include "support/check.h"
#include "support/skip.h"

using namespace cg;

TEST_CASE("NCCL all-reduce over one rank on the training stream") {
  CG_SKIP_WITHOUT_CUDA();
  if constexpr (!kNcclBuilt) {
    CG_SKIP("this build has no NCCL (nccl.h was not found beside CUDA)");
  } else {
    std::string id(128, '\0');
    nccl::unique_id(id.data());
    void* comm = nccl::init(id.data(), 0, 1);
    std::mt19937 rng(3);
    const Tensor host = cgtest::random_tensor(Shape{1000}, rng, 5.0, DType::f32);
    for (bool mean : {false, true}) {
      Tensor d = host.to(Device::cuda);
      nccl::allreduce(comm, d.raw(), d.numel(), /*f64=*/false, mean);
      void* ev = nccl::record_event();
      REQUIRE(ev != nullptr);
      device_synchronize(Device::cuda);
      CHECK(nccl::event_done(ev));
      nccl::event_destroy(ev);
      CHECK(d.to(Device::cpu).to_vector() == host.to_vector());  // one rank: the sum and the mean are the values
    }
    // Doubles (the synchronised batch norm's sums) as raw device bytes.
    std::vector<double> v{1.25, -3.5, 1e300};
    Tensor bytes = Tensor::empty(Shape{int64_t(8 * v.size())}, DType::u8, Device::cuda);
    device_copy(bytes.raw(), Device::cuda, v.data(), Device::cpu, 8 * v.size());
    nccl::allreduce(comm, bytes.raw(), int64_t(v.size()), /*f64=*/true, false);
    std::vector<double> back(v.size());
    device_copy(back.data(), Device::cpu, bytes.raw(), Device::cuda, 8 * v.size());
    CHECK(back == v);
    nccl::destroy(comm);
  }
}

TEST_CASE("synchronised batch norm on CUDA matches the CPU forward and backward") {
  CG_SKIP_WITHOUT_CUDA();
  for (double slope : {1.0, 0.2}) {
    CAPTURE(slope);
    std::mt19937 rng(7);
    const Shape s{8, 64, 8, 8};
    const Tensor x = cgtest::random_tensor(s, rng, 2.0, DType::f32), dy = cgtest::random_tensor(s, rng, 1.0, DType::f32);
    const Tensor g = cgtest::random_tensor(Shape{64}, rng, 1.0, DType::f32);
    const Tensor b = cgtest::random_tensor(Shape{64}, rng, 1.0, DType::f32);
    struct Out {
      std::vector<double> y, dx, dg, db, rm, rv;
    };
    auto run = [&](Device dev, bool sync) {
      Tensor xi = x.to(dev).clone(), gi = g.to(dev).clone(), bi = b.to(dev).clone();
      for (Tensor* t : {&xi, &gi, &bi}) t->set_requires_grad(true);
      Tensor rm = Tensor::zeros(Shape{64}, DType::f32, dev), rv = Tensor::full(Shape{64}, 1.0, DType::f32, dev);
      SyncBatchNormScope scope(sync ? &Comm::world() : nullptr);
      Tape tape;
      const Tensor y = batch_norm2d_act(&tape, xi, gi, bi, rm, rv, true, 0.1, 1e-5, slope);
      tape.backward(y, dy.to(dev));
      return Out{y.to_vector(), xi.grad().to_vector(), gi.grad().to_vector(), bi.grad().to_vector(), rm.to_vector(),
                 rv.to_vector()};
    };
    const Out cpu = run(Device::cpu, true), gpu = run(Device::cuda, true), cudnn = run(Device::cuda, false);
    CHECK_CLOSE_T(gpu.y, cpu.y, 1e-5, 1e-4);
    CHECK_CLOSE_T(gpu.dx, cpu.dx, 1e-5, 1e-3);
    CHECK_CLOSE_T(gpu.dg, cpu.dg, 1e-4, 1e-3);
    CHECK_CLOSE_T(gpu.db, cpu.db, 1e-4, 1e-3);
    CHECK_CLOSE_T(gpu.rm, cpu.rm, 1e-6, 1e-5);
    CHECK_CLOSE_T(gpu.rv, cpu.rv, 1e-6, 1e-5);
    CHECK_CLOSE_T(gpu.y, cudnn.y, 1e-5, 1e-4);  // and against cuDNN's batch norm
    CHECK_CLOSE_T(gpu.dx, cudnn.dx, 1e-5, 1e-3);
  }
}
