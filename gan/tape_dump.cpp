// The tape dumps of `covergan train` (see tape_dump.h) and the Graphviz renderer.
#include "gan/tape_dump.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "engine/io_util.h"
#include "gan/profile.h"

extern char** environ;

namespace cg::gan {

std::string find_dot_program() {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    const size_t end = std::min(dirs.find(':', start), dirs.size());
    const std::string dir = dirs.substr(start, end - start);
    const std::string cand = (dir.empty() ? "." : dir) + "/dot";
    if (::access(cand.c_str(), X_OK) == 0 && std::filesystem::is_regular_file(cand)) return cand;
    start = end + 1;
  }
  return "";
}

namespace {

// Runs argv (argv[0] a path) and waits; its exit status, or -1 when it could not start.
int run_program(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (::posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return -1;
  int status = 0;
  if (::waitpid(pid, &status, 0) < 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

std::vector<std::string> render_dot(const std::string& dot_path, const std::vector<std::string>& formats) {
  const std::string dot = find_dot_program();
  if (dot.empty()) return {};
  std::filesystem::path base(dot_path);
  if (base.extension() == ".dot" || base.extension() == ".gv") base.replace_extension();
  std::vector<std::string> out;
  for (const std::string& fmt : formats) {
    const std::string target = base.string() + "." + fmt, tmp = target + ".tmp";
    const int rc = run_program({dot, "-T" + fmt, dot_path, "-o", tmp});
    if (rc != 0) {
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      throw Error(detail::cat("Graphviz's dot could not render ", dot_path, " as ", fmt, " (exit status ", rc, ")."));
    }
    std::filesystem::rename(tmp, target);
    out.push_back(target);
  }
  return out;
}

void dump_training_tapes(const ModelConfig& m, int64_t batch, Device device, const TapeDumpOptions& opt) {
  IterationRig rig(m, batch, device);
  rig.use_losses(opt.loss);
  draw_latents(rig.rng, rig.cfg, batch, device, DType::f32, rig.b);
  StepStats st;
  TapeGraph d, g;
  GForward gf = g_forward(*rig.G, rig.b);  // once, as an iteration runs it: its records open the G step's tape
  d_backward(*rig.D, rig.b, gf.fake, rig.lc, st, &d);
  g_backward(*rig.G, *rig.D, rig.b, gf, rig.lc, st, &g);
  if (opt.text || opt.values) {
    char drop[48] = "";
    if (m.d_dropout > 0) std::snprintf(drop, sizeof drop, ", dropout %g in D", m.d_dropout);
    std::printf("covergan tape: %dx%d, base %d, batch %lld, %s%s; one iteration on random images\n"
                "tN: a tensor's id on its tape; * a tensor that needs a gradient; a leaf is made by no record%s\n\n",
                m.image_size, m.image_size, m.base_channels, static_cast<long long>(batch), device_name(device),
                drop,
                opt.values ? ";\nvalue and grad: mean, std, min and max after the step's backward" : "");
    for (const TapeGraph* t : {&d, &g})
      std::printf("== %s (%zu records, %zu tensors) ==\n%s\n", t->title.c_str(), t->ops.size(), t->tensors.size(),
                  t->text(opt.values).c_str());
  }
  if (!opt.dot_path.empty()) {
    write_file_atomic(opt.dot_path, to_dot({&d, &g}), "the tape graph");
    std::printf("tape graph: %s (%zu + %zu records, %zu + %zu tensors)\n", opt.dot_path.c_str(), d.ops.size(),
                g.ops.size(), d.tensors.size(), g.tensors.size());
    const auto files = render_dot(opt.dot_path, {"svg", "png"});
    if (files.empty())
      std::printf("  (Graphviz's dot is not installed, so nothing was rendered: apt-get install graphviz)\n");
    for (const auto& f : files) std::printf("  rendered: %s\n", f.c_str());
  }
}

}  // namespace cg::gan
