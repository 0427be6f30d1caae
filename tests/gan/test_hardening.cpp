// Issue 14: the bugs a hostile but realistic user found, each pinned by a test that
// failed before its fix: metrics after kill -9, NaN checkpoints, absurd widths,
// non-UTF-8 genres, FIFOs, leftover temporary files, dataset paths on --resume,
// unsupported dtypes, and the small argument checks of item 12.
#include <sys/stat.h>
#include <zlib.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "data/dataset.h"
#include "data/dataset_format.h"
#include "engine/safetensors.h"
#include "gan/checkpoint.h"
#include "gan_util.h"
#include "proc_util.h"
#include "support/check.h"

namespace fs = std::filesystem;
using hardtest::run_cli;

namespace {

struct Setup {
  gantest::Scratch dir{"hard"};
  std::string data = dir / "data.cgd";
  Setup() { gantest::write_striped_dataset(data, 48, 16, {"red", "blue"}, 1); }
  std::string train(const std::string& out, const std::string& extra) const {
    return "train --data " + data + " --out " + out + " --device cpu --batch 8 --base-channels 4 --seed 3 -q " + extra;
  }
};

void expect_error(const hardtest::Proc& r, const std::string& needle) {
  INFO("output: " << r.output);
  CHECK_FALSE(r.timed_out);
  CHECK(r.exit_code == 1);
  CHECK(r.output.find(needle) != std::string::npos);
  CHECK(r.output.find("terminate called") == std::string::npos);
}

// The steps of metrics.csv in file order; torn counts rows without all 20 fields.
std::vector<int64_t> metric_steps(const std::string& path, int& torn) {
  std::ifstream in(path);
  std::string line;
  std::vector<int64_t> steps;
  torn = 0;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    if (std::count(line.begin(), line.end(), ',') != 19) {
      ++torn;
      continue;
    }
    steps.push_back(std::stoll(line));
  }
  return steps;
}

int64_t newest_step(const std::string& run) {
  int64_t best = -1;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(run + "/checkpoints", ec)) {
    const std::string n = e.path().filename().string();
    if (n.rfind("step_", 0) == 0 && e.path().extension() == ".safetensors") best = std::max<int64_t>(best, std::stoll(n.substr(5)));
  }
  return best;
}

// Starts the run, kills it with SIGKILL once a checkpoint past min_step exists.
void start_and_kill(const std::string& args, const std::string& run, int64_t min_step, const std::string& log) {
  const pid_t pid = hardtest::spawn_cli(args, log);
  const auto t0 = std::chrono::steady_clock::now();
  while (newest_step(run) < min_step && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(60))
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ::kill(pid, SIGKILL);
  hardtest::wait_exit(pid);
}

// A copy of the checkpoint with one value of G.fc.weight replaced.
void poison(const std::string& from, const std::string& to, float value) {
  cg::SafeTensors st = cg::load_safetensors(from);
  std::vector<std::pair<std::string, cg::Tensor>> ts(st.tensors.begin(), st.tensors.end());
  for (auto& [name, t] : ts)
    if (name == "G.fc.weight") t.data<float>()[0] = value;
  cg::save_safetensors(to, ts, st.metadata);
}

// Little-endian bytes of a safetensors file built by hand: (name, dtype, shape, bytes).
std::string hand_safetensors(const std::vector<std::tuple<std::string, std::string, std::string, size_t>>& ts) {
  std::string header = "{", data;
  for (const auto& [name, dtype, shape, bytes] : ts) {
    if (header.size() > 1) header += ",";
    header += "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" +
              std::to_string(data.size()) + "," + std::to_string(data.size() + bytes) + "]}";
    data.append(bytes, '\0');
  }
  header += "}";
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[size_t(i)] = char((uint64_t(header.size()) >> (8 * i)) & 0xFF);
  return out + header + data;
}

}  // namespace

