// The profiling rig and `covergan train --profile N` (see profile.h).
#include "gan/profile.h"

#include <chrono>
#include <cstdio>
#include <thread>

#include "base/profile.h"
#include "base/provenance.h"
#include "data/roofline.h"
#include "engine/ceilings.h"
#include "engine/io_util.h"
#include "gan/spectral_target.h"
#include "kernels/cpu/threads.h"

namespace cg::gan {

double discriminator_forward_flops(const ModelConfig& m, int64_t batch) {
  double f = 0;
  int64_t cin = 3, s = m.image_size;
  for (int i = 0; i < m.n_layers(); ++i) {
    const int64_t cout = int64_t(m.base_channels) << i;
    s /= 2;
    f += 2.0 * double(cin * 16 * cout * s * s);
    cin = cout;
  }
  f += 2.0 * double(cin * 16 * (1 + m.num_genres + m.n_codes));  // the three heads
  return f * double(batch);
}

double generator_forward_flops(const ModelConfig& m, int64_t batch) {
  int64_t cin = m.top_channels(), s = 4;
  double f = 2.0 * double(m.z_dim * cin * 16);
  for (int i = 0; i < m.n_layers(); ++i) {
    const int64_t cout = i + 1 < m.n_layers() ? cin / 2 : 3;
    f += 2.0 * double(cin * 16 * cout * s * s);
    cin = cout;
    s *= 2;
  }
  return f * double(batch);
}

namespace {
double conv1_flops(const ModelConfig& m, int64_t batch) {
  return 2.0 * double(3 * 16 * m.base_channels) * double(m.image_size * m.image_size / 4) * double(batch);
}
double fc_flops(const ModelConfig& m, int64_t batch) {
  return 2.0 * double(m.z_dim * m.top_channels() * 16) * double(batch);
}

// D's code head on the real batch feeds no loss, so its backward (both GEMMs) never runs.
double real_code_head_backward_flops(const ModelConfig& m, int64_t batch) {
  return 2 * 2.0 * double(m.top_channels() * 16 * m.n_codes) * double(batch);
}
}  // namespace

double d_step_flops(const ModelConfig& m, int64_t batch) {
  return generator_forward_flops(m, batch) + 6 * discriminator_forward_flops(m, batch) - 2 * conv1_flops(m, batch) -
         real_code_head_backward_flops(m, batch);
}

double g_step_flops(const ModelConfig& m, int64_t batch) {
  return 2 * generator_forward_flops(m, batch) + 2 * discriminator_forward_flops(m, batch) - fc_flops(m, batch);
}

double iteration_flops(const ModelConfig& m, int64_t batch) { return d_step_flops(m, batch) + g_step_flops(m, batch); }

IterationRig::IterationRig(const ModelConfig& m, int64_t batch_, Device device_, uint64_t seed)
    : cfg(m), batch(batch_), device(device_), rng(seed) {
  cfg.validate();
  G = std::make_unique<Generator>(cfg, device);
  D = std::make_unique<Discriminator>(cfg, device);
  G->init(rng);
  D->init(rng);
  opt_g = std::make_unique<Adam>(G->params(), AdamConfig{1e-5, 0.5, 0.999, 1e-8});
  opt_d = std::make_unique<Adam>(D->params(), AdamConfig{2e-5, 0.5, 0.999, 1e-8});
  Tensor real = Tensor::empty(Shape{batch, 3, cfg.image_size, cfg.image_size});
  rng.uniform(real, -1.0, 1.0);
  b.real = real.to(device);
  std::vector<int32_t> labels(static_cast<size_t>(batch));
  for (auto& l : labels) l = int32_t(rng.next_below(cfg.num_genres));
  b.real_labels = Tensor::from_labels(labels, device);
}

void IterationRig::use_losses(const LossConfig& loss) {
  lc = loss;
  if (lc.spectral_weight > 0 && !lc.spectral_target.defined())
    lc.spectral_target = spectral_target_of(b.real, b.real_labels, cfg.num_genres, kSpectralEps);
}

StepStats IterationRig::step() {
  draw_latents(rng, cfg, batch, device, DType::f32, b);
  return train_step(*G, *D, *opt_g, *opt_d, b, lc);
}

std::string roofline_label(const prof::Group& g, const std::vector<prof::Group>& groups) {
  int same = 0;
  for (const prof::Group& o : groups) same += o.layer == g.layer && o.pass == g.pass;
  if (same < 2 || g.shape.size() < 2 || g.shape[0] != '(') return g.layer;
  return g.layer + " b" + g.shape.substr(1, g.shape.find_first_of(",)") - 1);
}

namespace {

std::string csv_header(const Facts& facts) {
  std::string h;
  for (const auto& [k, v] : facts) h += "# " + k + ": " + v + "\n";
  return h;
}

void write_roofline(const std::string& path, const DeviceCeilings& c, const std::string& title) {
  std::vector<data::RooflinePoint> pts;
  const std::vector<prof::Group> groups = prof::groups();
  for (const prof::Group& g : groups)
    if (g.flops > 0 && g.bytes > 0 && g.s > 0)
      pts.push_back({roofline_label(g, groups), g.pass, g.flops / g.bytes, g.flops / g.s / 1e9});
  data::write_roofline_png(path, pts, c.flops / 1e9, c.bytes / 1e9, title);
}

}  // namespace

// profile.csv (the provenance as leading # lines), roofline.png and the trace.
static void write_profile_files(const ModelConfig& m, int64_t batch, Device device, const ProfileOptions& o,
                                const DeviceCeilings& ceil, double it_s) {
  Facts facts = provenance();
  for (auto& f : ceiling_facts(ceil)) facts.push_back(f);
  facts.emplace_back("model", std::to_string(m.image_size) + "x" + std::to_string(m.image_size) + " base " +
                                  std::to_string(m.base_channels) + " batch " + std::to_string(batch));
  facts.emplace_back("device", device_name(device));
  facts.emplace_back("threads", cpu::thread_summary());
  facts.emplace_back("iteration_ms", std::to_string(it_s * 1e3));
  const std::string dir = o.dir.empty() ? "." : o.dir;
  const std::string csv_path = o.csv_path.empty() ? dir + "/profile.csv" : o.csv_path;
  write_file_atomic(csv_path, csv_header(facts) + prof::csv(o.iters, it_s, ceil.prof()), "the profile CSV");
  const std::string png = dir + "/roofline.png";
  char title[160];
  std::snprintf(title, sizeof title, "covergan roofline: %dx%d base %d batch %lld on %s", m.image_size, m.image_size,
                m.base_channels, static_cast<long long>(batch), device_name(device));
  write_roofline(png, ceil, title);
  std::printf("\nwrote %s and %s", csv_path.c_str(), png.c_str());
  if (!o.trace_path.empty()) {
    write_file_atomic(o.trace_path, prof::trace_json(), "the profile trace");
    std::printf(" and %s (%zu slices; open it in https://ui.perfetto.dev)", o.trace_path.c_str(), prof::trace_events());
  }
  std::printf("\n");
}

void profile_training(const ModelConfig& m, int64_t batch, Device device, const ProfileOptions& o) {
  CG_USER_CHECK(o.iters > 0, "--profile needs a positive number of iterations, got ", o.iters, ".");
  // Every file is written after the timing: a typo in a path fails now, not then.
  const std::string dir = o.dir.empty() ? "." : o.dir;
  check_writable(o.csv_path.empty() ? dir + "/profile.csv" : o.csv_path, "the profile CSV");
  check_writable(dir + "/roofline.png", "the roofline plot");
  if (!o.trace_path.empty()) check_writable(o.trace_path, "the profile trace");
  const double load = load_average_1min();
  std::printf("covergan profile: %dx%d, base %d, batch %lld, %s, %s; 1 warm-up + %lld iterations\n", m.image_size,
              m.image_size, m.base_channels, static_cast<long long>(batch), device_name(device),
              cpu::thread_summary().c_str(), static_cast<long long>(o.iters));
  std::fprintf(stderr, "covergan profile: measuring the %s's ceilings\n", device_name(device));
  const DeviceCeilings ceil = measure_ceilings(device, /*quick=*/true);
  const BuildInfo& bi = build_info();
  std::printf("build %.12s%s, %s; %s, %d CPUs usable; load average %s%s\n", bi.commit, bi.dirty ? " (dirty)" : "",
              bi.compiler, cpu_model().c_str(), cpus_usable(), load_average().c_str(),
              load > 0.5 * cpus_usable() ? " (busy: the times include waiting for the CPU)" : "");
  std::printf("ceilings: %s\n", describe(ceil).c_str());
  IterationRig rig(m, batch, device);
  rig.use_losses(o.loss);
  if (o.loss.spectral_weight > 0)
    std::printf("G's loss includes the spectral term (weight %g, rings from %d)\n", o.loss.spectral_weight,
                o.loss.spectral_first_ring);
  rig.step();  // first-touch pages, BLAS buffers, cuDNN algorithm choice
  device_synchronize(device);
  prof::start(device_sync_fn(device), !o.trace_path.empty());
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < o.iters; ++i) {
    rig.step();
    std::fprintf(stderr, "\rcovergan profile: iteration %lld/%lld", static_cast<long long>(i + 1),
                 static_cast<long long>(o.iters));
  }
  device_synchronize(device);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  prof::stop();
  std::fprintf(stderr, "\n");
  const double it_s = secs / double(o.iters), flops = iteration_flops(m, batch);
  std::printf("iteration %.2f ms, %.1f images/s, %.1f GFLOP/s = %.0f %% of the FLOP ceiling (%.3f GFLOP per "
              "iteration)%s\n\n",
              it_s * 1e3, double(batch) / it_s, flops / it_s / 1e9, ceil.flops > 0 ? 100 * flops / it_s / ceil.flops : 0,
              flops / 1e9, device == Device::cuda ? "; every scope synchronised, so slower than a plain run" : "");
  std::printf("per layer and pass, per iteration (ms: time inside it; FLOP/B: arithmetic intensity; %%FMA and %%BW: "
              "shares of the two ceilings)\n");
  std::fputs(prof::layer_table(o.iters, it_s, ceil.prof()).c_str(), stdout);
  std::printf("\n");
  std::fputs(prof::kernel_table(o.iters, it_s, ceil.prof()).c_str(), stdout);
  write_profile_files(m, batch, device, o, ceil, it_s);
}

}  // namespace cg::gan
