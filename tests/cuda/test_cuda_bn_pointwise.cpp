// CUDA against the CPU reference (both float) for BatchNorm2d (cuDNN), the
// activations, the losses and the shape ops: forward values, every input
// gradient, BatchNorm's running statistics, and accumulation into existing
// gradients. Shapes include the paper's (e.g. BN on (8,256,16,16), (8,1024,4,4)).
#include <cmath>
#include <functional>

#include "engine/params.h"
#include "layers/activations.h"
#include "layers/batchnorm2d.h"
#include "layers/losses.h"
#include "layers/shape_ops.h"
#include "support/check.h"
#include "support/skip.h"

using namespace cg;

namespace {

using OpFn = std::function<Tensor(Tape*, std::vector<Tensor>&)>;

struct Run {
  Tensor out;
  std::vector<Tensor> grads;   // undefined where no gradient was asked for
  std::vector<Tensor> inputs;  // after the op (BatchNorm's running statistics move)
};

// Copies the host inputs to dev, runs f on a tape `passes` times (each pass adds into
// the same gradients) seeding the output with seed (undefined: a scalar output, seeded 1).
Run run_on(Device dev, const OpFn& f, const std::vector<Tensor>& host, const std::vector<bool>& needs_grad,
           const Tensor& seed, int passes = 1) {
  std::vector<Tensor> ins;
  for (size_t i = 0; i < host.size(); ++i) {
    Tensor t = host[i].to(dev);
    if (t.same(host[i])) t = t.clone();  // the CPU run must not share state with the caller's tensors
    t.set_requires_grad(needs_grad[i]);
    ins.push_back(t);
  }
  Run r;
  for (int p = 0; p < passes; ++p) {
    Tape tape;
    Tensor out = f(&tape, ins);
    tape.backward(out, seed.defined() ? seed.to(dev) : Tensor());
    r.out = out.to(Device::cpu);
  }
  for (size_t i = 0; i < ins.size(); ++i) {
    r.grads.push_back(needs_grad[i] ? ins[i].grad().to(Device::cpu) : Tensor());
    r.inputs.push_back(ins[i].to(Device::cpu));
  }
  return r;
}

// Runs f on the CPU and on CUDA and compares the output and every gradient; grad_atol
// holds one absolute tolerance per input, or a single one for all.
Run compare_devices(const OpFn& f, const std::vector<Tensor>& host, const std::vector<bool>& needs_grad,
                    const Tensor& seed, double atol, double rtol, const std::vector<double>& grad_atol,
                    int passes = 1) {
  const Run c = run_on(Device::cpu, f, host, needs_grad, seed, passes);
  const Run g = run_on(Device::cuda, f, host, needs_grad, seed, passes);
  CHECK_CLOSE_T(g.out, c.out, atol, rtol);
  for (size_t i = 0; i < host.size(); ++i) {
    if (!needs_grad[i]) continue;
    INFO("gradient of input " << i);
    CHECK_CLOSE_T(g.grads[i], c.grads[i], grad_atol.size() == 1 ? grad_atol[0] : grad_atol.at(i), rtol);
  }
  for (size_t i = 0; i < host.size(); ++i) {
    if (needs_grad[i] || host[i].dtype() != DType::f32) continue;
    INFO("input " << i << " after the op");
    CHECK_CLOSE_T(g.inputs[i], c.inputs[i], atol, rtol);
  }
  return g;
}

// BatchNorm: dx is O(1) per element; dgamma, dbeta are sums over N*H*W float terms.
const std::vector<double> kBnGradAtol = {2e-5, 1e-3, 1e-3, 0, 0};

Tensor rnd(Shape s, std::mt19937& rng, double scale = 1.0, double shift = 0.0) {
  Tensor t = cgtest::random_tensor(s, rng, scale, DType::f32);
  if (shift != 0.0) t.add_(Tensor::full(s, shift, DType::f32));
  return t;
}

}  // namespace

