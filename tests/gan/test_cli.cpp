// The `covergan train` and `covergan generate` command lines, run as the built
// binary: what they write, --resume through the CLI, Ctrl-C, a non-finite loss,
// and bad input (a checkpoint that does not fit, truncated or corrupt checkpoints,
// an empty or unlabeled dataset, an unknown genre, a folder holding another run):
// one clear sentence, a non-zero exit, and no file overwritten.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "data/dataset.h"
#include "engine/device.h"
#include "gan_util.h"
#include "support/check.h"
#include "support/paths.h"

namespace fs = std::filesystem;
using gantest::run_covergan;
using gantest::slurp;

namespace {

// A labeled 16x16 two-genre set and a tiny, fast training command line.
struct Fixture {
  gantest::Scratch dir{"cli"};
  std::string data = dir / "data.cgd";
  Fixture() { gantest::write_striped_dataset(data, 48, 16, {"red", "blue"}, 1); }
  std::string train(const std::string& out, const std::string& extra) const {
    return "train --data " + data + " --out " + out + " --device cpu --batch 8 --base-channels 4 --seed 3 -q " +
           extra;
  }
};

// Every file under a folder with its bytes: "nothing was overwritten" compares two of these.
std::map<std::string, std::string> snapshot(const std::string& root) {
  std::map<std::string, std::string> m;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file()) m[e.path().string()] = slurp(e.path().string());
  return m;
}

void check_one_sentence_error(const gantest::CliResult& r, const std::string& needle) {
  INFO("output: " << r.output);
  CHECK(r.exit_code != 0);
  CHECK(r.output.find(needle) != std::string::npos);
  CHECK(r.output.find("covergan: ") != std::string::npos);
  CHECK(r.output.find("terminate called") == std::string::npos);  // a message, never a crash
}

}  // namespace

TEST_CASE("covergan train writes the run folder and generate draws every kind of grid from it") {
  Fixture f;
  const std::string run = f.dir / "run";
  auto r = run_covergan(f.train(run, "--steps 6 --sample-every 3 --checkpoint-every 3"));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  for (const char* p : {"config.json", "metrics.csv", "loss.png", "samples/step_000003.png",
                        "samples/step_000006.png", "checkpoints/step_00000006.safetensors"})
    CHECK_MESSAGE(fs::exists(run + "/" + p), p);
  const std::string config = slurp(run + "/config.json");
  CHECK(config.find("\"base_channels\": 4") != std::string::npos);
  CHECK(config.find("\"genres\"") != std::string::npos);
  CHECK(config.find("\"iteration\": \"eager (the CPU has no CUDA graph)\"") != std::string::npos);
  // A small batch: D's two batches joined (they would round differently in two calls).
  CHECK(config.find("\"d_batches\": \"real and generated images as one batch") != std::string::npos);
  const std::string ck = run + "/checkpoints/step_00000006.safetensors";
  r = run_covergan("info " + ck);
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("G.fc.weight") != std::string::npos);
  CHECK(r.output.find("optim.D.v") != std::string::npos);
  const std::string out = f.dir / "g.png";
  for (const std::string args : {"--genre red --n 5", "--genre all --n 8 --bn-eval", "--sweep --n 3",
                                 "--interpolate --genre BLUE --steps 4", "--genre red --codes 0.5,-1 --n 4"}) {
    CAPTURE(args);
    fs::remove(out);
    r = run_covergan("generate --ckpt " + ck + " " + args + " -o " + out);
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(fs::exists(out));
  }
  r = run_covergan("generate --ckpt " + ck + " --genre all --n 4 --separate " + (f.dir / "sep"));
  CHECK(r.exit_code == 0);
  int n = 0;
  for (const auto& e : fs::directory_iterator(f.dir / "sep")) n += e.path().extension() == ".png";
  CHECK(n == 4);
  CHECK(fs::exists(f.dir / "sep/red_0000.png"));
  CHECK(fs::exists(f.dir / "sep/blue_0001.png"));  // GENRE_INDEX: cover 1 of blue
}

