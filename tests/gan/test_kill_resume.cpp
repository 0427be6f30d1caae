// Issue 11: crashes and full disks. A training run is killed with SIGKILL at many
// moments (at start-up, between steps, inside a checkpoint write) and resumed each
// time; it must end with the weights of one uninterrupted run and a metrics.csv with
// every step once. Full disks during prepare and train (a small tmpfs when this
// process may mount one, else the COVERGAN_FAIL_WRITES hook) give one clear error and
// leave earlier checkpoints and datasets as they were. Ctrl-C twice exits at once
// without a torn file.
#include <sys/mount.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "engine/safetensors.h"
#include "gan/checkpoint.h"
#include "gan_util.h"
#include "proc_util.h"
#include "support/check.h"

namespace fs = std::filesystem;
using hardtest::run_cli;

namespace {

struct Setup {
  gantest::Scratch dir{"kill"};
  std::string data = dir / "data.cgd";
  Setup() { gantest::write_striped_dataset(data, 48, 16, {"red", "blue"}, 1); }
  std::string train(const std::string& out, const std::string& extra) const {
    return "train --data " + data + " --out " + out +
           " --device cpu --batch 8 --base-channels 4 --seed 3 -q --checkpoint-every 1 --sample-every 0 --keep 3 " + extra;
  }
};

std::vector<std::pair<int64_t, std::string>> checkpoints(const std::string& run) {
  std::vector<std::pair<int64_t, std::string>> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(run + "/checkpoints", ec)) {
    const std::string n = e.path().filename().string();
    if (n.rfind("step_", 0) == 0 && e.path().extension() == ".safetensors") out.emplace_back(std::stoll(n.substr(5)), e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool tmp_present(const std::string& run) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(run + "/checkpoints", ec))
    if (e.path().filename().string().find(".tmp") != std::string::npos) return true;  // NAME.tmp-PID-N
  return false;
}

// Kills pid per the moment's kind: 0 after a delay from the start (start-up, first
// steps), 1 once a checkpoint at or past target exists, 2 while a checkpoint is being written.
void kill_at(pid_t pid, const std::string& run, int kind, int64_t target, int delay_ms) {
  const auto t0 = std::chrono::steady_clock::now();
  auto waited = [&] { return std::chrono::steady_clock::now() - t0 > std::chrono::seconds(30); };
  if (kind == 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
  if (kind == 1)
    while (!waited() && (checkpoints(run).empty() || checkpoints(run).back().first < target))
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
  if (kind == 2)
    while (!waited() && !tmp_present(run)) {
    }
  ::kill(pid, SIGKILL);
  hardtest::wait_exit(pid);
}

std::vector<int64_t> metric_steps(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::vector<int64_t> steps;
  std::getline(in, line);
  while (std::getline(in, line)) steps.push_back(std::count(line.begin(), line.end(), ',') == 19 ? std::stoll(line) : -1);
  return steps;
}

// Every tensor of two checkpoints, byte for byte.
void check_same_weights(const std::string& a, const std::string& b) {
  const cg::SafeTensors x = cg::load_safetensors(a), y = cg::load_safetensors(b);
  REQUIRE(x.tensors.size() == y.tensors.size());
  for (const auto& [name, t] : x.tensors) {
    CAPTURE(name);
    REQUIRE(y.tensors.count(name));
    const cg::Tensor& u = y.tensors.at(name);
    REQUIRE(t.nbytes() == u.nbytes());
    CHECK(std::memcmp(t.raw(), u.raw(), t.nbytes()) == 0);
  }
}

}  // namespace

TEST_CASE("SIGKILL at many moments, then --resume: newest complete checkpoint, every metrics step once, the same final weights (slow)") {
  Setup s;
  // Each checkpoint's .tmp stays 40 ms before its rename, so the kills of kind 2 land
  // inside writes however fast this machine writes a tiny checkpoint.
  struct Delay {
    Delay() { ::setenv("COVERGAN_WRITE_DELAY_MS", "40", 1); }
    ~Delay() { ::unsetenv("COVERGAN_WRITE_DELAY_MS"); }
  } delay;
  const int64_t kSteps = 30;
  const std::string ref = s.dir / "ref", run = s.dir / "run";
  REQUIRE(run_cli(s.train(ref, "--steps " + std::to_string(kSteps))).exit_code == 0);
  // (kind, target step or delay): start-up, between steps, inside checkpoint writes.
  const std::vector<std::pair<int, int>> moments{{0, 0},  {0, 40}, {1, 3},  {2, 0}, {1, 7},  {2, 0}, {0, 150},
                                                 {2, 0},  {1, 14}, {2, 0},  {1, 20}, {2, 0}, {1, 25}, {2, 0}};
  int kills_inside_write = 0;
  for (size_t i = 0; i < moments.size(); ++i) {
    const auto [kind, arg] = moments[i];
    CAPTURE(i);
    const bool resumable = !checkpoints(run).empty();
    const std::string args = s.train(run, "--steps " + std::to_string(kSteps) + (resumable ? " --resume" : " --force"));
    const pid_t pid = hardtest::spawn_cli(args, s.dir / "log.txt");
    kill_at(pid, run, kind, arg, arg);
    kills_inside_write += kind == 2 && tmp_present(run);
    // Every checkpoint under its final name is complete and loads; the newest is what --resume takes.
    for (const auto& [step, path] : checkpoints(run)) {
      CAPTURE(path);
      CHECK_NOTHROW(cg::gan::Checkpoint::load(path));
    }
  }
  CHECK(kills_inside_write >= 3);  // the kills did land inside checkpoint writes
  const auto r = run_cli(s.train(run, "--steps " + std::to_string(kSteps) + " --resume"));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_FALSE(tmp_present(run));
  const auto steps = metric_steps(run + "/metrics.csv");
  REQUIRE(steps.size() == size_t(kSteps));
  for (size_t i = 0; i < steps.size(); ++i) CHECK(steps[i] == int64_t(i) + 1);
  char name[64];
  std::snprintf(name, sizeof name, "/checkpoints/step_%08lld.safetensors", static_cast<long long>(kSteps));
  check_same_weights(ref + name, run + name);
}

namespace {

// A small tmpfs at dir when this process may mount one; false otherwise (no privilege).
bool mount_small_tmpfs(const std::string& dir, size_t bytes) {
  fs::create_directories(dir);
  const std::string opt = "size=" + std::to_string(bytes);
  return ::mount("tmpfs", dir.c_str(), "tmpfs", 0, opt.c_str()) == 0;
}

}  // namespace

// use_mount: a real small tmpfs (skipped, with a message, where mounting is not allowed);
// else the COVERGAN_FAIL_WRITES hook on a normal folder, which always runs.
void full_disk(bool use_mount) {
  Setup s;
  const std::string disk = s.dir / "disk";
  // One checkpoint of this model, for sizing the disk.
  REQUIRE(run_cli(s.train(s.dir / "probe", "--steps 1")).exit_code == 0);
  const size_t ck_bytes = fs::file_size(s.dir / "probe/checkpoints/step_00000001.safetensors");
  fs::create_directories(disk);
  const bool mounted = use_mount && mount_small_tmpfs(disk, 6 * ck_bytes + 64 * 1024);
  if (use_mount && !mounted) {
    MESSAGE("no privilege to mount a tmpfs here: the full disk is simulated by COVERGAN_FAIL_WRITES only");
    return;
  }
  // train: the third checkpoint (or so) no longer fits.
  const std::string run = disk + "/run";
  const std::string env = mounted ? "" : "COVERGAN_FAIL_WRITES=safetensors.tmp COVERGAN_FAIL_WRITES_AFTER=" +
                                             std::to_string(2 * ck_bytes + ck_bytes / 2);
  auto r = run_cli(s.train(run, "--steps 40 --keep 100"), "", 120, env);
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("No space left on device") != std::string::npos);
  CHECK(r.output.find("terminate called") == std::string::npos);
  const auto cks = checkpoints(run);
  CHECK(cks.size() >= 1);
  for (const auto& [step, path] : cks) CHECK_NOTHROW(cg::gan::Checkpoint::load(path));
  CHECK_FALSE(tmp_present(run));
  // prepare: a good dataset already on the disk survives a prepare that runs out of space.
  fs::remove_all(run);
  fs::copy_file(s.data, disk + "/old.cgd");
  const std::string old = gantest::slurp(disk + "/old.cgd");
  // Sources: 200 generated covers, 12 KB each at 64x64: more than the disk has left.
  REQUIRE(run_cli("generate --ckpt " + s.dir / "probe/checkpoints/step_00000001.safetensors --genre red --n 200 --separate " +
                  s.dir / "src/g").exit_code == 0);
  const std::string penv = mounted ? "" : "COVERGAN_FAIL_WRITES=new.cgd.tmp COVERGAN_FAIL_WRITES_AFTER=2000";
  if (mounted) {  // fill the disk so the new dataset cannot fit
    std::ofstream fill(disk + "/filler", std::ios::binary);
    std::string block(4096, 'x');
    while (fill.write(block.data(), block.size())) {
    }
  }
  r = run_cli("prepare " + s.dir / "src" + " -o " + disk + "/new.cgd --size 64 --dedupe off -q", "", 120, penv);
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("No space left on device") != std::string::npos);
  CHECK_FALSE(fs::exists(disk + "/new.cgd"));
  CHECK(cgtest::temp_files_of(disk + "/new.cgd").empty());
  CHECK(gantest::slurp(disk + "/old.cgd") == old);
  if (mounted) ::umount2(disk.c_str(), MNT_DETACH);
}

