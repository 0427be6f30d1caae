// The profiling rig and `covergan train --profile N` (see profile.h).
#include "gan/profile.h"

#include <chrono>
#include <cstdio>
#include <thread>

#include "base/profile.h"
#include "kernels/cpu/threads.h"
#include "engine/io_util.h"

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
// Records in a Tape::dump_verbose text: one "#i op" line each.
size_t count_records(const std::string& dump) {
  size_t n = (dump.rfind('#', 0) == 0) ? 1 : 0;
  for (size_t p = dump.find("\n#"); p != std::string::npos; p = dump.find("\n#", p + 1)) ++n;
  return n;
}
}  // namespace

double d_step_flops(const ModelConfig& m, int64_t batch) {
  return generator_forward_flops(m, batch) + 6 * discriminator_forward_flops(m, batch) - 2 * conv1_flops(m, batch) -
         real_code_head_backward_flops(m, batch);
}

double g_step_flops(const ModelConfig& m, int64_t batch) {
  return 3 * generator_forward_flops(m, batch) + 2 * discriminator_forward_flops(m, batch) - fc_flops(m, batch);
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

StepStats IterationRig::step() {
  draw_latents(rng, cfg, batch, device, DType::f32, b);
  return train_step(*G, *D, *opt_g, *opt_d, b, lc);
}

void profile_training(const ModelConfig& m, int64_t batch, Device device, int64_t iters, const std::string& csv_path) {
  CG_USER_CHECK(iters > 0, "--profile needs a positive number of iterations, got ", iters, ".");
  IterationRig rig(m, batch, device);
  std::printf("covergan profile: %dx%d, base %d, batch %lld, %s, %s; 1 warm-up + %lld iterations\n", m.image_size,
              m.image_size, m.base_channels, static_cast<long long>(batch), device_name(device),
              cpu::thread_summary().c_str(), static_cast<long long>(iters));
  rig.step();  // first-touch pages, BLAS buffers, cuDNN algorithm choice
  device_synchronize(device);
  prof::start(device_sync_fn(device));
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < iters; ++i) {
    rig.step();
    std::fprintf(stderr, "\rcovergan profile: iteration %lld/%lld", static_cast<long long>(i + 1),
                 static_cast<long long>(iters));
  }
  device_synchronize(device);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  prof::stop();
  std::fprintf(stderr, "\n");
  const double it_s = secs / double(iters), flops = iteration_flops(m, batch);
  std::printf("iteration %.2f ms, %.1f images/s, %.1f GFLOP/s (%.3f GFLOP per iteration)%s\n\n", it_s * 1e3,
              double(batch) / it_s, flops / it_s / 1e9, flops / 1e9,
              device == Device::cuda ? "; every op synchronised, so the total is slower than a plain run" : "");
  std::fputs(prof::table(iters, it_s).c_str(), stdout);
  if (!csv_path.empty()) {
    write_file_atomic(csv_path, prof::csv(iters, it_s), "the profile CSV");
    std::printf("\nprofile CSV: %s\n", csv_path.c_str());
  }
}

void dump_training_tapes(const ModelConfig& m, int64_t batch, Device device) {
  IterationRig rig(m, batch, device);
  draw_latents(rig.rng, rig.cfg, batch, device, DType::f32, rig.b);
  StepStats st;
  std::string d_tape, g_tape;
  d_backward(*rig.G, *rig.D, rig.b, rig.lc, st, &d_tape);
  g_backward(*rig.G, *rig.D, rig.b, rig.lc, st, &g_tape);
  std::printf("covergan tape: %dx%d, base %d, batch %lld, %s; one iteration on random images\n"
              "(* marks a tensor that needs a gradient)\n\n",
              m.image_size, m.image_size, m.base_channels, static_cast<long long>(batch), device_name(device));
  std::printf("== D step (%zu records) ==\n%s\n== G step (%zu records) ==\n%s", count_records(d_tape),
              d_tape.c_str(), count_records(g_tape), g_tape.c_str());
}

}  // namespace cg::gan
