// Training gives the same bits whatever the number of threads and the pool's mode: the
// CPU kernels' chunks write disjoint outputs, each summed in an order fixed by the
// shapes, so a run on a laptop, a 2-core CI machine or a machine sized down by a cgroup
// quota (base/omp_env.h) trains the same model. Also the start-up settings' CPU count from a cgroup tree.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include "base/omp_env.h"
#include "gan/profile.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/threads.h"
#include "support/check.h"
#include "support/temp_dir.h"

using namespace cg;
using namespace cg::gan;

namespace {

struct Result {
  std::vector<double> g, d, losses;
};

// Two iterations of a 32x32 model from a fixed seed on n threads; every weight and loss.
Result train_on(int threads, int64_t batch) {
  const int prev = cpu::set_compute_threads(threads);
  ModelConfig m;
  m.image_size = 32;
  m.base_channels = 8;
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

void write(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

}  // namespace

TEST_CASE("a training iteration is bit-identical on 1 to 4 threads, with the pool alone or shared") {
  const bool was_shared = cpu::pool_shared();
  for (int64_t batch : {3, 8}) {  // an odd batch leaves one thread more samples
    cpu::set_pool_shared(false);
    const Result one = train_on(1, batch);
    for (int t : {2, 3, 4, -2, -4}) {  // negative: that many threads in shared mode (finer chunks)
      INFO("batch " << batch << ", " << t << " threads against 1 (negative: shared mode)");
      cpu::set_pool_shared(t < 0);
      const Result r = train_on(std::abs(t), batch);
      CHECK(r.losses == one.losses);
      size_t g_diff = 0, d_diff = 0;
      for (size_t i = 0; i < r.g.size(); ++i) g_diff += r.g[i] != one.g[i];
      for (size_t i = 0; i < r.d.size(); ++i) d_diff += r.d[i] != one.d[i];
      CHECK(g_diff == 0);
      CHECK(d_diff == 0);
    }
  }
  cpu::set_pool_shared(was_shared);
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