TEST_CASE("item 1: metrics.csv matches the checkpoint after kill -9 and --resume, also with pretraining") {
  Setup s;
  gantest::write_striped_dataset(s.dir / "unl.cgd", 48, 16, {}, 2);
  for (const std::string& extra : {std::string("--steps 40"), "--pretrain " + s.dir / "unl.cgd" + " --pretrain-epochs 3 --epochs 3"}) {
    CAPTURE(extra);
    const std::string run = s.dir / ("run" + std::to_string(extra.size()));
    // --holdout 0: the step counts below are over the whole labeled set.
    const std::string common = " --checkpoint-every 1 --sample-every 0 --log-every 1000 --keep 2 --holdout 0 ";
    start_and_kill(s.train(run, extra + common), run, 9, s.dir / "log.txt");
    REQUIRE(newest_step(run) >= 9);
    const auto r = run_cli(s.train(run, "--resume" + common));
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    int torn = 0;
    const auto steps = metric_steps(run + "/metrics.csv", torn);
    CHECK(torn == 0);
    REQUIRE(steps.size() == 36 + 4 * (extra == "--steps 40"));
    for (size_t i = 0; i < steps.size(); ++i) REQUIRE(steps[i] == int64_t(i) + 1);  // every step once, in order
  }
}

TEST_CASE("item 2: a checkpoint with a NaN weight is refused by info, generate, --init and --resume") {
  Setup s;
  const std::string run = s.dir / "run";
  REQUIRE(run_cli(s.train(run, "--steps 2 --checkpoint-every 1")).exit_code == 0);
  const std::string ck = run + "/checkpoints/step_00000002.safetensors";
  poison(ck, s.dir / "nan.safetensors", std::nanf(""));
  poison(ck, ck, INFINITY);  // the newest checkpoint of the run: --resume must refuse it
  expect_error(run_cli("info " + s.dir / "nan.safetensors"), "NaN or infinite values in G.fc.weight");
  expect_error(run_cli("generate --ckpt " + s.dir / "nan.safetensors" + " -o " + s.dir / "g.png"), "G.fc.weight");
  CHECK_FALSE(fs::exists(s.dir / "g.png"));
  expect_error(run_cli(s.train(s.dir / "run2", "--steps 2 --init " + s.dir / "nan.safetensors")), "non-finite");
  CHECK_FALSE(fs::exists(s.dir / "run2/checkpoints"));
  expect_error(run_cli(s.train(run, "--resume --steps 4")), "non-finite");
  CHECK(newest_step(run) == 2);  // nothing new was written from the bad weights
}

TEST_CASE("item 2: save_checkpoint refuses NaN weights or Adam moments and writes nothing") {
  gantest::Scratch dir("nanwrite");
  cg::gan::TrainConfig cfg;
  cfg.model.base_channels = 2, cfg.model.image_size = 16, cfg.model.num_genres = 2, cfg.genres = {"a", "b"};
  cg::gan::Generator G(cfg.model, cg::Device::cpu);
  cg::gan::Discriminator D(cfg.model, cg::Device::cpu);
  cg::Adam og(G.params(), cg::AdamConfig{}), od(D.params(), cg::AdamConfig{});
  const std::string path = dir / "c.safetensors";
  cg::gan::save_checkpoint(path, cfg, G, &D, &og, &od, {});
  const std::string good = gantest::slurp(path);
  od.v().data<float>()[3] = std::nanf("");
  CHECK_THROWS_WITH_AS(cg::gan::save_checkpoint(path, cfg, G, &D, &og, &od, {}), doctest::Contains("optim.D.v"),
                       cg::Error);
  CHECK(gantest::slurp(path) == good);
  CHECK_FALSE(fs::exists(path + ".tmp"));
}

