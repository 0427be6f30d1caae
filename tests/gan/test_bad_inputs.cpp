// Issue 22, the training side: bad inputs to prepare, train, generate, classify, info and
// msssim. Genre names that would leave their folder as file names, genres with no image,
// results lost on a full standard output, flags that would do nothing, late checks,
// unhelpful messages, and two trainings started on one folder at once. Each case failed
// before its fix (a file outside its folder, exit 0, a late or missing sentence).
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "data/grid.h"
#include "gan/checkpoint.h"
#include "gan_util.h"
#include "proc_util.h"
#include "support/check.h"
#include "support/temp_dir.h"

namespace fs = std::filesystem;
using hardtest::run_cli;

namespace {

struct Setup {
  gantest::Scratch dir{"badin"};
  std::string data = dir / "data.cgd";
  Setup() { gantest::write_striped_dataset(data, 24, 16, {"red", "blue"}, 1); }
  std::string tiny() const { return " --device cpu --batch 8 --base-channels 4 -q"; }
};

void expect_error(const hardtest::Proc& r, const std::string& needle) {
  INFO("output: " << r.output);
  CHECK_FALSE(r.timed_out);
  CHECK(r.exit_code == 1);
  CHECK(r.output.find(needle) != std::string::npos);
  CHECK(r.output.find("terminate called") == std::string::npos);
}

std::string read_text(const std::string& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// An untrained 16x16 model whose genres are given as they are (an older dataset may hold
// any name), saved as a checkpoint at path.
void write_model(const std::string& path, const std::vector<std::string>& genres) {
  cg::gan::TrainConfig cfg;
  cfg.genres = genres;
  cfg.batch = 8;
  cfg.model.image_size = 16, cfg.model.base_channels = 4, cfg.model.num_genres = int(genres.size());
  cg::gan::Generator G(cfg.model, cg::Device::cpu);
  cg::gan::Discriminator D(cfg.model, cg::Device::cpu);
  cg::Philox rng(1);
  G.init(rng);
  D.init(rng);
  cg::gan::save_checkpoint(path, cfg, G, &D, nullptr, nullptr, cg::gan::TrainState{});
}

// A 16x16 PNG of one colour.
void write_png(const std::string& path, uint8_t r, uint8_t g, uint8_t b) {
  std::vector<uint8_t> px(16 * 16 * 3);
  for (size_t i = 0; i < px.size(); i += 3) px[i] = r, px[i + 1] = g, px[i + 2] = b;
  for (size_t i = 0; i < px.size(); i += 7) px[i] = uint8_t(px[i] + i);  // not flat: distinct covers
  cg::data::write_png_rgb(path, px.data(), 16, 16);
}

// `covergan args` with standard output on a full device; its exit code and standard error.
hardtest::Proc to_dev_full(const std::string& args) {
  const std::string err = (fs::temp_directory_path() / ("covergan_devfull_" + std::to_string(::getpid()))).string();
  const auto s = cgtest::run_shell("timeout -k 2 120 " + hardtest::covergan_bin() + " " + args + " > /dev/full 2> " + err);
  hardtest::Proc p;
  p.exit_code = s.exit_code;
  p.timed_out = s.exit_code == 124 || s.exit_code == 137;
  p.output = read_text(err);
  fs::remove(err);
  return p;
}

}  // namespace

TEST_CASE("item 1: genre names that are no file-name part are refused by prepare and generate --separate stays in its folder") {
  Setup s;
  fs::create_directories(s.dir / "src");
  write_png(s.dir / "src/a.png", 200, 0, 0);
  write_png(s.dir / "src/b.png", 0, 0, 200);
  for (const std::string bad : {"box/evil", "..", "back\\slash"}) {
    CAPTURE(bad);
    std::ofstream(s.dir / "labels.csv") << "path,genre\na.png,pop\nb.png," << bad << "\n";
    const auto r = run_cli("prepare " + (s.dir / "src") + " -o " + (s.dir / "x.cgd") + " --size 16 -q --labels csv:" +
                           (s.dir / "labels.csv"));
    expect_error(r, "cannot be part of a file name");
    CHECK_FALSE(fs::exists(s.dir / "x.cgd"));
  }
  // Models (from an older dataset) whose genres are such names: the files stay inside.
  write_model(s.dir / "m1.safetensors", {"../evil", "pop"});
  write_model(s.dir / "m2.safetensors", {"a/b", "pop"});
  fs::create_directories(s.dir / "box");
  std::ofstream(s.dir / "box/evil_0000.png") << "mine";
  for (const char* m : {"m1", "m2"}) {
    const auto r = run_cli("generate --ckpt " + (s.dir / (std::string(m) + ".safetensors")) +
                           " --genre all --n 4 --separate " + (s.dir / "box/sep") + " --seed 1");
    INFO(r.output);
    CHECK(r.exit_code == 0);  // m2 once failed: no folder box/sep/a
  }
  CHECK(read_text(s.dir / "box/evil_0000.png") == "mine");  // once overwritten by genre "../evil"
  int inside = 0, outside = 0;
  for (const auto& e : fs::recursive_directory_iterator(s.dir / "box"))
    if (e.is_regular_file()) ++(e.path().parent_path() == fs::path(s.dir / "box/sep") ? inside : outside);
  CHECK(inside == 6);   // 2 + 2 genre files of m1 and m2 (pop's two written twice)
  CHECK(outside == 1);  // and the user's file
  CHECK(cg::data::genre_file_part("../evil") == ".._evil");
  CHECK(cg::data::genre_file_part("..") == "genre");
  CHECK(cg::data::genre_file_part(std::string(300, 'x')).size() == 100);
}

TEST_CASE("item 3: a run records its training file's identity and --resume refuses a file that changed") {
  Setup s;
  const std::string run = s.dir / "run";
  REQUIRE(run_cli("train --data " + s.data + " --out " + run + " --steps 2" + s.tiny()).exit_code == 0);
  const auto cfg = nlohmann::json::parse(read_text(run + "/config.json"));
  const cg::data::Dataset ds = cg::data::Dataset::open(s.data);
  CHECK(cfg["data_bytes"] == ds.file_bytes());
  CHECK(cfg["data_fingerprint"] == ds.fingerprint());
  // Other covers of the same size and count: the same file size, another fingerprint.
  fs::remove(s.data);
  gantest::write_striped_dataset(s.data, 24, 16, {"red", "blue"}, 2);
  REQUIRE(int64_t(fs::file_size(s.data)) == cfg["data_bytes"].get<int64_t>());
  expect_error(run_cli("train --out " + run + " --resume --steps 3 -q"), "is not the file this run trained on");
}

TEST_CASE("item 8: a genre with no usable image is left out by prepare and refused by train and classify") {
  Setup s;
  for (const char* g : {"pop", "soul", "jazz"}) fs::create_directories(s.dir / (std::string("src/") + g));
  for (int i = 0; i < 3; ++i) {
    write_png(s.dir / ("src/pop/" + std::to_string(i) + ".png"), uint8_t(200 + i), 10, 10);
    write_png(s.dir / ("src/soul/" + std::to_string(i) + ".png"), 10, 10, uint8_t(200 + i));
  }
  std::ofstream(s.dir / "src/jazz/broken.png") << "not a PNG";
  const auto r = run_cli("prepare " + (s.dir / "src") + " -o " + (s.dir / "p.cgd") + " --size 16 -q");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("genre 'jazz' has no usable images") != std::string::npos);
  CHECK(cg::data::Dataset::open(s.dir / "p.cgd").info().genres == std::vector<std::string>{"pop", "soul"});
  // A dataset written with an empty genre (by an older prepare, or by hand).
  {
    cg::data::DatasetInfo info;
    info.size = 16, info.genres = {"red", "blue", "empty"}, info.count = 8;
    std::vector<uint8_t> px(size_t(8 * 16 * 16 * 3), 100);
    cg::data::write_dataset(s.dir / "e.cgd", info, px.data(), {0, 1, 0, 1, 0, 1, 0, 1});
  }
  expect_error(run_cli("train --data " + (s.dir / "e.cgd") + " --out " + (s.dir / "run") + " --steps 1" + s.tiny()),
               "The genre 'empty' has no images");
  CHECK_FALSE(fs::exists(s.dir / "run"));
  expect_error(run_cli("classify --data " + (s.dir / "e.cgd") + " --folds 2 --epochs 1 --base-channels 4 -q"),
               "The genre 'empty' has no covers");
}