TEST_CASE("cuda batch_norm2d training matches the CPU: output, gradients, running statistics") {
  CG_SKIP_WITHOUT_CUDA();
  for (const Shape& s : {Shape{8, 256, 16, 16}, Shape{8, 1024, 4, 4}, Shape{3, 5, 7, 3}, Shape{1, 3, 2, 2},
                         Shape{16, 6}, Shape{128, 1024, 4, 4}}) {
    INFO("shape " << s.str());
    std::mt19937 rng(static_cast<uint32_t>(s.numel()));
    const int64_t C = s[1];
    std::vector<Tensor> in = {rnd(s, rng, 2.0, 0.5), rnd(Shape{C}, rng, 1.0, 1.0), rnd(Shape{C}, rng),
                              rnd(Shape{C}, rng, 0.3), rnd(Shape{C}, rng, 0.3, 1.0)};
    OpFn f = [](Tape* t, std::vector<Tensor>& x) { return batch_norm2d(t, x[0], x[1], x[2], x[3], x[4], true); };
    // Two passes: running statistics move twice and the gradients accumulate (cuDNN's beta = 1).
    compare_devices(f, in, {true, true, true, false, false}, rnd(s, rng), 2e-5, 1e-4, kBnGradAtol, 2);
  }
}

TEST_CASE("cuda batch_norm2d backward with frozen parameters or a frozen input") {
  CG_SKIP_WITHOUT_CUDA();
  std::mt19937 rng(9);
  const Shape s{4, 32, 8, 8};
  std::vector<Tensor> in = {rnd(s, rng, 1.5), rnd(Shape{32}, rng, 1.0, 1.0), rnd(Shape{32}, rng)};
  OpFn f = [](Tape* t, std::vector<Tensor>& x) { return batch_norm2d(t, x[0], x[1], x[2], Tensor(), Tensor(), true); };
  const Tensor dy = rnd(s, rng);
  compare_devices(f, in, {true, false, false}, dy, 2e-5, 1e-4, kBnGradAtol);  // the G step through D's BN
  compare_devices(f, in, {false, true, true}, dy, 2e-5, 1e-4, kBnGradAtol);
  compare_devices(f, in, {false, true, false}, dy, 2e-5, 1e-4, kBnGradAtol);
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

TEST_CASE("cuda batch_norm2d eval mode matches the CPU, forward and backward") {
  CG_SKIP_WITHOUT_CUDA();
  for (const Shape& s : {Shape{8, 256, 16, 16}, Shape{2, 7, 3, 5}, Shape{1, 4, 1, 1}, Shape{5, 9}}) {
    INFO("shape " << s.str());
    std::mt19937 rng(static_cast<uint32_t>(s.numel() + 1));
    const int64_t C = s[1];
    std::vector<Tensor> in = {rnd(s, rng, 2.0), rnd(Shape{C}, rng, 1.0, 1.0), rnd(Shape{C}, rng),
                              rnd(Shape{C}, rng, 0.5), rnd(Shape{C}, rng, 0.4, 1.0)};
    OpFn f = [](Tape* t, std::vector<Tensor>& x) { return batch_norm2d(t, x[0], x[1], x[2], x[3], x[4], false); };
    compare_devices(f, in, {true, true, true, false, false}, rnd(s, rng), 2e-5, 1e-4, kBnGradAtol, 2);
  }
}

TEST_CASE("cuda batch_norm2d_act (BN + ReLU/LeakyReLU fused) matches the CPU and the unfused ops on the GPU") {
  CG_SKIP_WITHOUT_CUDA();
  for (bool training : {true, false})
    for (double slope : {0.0, 0.2}) {
      INFO((training ? "training" : "eval") << " slope " << slope);
      auto fused = [training, slope](Tape* t, std::vector<Tensor>& x) {
        return batch_norm2d_act(t, x[0], x[1], x[2], x[3], x[4], training, 0.1, 1e-5, slope);
      };
      auto unfused = [training, slope](Tape* t, std::vector<Tensor>& x) {
        const Tensor y = batch_norm2d(t, x[0], x[1], x[2], x[3], x[4], training);
        return slope == 0.0 ? relu(t, y) : leaky_relu(t, y, slope);
      };
      // Against the CPU on small shapes: a normalised value within rounding of 0 could take
      // the other branch on the other device, which is improbable with a few hundred values.
      for (const Shape& s : {Shape{3, 5, 7, 3}, Shape{16, 6}, Shape{2, 8, 4, 4}}) {
        INFO("shape " << s.str());
        std::mt19937 rng(static_cast<uint32_t>(s.numel() + 5));
        const int64_t C = s[1];
        std::vector<Tensor> in = {rnd(s, rng, 2.0, 0.5), rnd(Shape{C}, rng, 1.0, 1.0), rnd(Shape{C}, rng),
                                  rnd(Shape{C}, rng, 0.3), rnd(Shape{C}, rng, 0.3, 1.0)};
        compare_devices(fused, in, {true, true, true, false, false}, rnd(s, rng), 2e-5, 1e-4, kBnGradAtol, 2);
      }
      // At the paper's shapes, against the unfused ops on the same GPU (same cuDNN statistics).
      for (const Shape& s : {Shape{8, 256, 16, 16}, Shape{128, 1024, 4, 4}}) {
        INFO("shape " << s.str());
        std::mt19937 rng(static_cast<uint32_t>(s.numel() + 6));
        const int64_t C = s[1];
        std::vector<Tensor> in = {rnd(s, rng, 2.0, 0.5), rnd(Shape{C}, rng, 1.0, 1.0), rnd(Shape{C}, rng),
                                  rnd(Shape{C}, rng, 0.3), rnd(Shape{C}, rng, 0.3, 1.0)};
        const Tensor dy = rnd(s, rng);
        const std::vector<bool> needs{true, true, true, false, false};
        const Run a = run_on(Device::cuda, fused, in, needs, dy), b = run_on(Device::cuda, unfused, in, needs, dy);
        CHECK_CLOSE_T(a.out, b.out, 1e-6, 1e-6);
        for (size_t i = 0; i < 3; ++i) CHECK_CLOSE_T(a.grads[i], b.grads[i], 1e-5, 1e-5);
        CHECK_CLOSE_T(a.inputs[3], b.inputs[3], 1e-6, 1e-6);
      }
    }
}

TEST_CASE("cuda activations match the CPU, forward and backward") {
  CG_SKIP_WITHOUT_CUDA();
  const std::vector<std::pair<const char*, OpFn>> ops = {
      {"relu", [](Tape* t, std::vector<Tensor>& x) { return relu(t, x[0]); }},
      {"leaky_relu", [](Tape* t, std::vector<Tensor>& x) { return leaky_relu(t, x[0], 0.2); }},
      {"tanh", [](Tape* t, std::vector<Tensor>& x) { return cg::tanh(t, x[0]); }},
      {"sigmoid", [](Tape* t, std::vector<Tensor>& x) { return cg::sigmoid(t, x[0]); }},
  };
  for (const auto& op : ops)
    for (const Shape& s : {Shape{8, 128, 32, 32}, Shape{8, 3, 64, 64}, Shape{3, 5, 7}, Shape{1}}) {
      const char* name = op.first;  // not a structured binding: INFO's lambda captures it (clang)
      const OpFn& f = op.second;
      INFO(name << " shape " << s.str());
      std::mt19937 rng(static_cast<uint32_t>(s.numel()));
      const Tensor x = rnd(s, rng, 6.0);
      compare_devices(f, {x}, {true}, rnd(s, rng), 1e-6, 1e-5, {1e-6}, 2);
    }
}

TEST_CASE("cuda losses match the CPU, value and gradient, with an upstream gradient") {
  CG_SKIP_WITHOUT_CUDA();
  for (int64_t N : {1, 7, 128, 4096}) {
    INFO("batch " << N);
    std::mt19937 rng(static_cast<uint32_t>(N));
    const int64_t K = 5;
    std::vector<int32_t> lab;
    for (int64_t i = 0; i < N; ++i) lab.push_back(static_cast<int32_t>((i * 3 + 1) % K));
    // logits (N,1) and soft targets (N); genre logits (N,K) and labels; codes (N,2) and targets.
    std::vector<Tensor> in = {rnd(Shape{N, 1}, rng, 20.0), rnd(Shape{N}, rng, 0.5, 0.5), rnd(Shape{N, K}, rng, 10.0),
                              Tensor::from_labels(lab), rnd(Shape{N, 2}, rng), rnd(Shape{N, 2}, rng)};
    OpFn f = [](Tape* t, std::vector<Tensor>& x) {
      return weighted_sum(t, {bce_with_logits(t, x[0], x[1]), cross_entropy(t, x[2], x[3]), mse(t, x[4], x[5])},
                          {1.5, 0.75, 2.0});
    };
    compare_devices(f, in, {true, false, true, false, true, false}, Tensor(), 1e-6, 1e-4, {1e-7}, 2);
  }
  // One loss each over many elements: the cuBLAS reduction against the CPU's double sum.
  std::mt19937 rng(77);
  const Shape big{8, 3, 64, 64};
  OpFn fm = [](Tape* t, std::vector<Tensor>& x) { return mse(t, x[0], x[1]); };
  compare_devices(fm, {rnd(big, rng), rnd(big, rng)}, {true, false}, Tensor(), 1e-6, 1e-4, {1e-9});
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

TEST_CASE("cuda shape ops match the CPU: reshape, concat, weighted_sum") {
  CG_SKIP_WITHOUT_CUDA();
  std::mt19937 rng(5);
  OpFn fr = [](Tape* t, std::vector<Tensor>& x) { return reshape(t, x[0], Shape{128, 1024, 4, 4}); };
  compare_devices(fr, {rnd(Shape{128, 16384}, rng)}, {true}, rnd(Shape{128, 1024, 4, 4}, rng), 0, 0, {0});
  OpFn ffl = [](Tape* t, std::vector<Tensor>& x) { return flatten(t, x[0]); };
  compare_devices(ffl, {rnd(Shape{8, 1024, 4, 4}, rng)}, {true}, rnd(Shape{8, 16384}, rng), 0, 0, {0});
  // The generator's input: [one-hot genre | codes | noise], and a 4-D concat with a repeated input.
  OpFn fc = [](Tape* t, std::vector<Tensor>& x) { return concat(t, {x[0], x[1], x[2]}); };
  compare_devices(fc, {rnd(Shape{128, 5}, rng), rnd(Shape{128, 2}, rng), rnd(Shape{128, 93}, rng)},
                  {false, true, true}, rnd(Shape{128, 100}, rng), 0, 0, {0}, 2);
  OpFn fc4 = [](Tape* t, std::vector<Tensor>& x) { return concat(t, {x[0], x[1], x[0]}); };
  compare_devices(fc4, {rnd(Shape{3, 4, 5, 7}, rng), rnd(Shape{3, 1, 5, 7}, rng)}, {true, true},
                  rnd(Shape{3, 9, 5, 7}, rng), 0, 0, {0});
  OpFn fw = [](Tape* t, std::vector<Tensor>& x) { return weighted_sum(t, {x[0], x[1], x[0]}, {0.5, -2.0, 1.5}); };
  compare_devices(fw, {rnd(Shape{4, 3, 8, 8}, rng), rnd(Shape{4, 3, 8, 8}, rng)}, {true, true},
                  rnd(Shape{4, 3, 8, 8}, rng), 1e-7, 1e-6, {1e-7});
}
