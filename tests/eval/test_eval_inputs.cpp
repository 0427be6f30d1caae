// Issue 22, the evaluation's side: eval, classify and plot given bad inputs. A training
// file that changed or vanished since the run, a held-out set sharing one cover with it,
// classifier folders of two runs, run folders named from inside, metrics.csv files with
// extreme values or another layout, outputs that cannot be written, and two evals into one
// folder at once. Each case failed (crash, hang, wrong number or late error) before its fix.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "base/check.h"
#include "data/dataset.h"
#include "eval/classifier.h"
#include "eval/eval_run.h"
#include "eval_fixtures.h"
#include "gan/proc_util.h"
#include "gan/run_dir.h"
#include "support/temp_dir.h"

using namespace cg;
using namespace cg::gan;
namespace fs = std::filesystem;
using hardtest::run_cli;

namespace {

const std::vector<std::string> kGenres{"jazz", "rock"};

// Small, quick settings: a report in a second or two.
EvalOptions small_eval(const std::string& ck, const std::string& data, const std::string& out) {
  EvalOptions o;
  o.ckpt = ck, o.data = data, o.out = out;
  o.pairs = 4, o.generated = 4, o.folds = 2, o.classifier_epochs = 1, o.quiet = true;
  return o;
}
std::string small_eval_flags() { return " --pairs 4 --generated 4 --folds 2 --classifier-epochs 1 -q"; }

std::string read_text(const std::string& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The message of the cg::Error fn throws ("" when it throws none).
template <class F>
std::string error_of(F&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// A metrics.csv of `rows` iterations, with `value` as every loss.
void write_metrics(const std::string& path, int rows, const std::string& value = "1.0") {
  std::ofstream f(path);
  f << MetricsLog::header() << "\n";
  for (int s = 1; s <= rows; ++s)
    f << s << ",finetune,0," << value << ",0.5,0.5,1.2,1.3,0.1," << value << ",0.7,1.1,0.1,0.8,0.2,0.5,0.5,100,1,0\n";
}

void expect_fail(const hardtest::Proc& r, const std::string& needle) {
  INFO("output: " << r.output);
  CHECK_FALSE(r.timed_out);
  CHECK(r.exit_code == 1);
  CHECK(r.output.find(needle) != std::string::npos);
}

}  // namespace

TEST_CASE("item 3 and 11: a training file that changed or vanished or is no dataset costs the split and not the report") {
  cgtest::TempDir dir("trainfile");
  const std::string data = dir / "labeled.cgd", train = dir / "train.cgd";
  evaltest::write_stripes(data, 6, 16, kGenres, 3);
  fs::copy_file(data, train);
  const std::string ck = evaltest::write_checkpoint(dir.path().string(), train, kGenres, 16);
  auto split_of = [&](const std::string& out) {
    const nlohmann::json r = run_eval(small_eval(ck, data, dir / out));
    CHECK(fs::exists(dir / (out + "/report.json")));
    return r["d_accuracy"];
  };
  {  // the file as the run saw it: every cover of the set was trained on
    const auto d = split_of("same");
    CHECK(d["real_split"] == "compared");
    CHECK(d["real_seen_count"] == 12);
  }
  // Re-prepared at a smaller size (a shorter file): eval once read past its end (SIGBUS).
  fs::remove(train);
  evaltest::write_stripes(train, 2, 16, kGenres, 3);
  REQUIRE(fs::file_size(train) < fs::file_size(data));
  {
    const auto d = split_of("smaller");
    CHECK(d["real_split"] == "changed");
    CHECK(d["real_split_reason"].get<std::string>().find("has changed since the run") != std::string::npos);
    CHECK(d.contains("real_unknown"));
    CHECK_FALSE(d.contains("real_held_out"));
  }
  // The same size, other covers: once reported "0 seen, 12 unseen" (held out, wrongly).
  fs::remove(train);
  evaltest::write_stripes(train, 6, 16, kGenres, 99);
  REQUIRE(fs::file_size(train) == fs::file_size(data));
  {
    const auto d = split_of("other");
    CHECK(d["real_split"] == "changed");
    CHECK(d["real_unseen_count"].is_null());
  }
  // Gone, a folder, a text file: the section says so and eval goes on (it once failed
  // naming a file the user never passed).
  fs::remove(train);
  CHECK(split_of("gone")["real_split_reason"].get<std::string>().find("no longer exists") != std::string::npos);
  fs::create_directories(train);
  CHECK(split_of("folder")["real_split"] == "unavailable");
  fs::remove(train);
  std::ofstream(train) << "not a dataset\n";
  const auto d = split_of("text");
  CHECK(d["real_split"] == "unavailable");
  CHECK(d["real_split_reason"].get<std::string>().find("cannot be read") != std::string::npos);
}

TEST_CASE("item 10: a held-out set sharing one cover with the training file gets its report and --real-per-genre 1 is refused up front") {
  cgtest::TempDir dir("onecover");
  const std::string data = dir / "eval.cgd", train = dir / "train.cgd";
  evaltest::write_stripes(data, 6, 16, kGenres, 3);
  {  // the training file: other covers, plus the eval set's first cover
    const data::Dataset ev = data::Dataset::open(data);
    evaltest::write_stripes(dir / "other.cgd", 6, 16, kGenres, 77);
    const data::Dataset ot = data::Dataset::open(dir / "other.cgd");
    const size_t bytes = 16 * 16 * 3;
    std::vector<uint8_t> px(ev.pixels(0), ev.pixels(0) + bytes);
    std::vector<int32_t> labels{ev.label(0)};
    for (int64_t i = 0; i < ot.info().count; ++i) {
      px.insert(px.end(), ot.pixels(i), ot.pixels(i) + bytes);
      labels.push_back(ot.label(i));
    }
    data::DatasetInfo info;
    info.size = 16, info.genres = kGenres, info.count = int64_t(labels.size());
    data::write_dataset(train, info, px.data(), labels);
  }
  const std::string ck = evaltest::write_checkpoint(dir.path().string(), train, kGenres, 16);
  // Once: "Cross-validation needs at least 2 folds, got 1." with --folds 2, and no report.
  const nlohmann::json r = run_eval(small_eval(ck, data, dir / "r"));
  const auto& d = r["d_accuracy"];
  CHECK(d["real_split"] == "compared");
  CHECK(d["real_seen_count"] == 1);
  CHECK(d["real_unseen_count"] == 11);
  CHECK(d["real_trained_on"]["accuracy"]["n"] == 1);
  CHECK(d.contains("real_held_out"));
  // --real-per-genre 1 once said a genre of 6 covers has "fewer than 2", leaving an empty folder.
  EvalOptions o = small_eval(ck, data, dir / "r1");
  o.real_per_genre = 1;
  CHECK(error_of([&] { run_eval(o); }).find("--real-per-genre must be 0") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "r1"));
  const auto neg = run_cli("eval --ckpt " + ck + " --data " + data + " -o " + (dir / "r2") + " --real-per-genre -1");
  INFO(neg.output);
  CHECK(neg.exit_code != 0);
  CHECK(neg.output.find("must be 0 or more") != std::string::npos);
  CHECK(neg.output.find("1797693") == std::string::npos);  // no 300-digit bound (DBL_MAX)
}

TEST_CASE("item 6: a classifier folder lists its models so fewer folds than before leave no old ones counted") {
  cgtest::TempDir dir("clsfolder");
  evaltest::write_stripes(dir / "d.cgd", 6, 16, kGenres);
  const data::Dataset ds = data::Dataset::open(dir / "d.cgd");
  ClassifierConfig cfg;
  cfg.base_channels = 4, cfg.epochs = 1, cfg.batch = 4, cfg.quiet = true;
  cross_validate_classifier(ds, 3, cfg, dir / "c");
  CHECK(load_classifiers(dir / "c", Device::cpu).size() == 3);
  cross_validate_classifier(ds, 2, cfg, dir / "c");
  CHECK(load_classifiers(dir / "c", Device::cpu).size() == 2);  // once 3: fold 3 of the old run averaged in
  CHECK_FALSE(fs::exists(dir / "c/classifier_fold3.safetensors"));
  // The list itself may be given (it once read as a checkpoint: "header length 7161674631644973691").
  CHECK(load_classifiers(dir / "c/classify.json", Device::cpu).size() == 2);
  // A folder without a list (an older version) holding files of two runs is refused.
  fs::create_directories(dir / "old");
  fs::copy_file(dir / "c/classifier_fold1.safetensors", dir / "old/classifier_fold1.safetensors");
  fs::copy_file(dir / "c/classifier_fold2.safetensors", dir / "old/classifier_fold2.safetensors");
  CHECK(load_classifiers(dir / "old", Device::cpu).size() == 2);
  cross_validate_classifier(ds, 3, cfg, dir / "c3");
  fs::copy_file(dir / "c3/classifier_fold3.safetensors", dir / "old/classifier_fold3.safetensors");
  CHECK(error_of([&] { load_classifiers(dir / "old", Device::cpu); }).find("different runs") != std::string::npos);
  // The same through eval -o R, which cross-validates into R/classifier.
  const std::string ck = evaltest::write_checkpoint(dir.path().string(), dir / "d.cgd", kGenres, 16);
  EvalOptions o = small_eval(ck, dir / "d.cgd", dir / "r");
  o.folds = 3;
  run_eval(o);
  o.folds = 2;
  run_eval(o);
  CHECK(load_classifiers(dir / "r/classifier", Device::cpu).size() == 2);
  // Another JSON file is named as such, not parsed as a checkpoint.
  std::ofstream(dir / "other.json") << "{\"hello\": 1}\n";
  CHECK(error_of([&] { load_classifiers(dir / "other.json", Device::cpu); }).find("lists no classifier models") !=
        std::string::npos);
  std::ofstream(dir / "list.safetensors") << "[1, 2, 3]\n";
  CHECK(error_of([&] { load_classifiers(dir / "list.safetensors", Device::cpu); }).find("is a JSON file") !=
        std::string::npos);
}

TEST_CASE("item 7: eval from inside the run folder finds the run however the checkpoint path is spelled") {
  cgtest::TempDir dir("inside");
  const std::string data = dir / "d.cgd";
  evaltest::write_stripes(data, 4, 16, kGenres);
  evaltest::write_checkpoint(dir.path().string(), data, kGenres, 16);
  write_metrics(dir / "run/metrics.csv", 20);
  for (const char* spelled : {"checkpoints/step_00000001.safetensors", "./checkpoints/step_00000001.safetensors"}) {
    CAPTURE(spelled);
    const std::string out = dir / (std::string("r") + (spelled[0] == '.' ? "dot" : "bare"));
    const auto r = run_cli("eval --ckpt " + std::string(spelled) + " --data " + data + " -o " + out + small_eval_flags(),
                           dir / "run");
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    const auto j = nlohmann::json::parse(read_text(out + "/report.json"));
    CHECK(j["images"].contains("curves"));  // the bare spelling once left the curves out
    CHECK(fs::exists(out + "/losses.png"));
  }
}

TEST_CASE("item 12: eval and classify check every input and output before the first long step and leave nothing") {
  cgtest::TempDir dir("early");
  const std::string data = dir / "d.cgd";
  evaltest::write_stripes(data, 4, 16, kGenres);
  evaltest::write_stripes(dir / "other.cgd", 4, 16, {"pop", "soul"});
  const std::string ck = evaltest::write_checkpoint(dir.path().string(), data, kGenres, 16);
  std::ofstream(dir / "file") << "a file, not a folder\n";
  const std::string base = "eval --ckpt " + ck + " --data " + data + " --pairs 4 --generated 4 --folds 2";
  {  // a classifier of other genres: once refused after the MS-SSIM section
    ClassifierConfig cfg;
    cfg.base_channels = 4, cfg.epochs = 1, cfg.batch = 4, cfg.quiet = true;
    cross_validate_classifier(data::Dataset::open(dir / "other.cgd"), 2, cfg, dir / "cls");
    const auto r = run_cli(base + " -o " + (dir / "r1") + " --classifier " + (dir / "cls"));
    expect_fail(r, "knows the genres pop, soul");
    CHECK(r.output.find("generated") == std::string::npos);  // no long step started
    CHECK_FALSE(fs::exists(dir / "r1"));
  }
  {  // an output that cannot be a folder: once found only when the first picture was written
    const auto r = run_cli(base + " -o " + (dir / "file/r"));
    expect_fail(r, "file/r");
    CHECK(r.output.find("generated") == std::string::npos);
  }
  {  // --device cuda without a GPU: once left an empty report folder
    const auto r = run_cli(base + " -o " + (dir / "r3") + " --device cuda");
    INFO(r.output);
    CHECK(r.exit_code != 0);
    CHECK_FALSE(fs::exists(dir / "r3"));
  }
  {  // classify --out that cannot be written: once failed after training fold 1
    const auto r = run_cli("classify --data " + data + " --folds 2 --epochs 1 --base-channels 4 --out " +
                           (dir / "file/c"));
    expect_fail(r, "file/c");
    CHECK(r.output.find("fold 1") == std::string::npos);
  }
  {  // --classifier-epochs with --classifier would do nothing: refused
    const auto r = run_cli(base + " -o " + (dir / "r4") + " --classifier " + (dir / "cls") + " --classifier-epochs 3");
    expect_fail(r, "--classifier-epochs");
    CHECK_FALSE(fs::exists(dir / "r4"));
  }
}

TEST_CASE("items 2 and 4 and 13: plot writes beside a bare metrics.csv and finishes on extreme values and says what is wrong") {
  cgtest::TempDir dir("plotin");
  fs::create_directories(dir / "run");
  write_metrics(dir / "run/metrics.csv", 30);
  {  // from inside the run folder: once wrote /plots at the filesystem root
    const auto r = run_cli("plot metrics.csv", dir / "run", 60);
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(fs::exists(dir / "run/plots/losses.png"));
  }
  {  // +-1e308, inf and nan: the line drawing once walked 2^31 pixels and never finished
    fs::create_directories(dir / "huge");
    std::ofstream f(dir / "huge/metrics.csv");
    f << MetricsLog::header() << "\n";
    const char* values[] = {"1e308", "-1e308", "inf", "nan", "1.0", "-inf", "2.5"};
    for (int s = 1; s <= 7; ++s)
      f << s << ",finetune,0," << values[s - 1] << ",0.5,0.5,1.2,1.3,0.1," << values[(s + 2) % 7]
        << ",0.7,1.1,0.1,0.8,0.2,0.5,0.5,100,1,0\n";
    f.close();
    const auto r = run_cli("plot " + (dir / "huge"), "", 30);
    INFO(r.output);
    CHECK_FALSE(r.timed_out);
    CHECK(r.exit_code == 0);
    CHECK(r.output.find("non-finite values skipped") != std::string::npos);
    CHECK(r.output.find("clipped") != std::string::npos);
    CHECK(fs::file_size(dir / "huge/plots/losses.png") > 1000);
  }
  {  // a header with an extra column: once "holds no iterations yet"
    fs::create_directories(dir / "extra");
    std::ofstream f(dir / "extra/metrics.csv");
    f << MetricsLog::header() << ",extra\n";
    for (int s = 1; s <= 5; ++s) f << s << ",finetune,0,1,0.5,0.5,1.2,1.3,0.1,1,0.7,1.1,0.1,0.8,0.2,0.5,0.5,100,1,0\n";
    f.close();
    expect_fail(run_cli("plot " + (dir / "extra")), "have 20 values but its header names 21 columns");
    CHECK_FALSE(fs::exists(dir / "extra/plots"));
  }
  {  // a missing column: once failed after writing losses.png
    fs::create_directories(dir / "lack");
    std::ofstream f(dir / "lack/metrics.csv");
    f << "step,d_loss,g_loss\n1,1,1\n2,1,1\n";
    f.close();
    expect_fail(run_cli("plot " + (dir / "lack")), "lacks the column");
    CHECK_FALSE(fs::exists(dir / "lack/plots/losses.png"));
  }
  // A run folder whose metrics.csv is a folder: once "is empty".
  fs::create_directories(dir / "dirfile/metrics.csv");
  const auto r = run_cli("plot " + (dir / "dirfile"));
  expect_fail(r, "metrics.csv");
  CHECK(r.output.find("is empty") == std::string::npos);
  CHECK_FALSE(fs::exists(dir / "dirfile/plots"));
}

TEST_CASE("item 5: two evals into one folder at once: exactly one proceeds and the report is whole") {
  cgtest::TempDir dir("twoeval");
  const std::string data = dir / "d.cgd";
  evaltest::write_stripes(data, 4, 16, kGenres);
  const std::string ck = evaltest::write_checkpoint(dir.path().string(), data, kGenres, 16);
  // A fast machine finished both short evals one after the other in every try (CI, 4 of 4),
  // so each holder keeps the lock 1.5 s after taking it (COVERGAN_LOCK_HOLD_MS): the second
  // eval reaches the lock while the first holds it on any machine, and a try that still
  // ran one after the other shows nothing, so at least one must have overlapped.
  const hardtest::LockHold hold(1500);
  const int tries = 3;
  int overlapped = 0;
  for (int t = 0; t < tries; ++t) {
    CAPTURE(t);
    const std::string out = dir / (std::string("r") + std::to_string(t));
    pid_t pid[2];
    for (int k = 0; k < 2; ++k)
      pid[k] = hardtest::spawn_cli("eval --ckpt " + ck + " --data " + data + " -o " + out + " --seed " +
                                       std::to_string(k + 1) + " --pairs 300 --generated 60 --folds 2 --classifier-epochs 6 -q",
                                   dir / (std::string("log") + std::to_string(k)));
    int rc[2];
    for (int k = 0; k < 2; ++k) rc[k] = hardtest::wait_exit(pid[k]);
    const std::string log[2] = {read_text(dir / "log0"), read_text(dir / "log1")};
    INFO("log0: " << log[0] << "\nlog1: " << log[1]);
    const bool refused[2] = {log[0].find("in use by another covergan process") != std::string::npos,
                             log[1].find("in use by another covergan process") != std::string::npos};
    if (rc[0] == 0 && rc[1] == 0) {  // one after the other: both whole, neither refused
      CHECK_FALSE((refused[0] || refused[1]));
      continue;
    }
    ++overlapped;
    REQUIRE(((rc[0] == 0) != (rc[1] == 0)));
    const int won = rc[0] == 0 ? 0 : 1;
    CHECK(refused[1 - won]);
    const auto j = nlohmann::json::parse(read_text(out + "/report.json"));
    CHECK(j["settings"]["seed"] == won + 1);  // the winner's report, not a mix
    for (const auto& e : fs::directory_iterator(out)) {
      const std::string n = e.path().filename().string();
      CHECK(n.find(".tmp") == std::string::npos);  // no temporary file of either left
      CHECK(n != ".covergan.lock");                // the lock goes with its holder
    }
  }
  CHECK(overlapped > 0);  // the lock was tested: at least once both ran at the same time
  MESSAGE(overlapped << " of " << tries << " tries overlapped");
}

TEST_CASE("a failed eval into a folder holding an earlier report leaves that report whole and the user's files alone") {
  cgtest::TempDir dir("evalagain");
  const std::string data = dir / "d.cgd";
  evaltest::write_stripes(data, 4, 16, kGenres);
  const std::string ck = evaltest::write_checkpoint(dir.path().string(), data, kGenres, 16);
  const std::string out = dir / "r";
  const std::string base = "eval --ckpt " + ck + " --data " + data + " -o " + out + small_eval_flags();
  const auto first = run_cli(base + " --seed 1");
  INFO(first.output);
  REQUIRE(first.exit_code == 0);
  std::ofstream(out + "/notes.txt") << "mine\n";
  const std::string report = read_text(out + "/report.json"), samples = read_text(out + "/samples.png");
  // The second eval (another seed: other covers, other pictures) fails at its last write,
  // after every picture: once it left its new pictures beside the earlier report.json.
  const auto failed = run_cli(base + " --seed 2", "", 120, "COVERGAN_FAIL_WRITES=report.json");
  INFO(failed.output);
  CHECK(failed.exit_code != 0);
  CHECK(read_text(out + "/report.json") == report);
  CHECK(read_text(out + "/samples.png") == samples);
  CHECK(read_text(out + "/notes.txt") == "mine\n");
  for (const auto& e : fs::directory_iterator(out)) CHECK(e.path().filename().string().rfind(".earlier", 0) != 0);
  // Succeeding, it replaces the report and still leaves the user's file.
  const auto again = run_cli(base + " --seed 2");
  REQUIRE(again.exit_code == 0);
  CHECK(read_text(out + "/report.json") != report);
  CHECK(read_text(out + "/samples.png") != samples);
  CHECK(read_text(out + "/notes.txt") == "mine\n");
  CHECK(fs::exists(out + "/classifier"));
  for (const auto& e : fs::directory_iterator(out)) CHECK(e.path().filename().string().rfind(".earlier", 0) != 0);
}