TEST_CASE("item 9: a result that cannot reach standard output fails the command") {
  Setup s;
  std::vector<uint8_t> px(32 * 32 * 3, 90);
  cg::data::write_png_rgb(s.dir / "a.png", px.data(), 32, 32);
  write_model(s.dir / "m.safetensors", {"red", "blue"});
  for (const std::string& args :
       {"msssim " + (s.dir / "a.png") + " " + (s.dir / "a.png") + " --size 32", "info " + s.data,
        "info " + (s.dir / "m.safetensors"), "train --dump-tape --data " + s.data + s.tiny(),
        "classify --data " + s.data + " --folds 2 --epochs 1 --base-channels 4 -q"}) {
    CAPTURE(args);
    const auto r = to_dev_full(args);
    INFO(r.output);
    CHECK_FALSE(r.timed_out);
    CHECK(r.exit_code == 1);  // once 0: the value, the only output, was lost
    CHECK(r.output.find("Cannot write to standard output") != std::string::npos);
  }
  // The same commands to a working standard output: 0.
  CHECK(run_cli("msssim " + (s.dir / "a.png") + " " + (s.dir / "a.png") + " --size 32").exit_code == 0);
}

TEST_CASE("items 12 to 14: flags that would do nothing and late checks and unhelpful messages") {
  Setup s;
  const std::string train = "train --data " + s.data + s.tiny();
  std::ofstream(s.dir / "file") << "a file, not a folder\n";
  // 14: combinations that do nothing are refused.
  expect_error(run_cli(train + " --out " + (s.dir / "r") + " --steps 1 --profile-csv " + (s.dir / "p.csv")),
               "--profile-csv writes a file of --profile N");
  CHECK_FALSE(fs::exists(s.dir / "r"));
  expect_error(run_cli(train + " --dump-tape --profile 1"), "two different runs");
  expect_error(run_cli(train + " --dump-tape --resume"), "--resume would do nothing");
  expect_error(run_cli(train + " --dump-tape --out " + (s.dir / "r")), "--out would do nothing");
  expect_error(run_cli(train + " --profile 1 --resume"), "--resume would do nothing");
  const std::string prep = "prepare " + s.dir.path().string() + " -o " + (s.dir / "p.cgd") + " -q";
  expect_error(run_cli(prep + " --distance 3"), "--distance is the near-duplicate threshold");
  expect_error(run_cli(prep + " --dedupe off --duplicates-csv " + (s.dir / "d.csv")), "--dedupe off removes none");
  CHECK_FALSE(fs::exists(s.dir / "p.cgd"));
  // 12: a bad --profile-csv path is refused before the profiling, not after it.
  {
    const auto r = run_cli(train + " --profile 1 --out " + (s.dir / "prof") + " --profile-csv " + (s.dir / "file/p.csv"));
    expect_error(r, "the profile CSV");
    CHECK(r.output.find("iteration") == std::string::npos);  // no timing ran
  }
  // 13: numbers whose bound was DBL_MAX (a 300-digit number) or a suggestion out of range.
  {
    const auto r = run_cli(train + " --profile 0");
    INFO(r.output);
    CHECK(r.exit_code != 0);
    CHECK(r.output.find("positive number") != std::string::npos);
    CHECK(r.output.find("1797693") == std::string::npos);
    const auto e = run_cli(train + " --out " + (s.dir / "r") + " --epochs -1");
    CHECK(e.exit_code != 0);
    CHECK(e.output.find("1797693") == std::string::npos);
  }
  write_model(s.dir / "m3.safetensors", {"a", "b", "c"});
  {
    const auto r = run_cli("generate --ckpt " + (s.dir / "m3.safetensors") + " --genre all --n 4096 -o " +
                           (s.dir / "g.png"));
    expect_error(r, "pass --n 4095,");  // once also 4098, which --n refuses
    CHECK(r.output.find("4098") == std::string::npos);
  }
  expect_error(run_cli("generate --ckpt " + (s.dir / "m3.safetensors") + " --genre a --interpolate --n 4 -o " +
                       (s.dir / "i.png")),
               "--n would do nothing");
  {  // --separate whose parent cannot hold a folder: the reason, before any image is made
    const auto r = run_cli("generate --ckpt " + (s.dir / "m3.safetensors") + " --genre a --n 2 --separate " +
                           (s.dir / "file/sep"));
    expect_error(r, "Not a directory");
  }
  {  // a JSON file given as a checkpoint: named as such (once "header length 7161674631644973691")
    std::ofstream(s.dir / "c.json") << "{\"models\": [\"x\"]}\n";
    fs::copy_file(s.dir / "c.json", s.dir / "c.safetensors");
    expect_error(run_cli("info " + (s.dir / "c.safetensors")), "is a JSON file, not a checkpoint");
  }
}