TEST_CASE("a full disk during prepare and train: one clear error, no half-written file, earlier files untouched") {
  SUBCASE("simulated by COVERGAN_FAIL_WRITES") { full_disk(false); }
  SUBCASE("a real small tmpfs, where this process may mount one") { full_disk(true); }
}

TEST_CASE("Ctrl-C twice during training exits at once and leaves only complete checkpoints") {
  Setup s;
  const std::string run = s.dir / "run", log = s.dir / "log.txt";
  // A model wide enough that one step plus its checkpoint lasts far longer than the
  // gap between the two presses: otherwise the first press's orderly stop may finish
  // before the second arrives, and there is nothing to abort.
  const std::string args = "train --data " + s.data + " --out " + run +
                           " --device cpu --batch 8 --base-channels 96 --seed 3 -q --checkpoint-every 1"
                           " --sample-every 0 --keep 3";
  const pid_t pid = hardtest::spawn_cli(args + " --steps 100000", log);
  const auto t0 = std::chrono::steady_clock::now();
  auto within = [&](int s) { return std::chrono::steady_clock::now() - t0 < std::chrono::seconds(s); };
  while (checkpoints(run).size() < 2 && within(120)) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ::kill(pid, SIGINT);
  // The second press only counts once the first was handled (signals pending together merge).
  auto log_text = [&] {
    std::ifstream f(log);
    return std::string(std::istreambuf_iterator<char>(f), {});
  };
  while (log_text().find("Ctrl-C again aborts") == std::string::npos && within(150))
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ::kill(pid, SIGINT);
  const int code = hardtest::wait_exit(pid);
  INFO(log_text());
  CHECK(code == 128 + SIGINT);  // ended by the second Ctrl-C, not after finishing its work
  for (const auto& [step, path] : checkpoints(run)) CHECK_NOTHROW(cg::gan::Checkpoint::load(path));
  const auto r = run_cli(args + " --resume --steps " + std::to_string(checkpoints(run).back().first + 2));
  INFO(r.output);
  CHECK(r.exit_code == 0);
}