TEST_CASE("item 3: the parameter count comes from the shapes, and an absurd width is refused before allocating") {
  for (int size : {16, 32, 64})
    for (int base : {1, 3, 8}) {
      cg::gan::ModelConfig m;
      m.image_size = size, m.base_channels = base, m.num_genres = 3;
      CAPTURE(size);
      CAPTURE(base);
      CHECK(m.generator_params() == cg::gan::Generator(m, cg::Device::cpu).params().num_params());
      CHECK(m.discriminator_params() == cg::gan::Discriminator(m, cg::Device::cpu).params().num_params());
    }
  Setup s;
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = run_cli("train --data " + s.data + " --out " + s.dir / "big" + " --device cpu --base-channels 4096 -q",
                         "", 60);
  expect_error(r, "GB of memory");
  CHECK(r.output.find("--base-channels") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(30));
}

TEST_CASE("item 4: a dataset with a non-UTF-8 genre name fails info and train in one sentence, leaving no config.json") {
  Setup s;
  std::string b = gantest::slurp(s.data);
  uint32_t hb;
  std::memcpy(&hb, b.data() + cg::data::cgd::kOffHeaderBytes, 4);
  b[cg::data::cgd::kFixedHeader + 2] = '\xff';  // the first byte of "red"
  const uint32_t crc = uint32_t(crc32(0L, reinterpret_cast<const Bytef*>(b.data()), hb - 4));
  std::memcpy(b.data() + hb - 4, &crc, 4);
  std::ofstream(s.dir / "bad.cgd", std::ios::binary) << b;
  expect_error(run_cli("info " + s.dir / "bad.cgd"), "not UTF-8");
  expect_error(run_cli("train --data " + s.dir / "bad.cgd" + " --out " + s.dir / "run --device cpu -q"), "not UTF-8");
  CHECK_FALSE(fs::exists(s.dir / "run/config.json"));
  // The folder can be reused at once with a good dataset, no --force needed.
  CHECK(run_cli(s.train(s.dir / "run", "--steps 1")).exit_code == 0);
}

TEST_CASE("item 5: a FIFO given as dataset, checkpoint, settings or manifest is refused at once") {
  Setup s;
  const std::string fifo = s.dir / "pipe";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  for (const std::string& args :
       {std::string("info ") + fifo, "generate --ckpt " + fifo + " -o " + s.dir / "x.png", "train --data " + fifo + " --out " + s.dir / "r1",
        s.train(s.dir / "r2", "--init " + fifo), s.train(s.dir / "r3", "--config " + fifo),
        "prepare " + s.dir.path().string() + " -o " + s.dir / "p.cgd --labels csv:" + fifo}) {
    CAPTURE(args);
    expect_error(run_cli(args, "", 20), "not a regular file");
  }
}

TEST_CASE("item 6: --resume removes a killed run's temporary checkpoint, and generate -o a folder leaves no FOLDER.tmp") {
  Setup s;
  const std::string run = s.dir / "run";
  REQUIRE(run_cli(s.train(run, "--steps 2")).exit_code == 0);
  // Leftovers of killed runs, under the older and the per-process temporary names.
  std::ofstream(run + "/checkpoints/step_00000003.safetensors.tmp") << "half a checkpoint";
  std::ofstream(run + "/checkpoints/step_00000003.safetensors.tmp-4242-0") << "half a checkpoint";
  std::ofstream(run + "/config.json.tmp-4242-1") << "{";
  std::ofstream(run + "/notes.tmp-4242-1") << "the user's file stays";
  REQUIRE(run_cli(s.train(run, "--resume --steps 3")).exit_code == 0);
  CHECK(cgtest::temp_files_of(run + "/checkpoints/step_00000003.safetensors").empty());
  CHECK(cgtest::temp_files_of(run + "/config.json").empty());
  CHECK(fs::exists(run + "/notes.tmp-4242-1"));
  fs::create_directories(s.dir / "grid.png");
  expect_error(run_cli("generate --ckpt " + run + "/checkpoints/step_00000003.safetensors -o " + s.dir / "grid.png"),
               "is a folder");
  CHECK(cgtest::temp_files_of(s.dir / "grid.png").empty());
}