TEST_CASE("item 5: two trainings started on one folder at once: exactly one proceeds and its files are its own") {
  Setup s;
  // The winner keeps the lock 1 s after taking it, so the two overlap even where a fast
  // machine would finish the tiny first training before the second starts.
  const hardtest::LockHold hold(1000);
  const int tries = 4;
  int overlapped = 0;
  for (int t = 0; t < tries; ++t) {
    CAPTURE(t);
    const std::string out = s.dir / (std::string("run") + std::to_string(t));
    pid_t pid[2];
    for (int k = 0; k < 2; ++k)
      pid[k] = hardtest::spawn_cli("train --data " + s.data + " --out " + out + " --steps 3 --checkpoint-every 1 --seed " +
                                       std::to_string(k + 1) + s.tiny(),
                                   s.dir / (std::string("log") + std::to_string(k)));
    int rc[2];
    for (int k = 0; k < 2; ++k) rc[k] = hardtest::wait_exit(pid[k]);
    const std::string log[2] = {read_text(s.dir / "log0"), read_text(s.dir / "log1")};
    INFO("log0: " << log[0] << "\nlog1: " << log[1]);
    REQUIRE(((rc[0] == 0) != (rc[1] == 0)));  // exactly one proceeds
    const int won = rc[0] == 0 ? 0 : 1, lost = 1 - won;
    CHECK(rc[lost] == 1);
    // Refused while the other runs, or (when it had already finished) as a folder with a run.
    const bool in_use = log[lost].find("in use by another covergan process") != std::string::npos;
    overlapped += in_use;
    CHECK((in_use || log[lost].find("already holds a training run") != std::string::npos));
    const auto cfg = nlohmann::json::parse(read_text(out + "/config.json"));
    CHECK(cfg["seed"] == won + 1);  // the survivor's settings, not the other's
    const cg::gan::Checkpoint ck = cg::gan::Checkpoint::load(out + "/checkpoints/step_00000003.safetensors");
    CHECK(int64_t(ck.config().seed) == won + 1);
    for (const auto& e : fs::recursive_directory_iterator(out)) {
      const std::string n = e.path().filename().string();
      CHECK(n.find(".tmp") == std::string::npos);
      CHECK(n != ".covergan.lock");
    }
  }
  CHECK(overlapped > 0);  // the lock was tested: at least once both ran at the same time
  MESSAGE(overlapped << " of " << tries << " tries overlapped");
}