TEST_CASE("train --resume through the command line equals one uninterrupted run") {
  Fixture f;
  REQUIRE(run_covergan(f.train(f.dir / "whole", "--steps 10 --hflip")).exit_code == 0);
  REQUIRE(run_covergan(f.train(f.dir / "split", "--steps 4 --hflip")).exit_code == 0);
  const auto r = run_covergan("train --out " + (f.dir / "split") + " --resume --steps 10 -q");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  // Compare the step, phase, epoch and loss columns (images/s and time differ).
  auto cut = [](const std::string& csv) {
    std::stringstream in(slurp(csv));
    std::string line, all;
    while (std::getline(in, line)) {
      size_t pos = 0;
      for (int i = 0; i < 13 && pos != std::string::npos; ++i) pos = line.find(',', pos + 1);
      all += line.substr(0, pos) + "\n";
    }
    return all;
  };
  CHECK(cut(f.dir / "whole/metrics.csv") == cut(f.dir / "split/metrics.csv"));
  CHECK(slurp(f.dir / "whole/checkpoints/step_00000010.safetensors") ==
        slurp(f.dir / "split/checkpoints/step_00000010.safetensors"));
  // Settings that shape the run cannot change on resume.
  const auto bad = run_covergan("train --out " + (f.dir / "split") + " --resume --steps 12 --batch 4 -q");
  check_one_sentence_error(bad, "cannot become");
}

TEST_CASE("a folder holding another run is refused unless --resume or --force, and nothing is touched") {
  Fixture f;
  const std::string run = f.dir / "run";
  REQUIRE(run_covergan(f.train(run, "--steps 2")).exit_code == 0);
  const auto before = snapshot(run);
  check_one_sentence_error(run_covergan(f.train(run, "--steps 2")), "already holds a training run");
  CHECK(snapshot(run) == before);
  check_one_sentence_error(run_covergan(f.train(run, "--steps 2 --resume --force")), "contradict");
  CHECK(snapshot(run) == before);
  std::ofstream(run + "/notes.txt") << "mine";
  const auto r = run_covergan(f.train(run, "--steps 3 --force"));
  CHECK(r.exit_code == 0);
  CHECK(fs::exists(run + "/checkpoints/step_00000003.safetensors"));
  CHECK_FALSE(fs::exists(run + "/checkpoints/step_00000002.safetensors"));
  CHECK(slurp(run + "/notes.txt") == "mine");  // --force removes only the run's own files
}

TEST_CASE("bad datasets: empty, unlabeled, missing, mismatched pretraining size") {
  Fixture f;
  {
    cg::data::DatasetInfo info;
    info.size = 16;
    info.genres = {"a", "b"};
    cg::data::DatasetWriter w(f.dir / "empty.cgd", info);
    w.finish();
  }
  gantest::write_striped_dataset(f.dir / "unlabeled.cgd", 16, 16, {}, 2);
  gantest::write_striped_dataset(f.dir / "u32.cgd", 16, 32, {}, 2);
  const std::string out = f.dir / "never";
  auto train_on = [&](const std::string& data, const std::string& extra) {
    return run_covergan("train --data " + data + " --out " + out + " --device cpu --batch 8 -q " + extra);
  };
  check_one_sentence_error(train_on(f.dir / "empty.cgd", ""), "holds no images");
  check_one_sentence_error(train_on(f.dir / "unlabeled.cgd", ""), "has no genre labels");
  check_one_sentence_error(train_on(f.dir / "nope.cgd", ""), "does not exist");
  check_one_sentence_error(train_on(f.data, "--pretrain " + (f.dir / "u32.cgd")), "32x32");
  check_one_sentence_error(train_on(f.data, "--batch 64"), "fewer than one batch");
  CHECK_FALSE(fs::exists(out + "/config.json"));
}

