// The machine half of the provenance (see provenance.h); the build half is generated.
#include "base/provenance.h"

#include <unistd.h>

#include <ctime>
#include <fstream>

#include "base/omp_env.h"

namespace cg {

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  return "unknown";
}

int cpus_online() {
  const long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? int(n) : 1;
}

int cpus_usable() { return covergan_usable_cpus("/proc/self/cgroup", "/sys/fs/cgroup", nullptr, nullptr); }

std::string load_average() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  if (!(f >> a >> b >> c)) return "unknown";
  return a + " " + b + " " + c;
}

double load_average_1min() {
  std::ifstream f("/proc/loadavg");
  double a = -1;
  f >> a;
  return a;
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Facts provenance() {
  const BuildInfo& b = build_info();
  return {{"commit", b.commit},
          {"dirty", b.dirty ? "true" : "false"},
          {"compiler", b.compiler},
          {"flags", b.flags},
          {"build_type", b.build_type},
          {"cpu_model", cpu_model()},
          {"cpus_online", std::to_string(cpus_online())},
          {"cpus_usable", std::to_string(cpus_usable())},
          {"load_average", load_average()},
          {"date", utc_now()}};
}

}  // namespace cg
