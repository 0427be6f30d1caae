// Helpers for the AC-GAN tests (see gan_util.h).
#include "gan_util.h"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

#include <doctest/doctest.h>

#include "data/dataset.h"
#include "engine/safetensors.h"
#include "support/check.h"
#include "support/paths.h"

namespace gantest {

void write_striped_dataset(const std::string& path, int64_t n, int size, const std::vector<std::string>& genres,
                           uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  const int K = genres.empty() ? 2 : int(genres.size());
  std::vector<uint8_t> px(size_t(n) * size_t(size) * size_t(size) * 3);
  std::vector<int32_t> labels(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int g = int(i % K);
    labels[size_t(i)] = genres.empty() ? -1 : g;
    const double phase = u(rng) * 6.283, freq = 0.6 + 0.5 * u(rng);
    const bool vertical = g % 2 == 1;
    const double hue[4][3] = {{1.0, 0.15, 0.1}, {0.1, 0.2, 0.9}, {0.1, 0.9, 0.2}, {0.9, 0.9, 0.1}};
    const double bright = g % 2 == 0 ? 1.0 : 0.55;
    for (int y = 0; y < size; ++y)
      for (int x = 0; x < size; ++x) {
        const double t = 0.5 + 0.5 * std::sin((vertical ? x : y) * freq + phase);
        for (int c = 0; c < 3; ++c) {
          const double v = 255.0 * bright * (0.15 + 0.85 * t * hue[g % 4][c]) + 12.0 * (u(rng) - 0.5);
          px[((size_t(i) * size_t(size) + size_t(y)) * size_t(size) + size_t(x)) * 3 + size_t(c)] =
              uint8_t(std::lround(std::fmin(255.0, std::fmax(0.0, v))));
        }
      }
  }
  cg::data::DatasetInfo info;
  info.size = size;
  info.channels = 3;
  info.genres = genres;
  info.count = n;
  cg::data::write_dataset(path, info, px.data(), labels);
}

CliResult run_covergan(const std::string& args) {
  return cgtest::run_shell(cgtest::shell_quote(cgtest::binary_dir() + "/covergan") + " " + args + " 2>&1");
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

cg::gan::TrainResult train_for(cg::gan::TrainConfig c, const std::string& out, int64_t steps, bool resume,
                               bool force) {
  c.steps = steps;
  cg::gan::TrainOptions o;
  o.out = out, o.quiet = true, o.handle_signals = false, o.resume = resume, o.force = force;
  if (resume) o.overrides = {{"steps", steps}};
  return cg::gan::train(c, o);
}

void check_same_checkpoint(const std::string& a, const std::string& b) {
  const cg::SafeTensors x = cg::load_safetensors(a), y = cg::load_safetensors(b);
  REQUIRE(x.tensors.size() == y.tensors.size());
  for (const auto& [name, t] : x.tensors) {
    INFO(name);
    CHECK_CLOSE_T(t, y.tensors.at(name), 0, 0);
  }
}

}  // namespace gantest