TEST_CASE("item 9: --resume works from another working folder, and a moved dataset gets a hint") {
  Setup s;
  fs::create_directories(s.dir / "a");
  REQUIRE(run_cli("train --data ../data.cgd --out run --device cpu --batch 8 --base-channels 4 --steps 2 -q",
                  s.dir / "a").exit_code == 0);
  const auto r = run_cli("train --out " + s.dir / "a/run" + " --resume --steps 3 -q", "/");
  INFO(r.output);
  CHECK(r.exit_code == 0);
  fs::rename(s.data, s.dir / "moved.cgd");
  expect_error(run_cli("train --out " + s.dir / "a/run" + " --resume --steps 4 -q", "/"), "pass --data");
  CHECK(run_cli("train --out " + s.dir / "a/run" + " --resume --steps 4 -q --data " + s.dir / "moved.cgd", "/").exit_code == 0);
}

TEST_CASE("item 10: info lists I64 and F16 tensors, loading names them, and a .cgd given as a checkpoint says so") {
  Setup s;
  std::ofstream(s.dir / "torch.safetensors", std::ios::binary)
      << hand_safetensors({{"G.fc.weight", "F32", "[2,3]", 24}, {"D.bn2.num_batches_tracked", "I64", "[]", 8},
                           {"G.half", "F16", "[4]", 8}});
  auto r = run_cli("info " + s.dir / "torch.safetensors");
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("D.bn2.num_batches_tracked") != std::string::npos);
  CHECK(r.output.find("F16 [4]") != std::string::npos);
  CHECK(r.output.find("corrupt") == std::string::npos);
  expect_error(run_cli("generate --ckpt " + s.dir / "torch.safetensors" + " -o " + s.dir / "g.png"), "G.half (F16 [4])");
  expect_error(run_cli("generate --ckpt " + s.data + " -o " + s.dir / "g.png"), "is a covergan dataset (.cgd), not a checkpoint");
}

TEST_CASE("item 12: a deleted samples folder, write errors with the OS reason, coerced settings, generate's flags") {
  Setup s;
  const std::string run = s.dir / "run";
  REQUIRE(run_cli(s.train(run, "--steps 2")).exit_code == 0);
  fs::remove_all(run + "/samples");
  auto r = run_cli(s.train(run, "--resume --steps 3"));
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(fs::exists(run + "/samples/step_000003.png"));
  // metrics.csv blocked by a non-empty folder (its rewrite cannot be renamed there): the
  // error says why, and no temporary file stays behind.
  const std::string metrics = gantest::slurp(run + "/metrics.csv");
  fs::remove(run + "/metrics.csv");
  fs::create_directories(run + "/metrics.csv/x");
  expect_error(run_cli(s.train(run, "--resume --steps 4")), "Is a directory");
  CHECK(cgtest::temp_files_of(run + "/metrics.csv").empty());
  fs::remove_all(run + "/metrics.csv");
  std::ofstream(run + "/metrics.csv") << metrics;
  for (const auto& [json, needle] : {std::pair<std::string, std::string>{"{\"seed\": -3}", "cannot be negative"},
                                     {"{\"batch\": 16.7}", "whole number"}}) {
    std::ofstream(s.dir / "c.json") << json;  // no --seed or --batch flag: those would override the file
    expect_error(run_cli("train --data " + s.data + " --out " + s.dir / "runc" + " --device cpu --steps 1 -q --config " +
                         s.dir / "c.json"),
                 needle);
  }
  const std::string gen = "generate --ckpt " + run + "/checkpoints/step_00000003.safetensors -o " + s.dir / "g.png ";
  expect_error(run_cli(gen + "--genre red --codes 2,0"), "[-1, 1]");
  expect_error(run_cli(gen + "--interpolate --genre red --codes 0,0"), "leave out --codes");
  expect_error(run_cli(gen + "--sweep --genre red"), "leave out --genre");
  expect_error(run_cli(gen + "--n 5"), "does not split evenly");
  r = run_cli(gen + "--n 6");
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("6 images") != std::string::npos);
}
