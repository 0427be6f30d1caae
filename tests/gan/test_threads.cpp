// Training gives the same bits whatever the number of threads and the pool's mode: the
// CPU kernels' chunks write disjoint outputs, each summed in an order fixed by the
// shapes, so a run on a laptop, a 2-core CI machine or a machine sized down by a cgroup
// quota (base/omp_env.h) trains the same model. Also the start-up settings' CPU count from a cgroup tree.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "base/omp_env.h"
#include "gan/profile.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/threads.h"
#include "layers/conv2d.h"
#include "layers/batchnorm2d.h"
#include "layers/conv_transpose2d.h"
#include "support/check.h"
#include "support/temp_dir.h"

using namespace cg;
using namespace cg::gan;

namespace {

struct Result {
  std::vector<double> g, d, losses;
};

// Two iterations of a 32x32 model from a fixed seed on n threads; every weight and loss.
Result train_on(int threads, int64_t batch, int base = 8) {
  const int prev = cpu::set_compute_threads(threads);
  ModelConfig m;
  m.image_size = 32;
  m.base_channels = base;
  IterationRig rig(m, batch, Device::cpu, 7);
  Result r;
  for (int i = 0; i < 2; ++i) {
    const StepStats st = rig.step();
    r.losses.insert(r.losses.end(), {st.d_total, st.g_total, st.d_real, st.d_fake});
  }
  r.g = rig.G->params().flat().to_vector();
  r.d = rig.D->params().flat().to_vector();
  cpu::set_compute_threads(prev);
  return r;
}

// The pool's mode and thread count as a test found them, restored when it ends.
struct PoolState {
  bool shared = cpu::pool_shared();
  int threads = cpu::compute_threads();
  ~PoolState() {
    cpu::set_pool_shared(shared);
    cpu::set_compute_threads(threads);
  }
};

// r trained the same model as ref: the same losses, every weight the same bits.
void check_same_training(const Result& r, const Result& ref) {
  CHECK(r.losses == ref.losses);
  size_t g_diff = 0, d_diff = 0;
  for (size_t i = 0; i < r.g.size(); ++i) g_diff += r.g[i] != ref.g[i];
  for (size_t i = 0; i < r.d.size(); ++i) d_diff += r.d[i] != ref.d[i];
  CHECK(g_diff == 0);
  CHECK(d_diff == 0);
}

void write(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

}  // namespace

TEST_CASE("a training iteration is bit-identical on 1 to 4 threads, with the pool alone or shared") {
  const PoolState restore;
  // base 8 with an odd batch leaves one thread more samples; the demo's size (base 32,
  // batch 32) is big enough that its linear layers split their products over the pool
  // (gemm.cpp): with blocks cut by the thread count and mode, OpenBLAS rounded some
  // elements differently, and a run beside a busy program drifted from the same run alone.
  for (auto [base, batch] : {std::pair{8, int64_t(3)}, {8, int64_t(8)}, {32, int64_t(32)}}) {
    cpu::set_pool_shared(false);
    const Result one = train_on(1, batch, base);
    for (int t : {2, 3, 4, -2, -4}) {  // negative: that many threads in shared mode (finer chunks)
      INFO("base " << base << ", batch " << batch << ", " << t << " threads against 1 (negative: shared mode)");
      cpu::set_pool_shared(t < 0);
      check_same_training(train_on(std::abs(t), batch, base), one);
    }
  }
}

TEST_CASE("usable CPUs: the affinity mask capped by the tightest cgroup quota on the way up") {
  cgtest::TempDir dir("cgroup");
  const auto root = dir.path();
  int affinity = 0;
  double quota = -1;
  // cgroup v2: the group allows 1.5 CPUs, its parent 4: two threads (rounded up).
  write(root / "proc_v2", "0::/app/job\n");
  write(root / "fs/app/cpu.max", "400000 100000\n");
  write(root / "fs/app/job/cpu.max", "150000 100000\n");
  const int n = covergan_usable_cpus((root / "proc_v2").c_str(), (root / "fs").c_str(), &affinity, &quota);
  CHECK(quota == doctest::Approx(1.5));
  CHECK(n == std::min(affinity, 2));
  // "max": no quota; the affinity mask alone.
  write(root / "fs/app/job/cpu.max", "max 100000\n");
  write(root / "fs/app/cpu.max", "max 100000\n");
  CHECK(covergan_usable_cpus((root / "proc_v2").c_str(), (root / "fs").c_str(), nullptr, &quota) == affinity);
  CHECK(quota == 0);
  // cgroup v1: the cpu controller's own hierarchy; a quota of 1 CPU.
  write(root / "proc_v1", "5:cpuset:/\n4:cpu,cpuacct:/docker/abc\n0::/\n");
  write(root / "v1/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "100000\n");
  write(root / "v1/cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n");
  write(root / "v1/cpu,cpuacct/cpu.cfs_quota_us", "-1\n");
  write(root / "v1/cpu,cpuacct/cpu.cfs_period_us", "100000\n");
  CHECK(covergan_usable_cpus((root / "proc_v1").c_str(), (root / "v1").c_str(), nullptr, &quota) == 1);
  CHECK(quota == doctest::Approx(1.0));
  // No readable cgroup: the affinity mask.
  CHECK(covergan_usable_cpus((root / "missing").c_str(), (root / "fs").c_str(), nullptr, nullptr) == affinity);
  CHECK(affinity >= 1);
}

TEST_CASE("beside other programs the pool shares at once, and goes back alone after two quiet measurements") {
  cpu::SharedModeRule r;
  CHECK_FALSE(r.update(0.0));
  CHECK_FALSE(r.update(0.2));  // a desktop's background work: stay alone
  CHECK(r.update(0.67));       // one busy loop beside two threads on two CPUs
  CHECK(r.update(0.1));        // one quiet measurement is not enough
  CHECK(r.update(0.5));        // busy again: the count starts over
  CHECK(r.update(0.0));
  CHECK_FALSE(r.update(0.0));  // two quiet ones in a row
  CHECK(r.update(7.5));
}

TEST_CASE("the OpenMP wait policy is set before the runtime starts and then leaves the environment") {
  const int applied = covergan_omp_env_applied();
  cpu::configure_threads();
  if (applied & 1) {  // the test was started without OMP_WAIT_POLICY / GOMP_SPINCOUNT of its own
    CHECK(std::getenv("GOMP_SPINCOUNT") == nullptr);  // removed again once libgomp had read it
    CHECK(cpu::wait_policy().find("spin " COVERGAN_GOMP_SPINCOUNT " then sleep") == 0);
  } else {
    const std::string w = cpu::wait_policy();
    CHECK((w.find("environment") != std::string::npos || w.find("COVERGAN_OMP_DEFAULTS") != std::string::npos));
  }
  const std::string summary = cpu::thread_summary();
  CHECK(summary.find("OpenMP " + cpu::wait_policy()) != std::string::npos);
  CHECK(summary.find(" threads (") != std::string::npos);
}

namespace {

Tensor uniform_tensor(Shape s, uint64_t seed) {
  Tensor t = Tensor::empty(s);
  Philox r(seed);
  r.uniform(t, -1.0, 1.0);
  return t;
}

// One op forward and backward (a seeded upstream gradient) on fresh leaf copies of its
// inputs: the output and every input's gradient.
template <class Op>
std::vector<std::vector<double>> run_op(const std::vector<Tensor>& inputs, const Op& op) {
  std::vector<Tensor> xs;
  for (const Tensor& t : inputs) {
    xs.push_back(t.clone());
    xs.back().set_requires_grad(true);
  }
  Tape tape;
  const Tensor y = op(&tape, xs);
  tape.backward(y, uniform_tensor(y.shape(), 99));
  std::vector<std::vector<double>> out{y.to_vector()};
  for (const Tensor& x : xs) out.push_back(x.grad().to_vector());
  return out;
}

// f() (every result it wants compared) on two threads, alone and then shared: the same bits.
template <class F>
void check_alone_equals_shared(const F& f) {
  const PoolState restore;
  cpu::set_compute_threads(2);
  cpu::set_pool_shared(false);
  const std::vector<std::vector<double>> alone = f();
  cpu::set_pool_shared(true);
  const std::vector<std::vector<double>> shared = f();
  REQUIRE(alone.size() == shared.size());
  for (size_t i = 0; i < alone.size(); ++i) {
    INFO("result " << i);
    CHECK(alone[i] == shared[i]);
  }
}

}  // namespace

TEST_CASE("each convolution of the 32x32 model at base 32 batch 32 gives the same bits alone and shared") {
  struct Case {
    const char* name;
    Shape x, w;
    bool transposed;
  };
  for (const Case& c : {Case{"D.conv1", Shape{32, 3, 32, 32}, Shape{32, 3, 4, 4}, false},
                        Case{"D.conv2", Shape{32, 32, 16, 16}, Shape{64, 32, 4, 4}, false},
                        Case{"D.conv3", Shape{32, 64, 8, 8}, Shape{128, 64, 4, 4}, false},
                        Case{"G.deconv1", Shape{32, 128, 4, 4}, Shape{128, 64, 4, 4}, true},
                        Case{"G.deconv2", Shape{32, 64, 8, 8}, Shape{64, 32, 4, 4}, true},
                        Case{"G.deconv3", Shape{32, 32, 16, 16}, Shape{32, 3, 4, 4}, true}}) {
    INFO(c.name);
    const std::vector<Tensor> in{uniform_tensor(c.x, 1), uniform_tensor(c.w, 2),
                                 uniform_tensor(Shape{c.transposed ? c.w[1] : c.w[0]}, 3)};  // x, w, bias
    check_alone_equals_shared([&] {
      return run_op(in, [&](Tape* t, const std::vector<Tensor>& v) {
        return c.transposed ? conv_transpose2d(t, v[0], v[1], v[2], 2, 1) : conv2d(t, v[0], v[1], v[2], 2, 1);
      });
    });
  }
}

TEST_CASE("batch norm with its activation at the 32x32 model's shapes gives the same bits alone and shared") {
  for (const Shape& s : {Shape{32, 256, 4, 4}, Shape{32, 128, 4, 4}, Shape{32, 64, 8, 8}, Shape{32, 32, 16, 16}}) {
    INFO(s.str());
    const std::vector<Tensor> in{uniform_tensor(s, 5), uniform_tensor(Shape{s[1]}, 6),
                                 uniform_tensor(Shape{s[1]}, 7)};  // x, gamma, beta
    check_alone_equals_shared([&] {
      Tensor rm = Tensor::zeros(Shape{s[1]}), rv = Tensor::full(Shape{s[1]}, 1.0);
      auto out = run_op(in, [&](Tape* t, const std::vector<Tensor>& v) {
        return batch_norm2d_act(t, v[0], v[1], v[2], rm, rv, true, 0.1, 1e-5, 0.2);
      });
      out.push_back(rm.to_vector());
      out.push_back(rv.to_vector());
      return out;
    });
  }
}