TEST_CASE("checkpoints that do not fit, truncated or corrupt ones, unknown genres: clear errors, no output") {
  Fixture f;
  const std::string run = f.dir / "run";
  REQUIRE(run_covergan(f.train(run, "--steps 1")).exit_code == 0);
  const std::string ck = run + "/checkpoints/step_00000001.safetensors";
  const std::string png = f.dir / "out.png";
  check_one_sentence_error(run_covergan("generate --ckpt " + ck + " --genre polka -o " + png),
                           "Unknown genre \"polka\"");
  CHECK_FALSE(fs::exists(png));
  const std::string bytes = slurp(ck);
  std::ofstream(f.dir / "trunc.safetensors", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  check_one_sentence_error(run_covergan("generate --ckpt " + (f.dir / "trunc.safetensors") + " -o " + png), "trunc");
  std::string corrupt = bytes;
  for (size_t i = 8; i < 40 && i < corrupt.size(); ++i) corrupt[i] = '\x7f';
  std::ofstream(f.dir / "corrupt.safetensors", std::ios::binary) << corrupt;
  check_one_sentence_error(run_covergan("generate --ckpt " + (f.dir / "corrupt.safetensors") + " -o " + png),
                           "corrupt.safetensors");
  CHECK_FALSE(fs::exists(png));
  // --init from a checkpoint of another width, and of another genre count.
  check_one_sentence_error(run_covergan("train --data " + f.data + " --out " + (f.dir / "wide") +
                                        " --device cpu --batch 8 --base-channels 8 -q --steps 1 --init " + ck),
                           "different architecture");
  gantest::write_striped_dataset(f.dir / "three.cgd", 24, 16, {"red", "blue", "green"}, 4);
  check_one_sentence_error(run_covergan("train --data " + (f.dir / "three.cgd") + " --out " + (f.dir / "three") +
                                        " --device cpu --batch 8 --base-channels 4 -q --steps 1 --init " + ck),
                           "was trained on 2 genres");
  CHECK_FALSE(fs::exists(f.dir / "three/checkpoints"));
  // A checkpoint whose tensors were changed to another shape.
  const auto r = run_covergan("train --data " + f.data + " --out " + (f.dir / "ok") +
                              " --device cpu --batch 8 --base-channels 4 -q --steps 1 --init " + ck);
  CHECK(r.exit_code == 0);
}

TEST_CASE("a NaN or Inf in a loss stops the run with a clear message and keeps the last good checkpoint") {
  Fixture f;
  const std::string run = f.dir / "run";
  // Six sane pretraining iterations (a checkpoint after each), then fine-tuning at a learning
  // rate that blows D's weights up at once: the first fine-tuning G loss is not finite.
  std::ofstream(f.dir / "blowup.json") << R"({"lr_finetune": {"g": 1e30, "d": 1e30}, "checkpoint_every": 1})";
  const auto r = run_covergan(f.train(run, "--steps 20 --pretrain " + f.data + " --pretrain-epochs 1 --config " +
                                               (f.dir / "blowup.json")));
  check_one_sentence_error(r, "Training stopped at iteration 7 (finetune, epoch 1): the loss term ");
  CHECK(r.output.find("(not finite)") != std::string::npos);
  const std::string good = run + "/checkpoints/step_00000006.safetensors";
  CHECK(r.output.find("the last good checkpoint is " + good) != std::string::npos);
  CHECK_FALSE(fs::exists(run + "/checkpoints/step_00000007.safetensors"));
  const auto g = run_covergan("generate --ckpt " + good + " --genre red --n 2 -o " + (f.dir / "x.png"));
  CHECK(g.exit_code == 0);
}

TEST_CASE("Ctrl-C writes a checkpoint and exits cleanly, and --resume continues from it") {
  Fixture f;
  const std::string run = f.dir / "run";
  const std::string log = f.dir / "log.txt";
  const std::string bin = cgtest::binary_dir() + "/covergan";  // built before fork: no malloc after
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec (this process has other threads).
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) ::_exit(126);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execl(bin.c_str(), bin.c_str(), "train", "--data", f.data.c_str(), "--out", run.c_str(), "--device", "cpu",
            "--batch", "8", "--base-channels", "4", "--epochs", "1000000", "--steps", "1000000", "--checkpoint-every",
            "0", "--log-every", "1", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Wait for a few iterations, then interrupt. --epochs too: the default 25 epochs of this
  // 44-image set end after 125 iterations, which a fast machine finishes between two polls.
  for (int i = 0; i < 600 && slurp(run + "/metrics.csv").find("\n3,") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ::kill(pid, SIGINT);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  INFO("output: " << slurp(log));
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(slurp(log).find("interrupted after") != std::string::npos);
  const auto cks = snapshot(run + "/checkpoints");
  REQUIRE(cks.size() == 1);
  const auto r = run_covergan("train --out " + run + " --resume --steps 1 -q");
  CHECK(r.exit_code == 0);  // already past step 1: nothing to do, but it loads and ends cleanly
}

TEST_CASE("--device cuda without a GPU says so in one sentence") {
  if (cg::cuda_available()) return;
  Fixture f;
  check_one_sentence_error(run_covergan(f.train(f.dir / "run", "--steps 1 --device cuda")), "CUDA");
  CHECK_FALSE(fs::exists(f.dir / "run"));
}
