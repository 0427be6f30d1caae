// Issue 11: every subcommand given a checkpoint of another width, image size or genre
// count, a dataset of another image size, an output in a missing or read-only folder,
// or absurd numbers: one clear sentence, a non-zero exit, no crash, no hang and no
// file written. Cases are tables, so adding one is one line.
#include <filesystem>
#include <fstream>

#include "engine/safetensors.h"
#include "gan_util.h"
#include "proc_util.h"
#include "support/check.h"

namespace fs = std::filesystem;
using hardtest::run_cli;

namespace {

struct Case {
  std::string args, needle;  // the command line, and a phrase its error must hold
};

void expect_refused(const Case& c) {
  CAPTURE(c.args);
  const auto r = run_cli(c.args, "", 60);
  INFO("output: " << r.output);
  CHECK_FALSE(r.timed_out);
  CHECK(r.exit_code != 0);
  CHECK(r.exit_code < 128);  // an exit, not a signal
  CHECK(r.output.find(c.needle) != std::string::npos);
  CHECK(r.output.find("terminate called") == std::string::npos);
  CHECK(r.output.find("Sanitizer") == std::string::npos);
}

// ck with one tensor replaced by the same-named tensor of other (a file that lies about its shapes).
void splice(const std::string& ck, const std::string& other, const std::string& name, const std::string& out) {
  cg::SafeTensors a = cg::load_safetensors(ck), b = cg::load_safetensors(other);
  a.tensors[name] = b.tensors.at(name);
  std::vector<std::pair<std::string, cg::Tensor>> ts(a.tensors.begin(), a.tensors.end());
  cg::save_safetensors(out, ts, a.metadata);
}

}  // namespace

TEST_CASE("wrong-size checkpoints and datasets, bad output folders and absurd numbers: one sentence, no crash") {
  gantest::Scratch dir("wrong");
  const std::string d16 = dir / "d16.cgd", d32 = dir / "d32.cgd", d3 = dir / "d3.cgd";
  gantest::write_striped_dataset(d16, 24, 16, {"red", "blue"}, 1);
  gantest::write_striped_dataset(d32, 24, 32, {"red", "blue"}, 2);
  gantest::write_striped_dataset(d3, 24, 16, {"red", "blue", "green"}, 3);
  auto train = [&](const std::string& data, const std::string& out, const std::string& extra) {
    return "train --data " + data + " --out " + dir / out + " --device cpu --batch 8 --sample-every 0 -q " + extra;
  };
  auto ck = [&](const std::string& run) { return dir / (run + "/checkpoints/step_00000001.safetensors"); };
  for (const auto& [data, run, base] : {std::tuple<std::string, std::string, int>{d16, "base4", 4},
                                        {d16, "base8", 8}, {d32, "size32", 4}, {d3, "genres3", 4}})
    REQUIRE(run_cli(train(data, run, "--steps 1 --base-channels " + std::to_string(base))).exit_code == 0);
  splice(ck("base4"), ck("base8"), "G.fc.weight", dir / "lying_fc.safetensors");
  splice(ck("base4"), ck("base8"), "G.deconv2.weight", dir / "lying_deconv.safetensors");
  fs::create_directories(dir / "src/red");
  REQUIRE(run_cli("generate --ckpt " + ck("base4") + " --genre red --n 2 --separate " + dir / "src/red").exit_code == 0);
  std::ofstream(dir / "afile") << "x";
  const std::string gen = "generate --ckpt " + ck("base4") + " ";

  const std::vector<Case> cases{
      // checkpoints of another width, image size or genre count
      {train(d16, "r1", "--base-channels 4 --init " + ck("base8")), "different architecture"},
      {train(d16, "r2", "--base-channels 4 --init " + ck("size32")), "makes 32x32 images"},
      {train(d16, "r3", "--base-channels 4 --init " + ck("genres3")), "trained on 3 genres"},
      {"generate --ckpt " + dir / "lying_fc.safetensors" + " -o " + dir / "g.png", "does not fit its own config"},
      {"generate --ckpt " + dir / "lying_deconv.safetensors" + " -o " + dir / "g.png", "G.deconv2.weight"},
      // datasets of another image size
      {"train --out " + dir / "base4" + " --resume --steps 2 --data " + d32, "is not the one this run was trained on"},
      {train(d16, "r4", "--base-channels 4 --pretrain " + dir / "d32.cgd"), "holds 32x32 images"},
      // outputs in missing, non-folder or read-only places
      {"prepare " + dir / "src" + " -o " + dir / "missing/x.cgd --size 16", "missing/x.cgd"},
      {"prepare " + dir / "src" + " -o " + dir / "afile/x.cgd --size 16", "afile/x.cgd"},
      {"prepare " + dir / "src" + " -o /proc/covergan_test.cgd --size 16", "/proc/covergan_test.cgd"},
      {gen + "-o " + dir / "missing/g.png", "does not exist"},
      {gen + "-o /proc/covergan_test.png", "/proc/covergan_test.png"},
      {gen + "--separate " + dir / "afile/sub", "afile/sub"},
      {train(d16, "afile/run", "--base-channels 4 --steps 1"), "afile/run"},
      // absurd numbers
      {train(d16, "r5", "--base-channels 4 --batch 1000"), "fewer than one batch"},
      {train(d16, "r6", "--base-channels 0"), "--base-channels"},
      {train(d16, "r7", "--batch 0"), "--batch"},
      {train(d16, "r8", "--steps -1"), "--steps"},
      {train(d16, "r9", "--steps 4 --lr-decay-from 4"), "needs --steps beyond it"},
      {train(d16, "r10", "--lr-decay-from 2"), "needs --steps beyond it"},
      {gen + "--n 0 -o " + dir / "g.png", "--n"},
      {gen + "--interpolate --genre red --steps 1 -o " + dir / "g.png", "--steps"},
      {"prepare " + dir / "src" + " -o " + dir / "p.cgd --size 7", "--size"},
  };
  for (const Case& c : cases) expect_refused(c);
  CHECK_FALSE(fs::exists(dir / "g.png"));
  CHECK_FALSE(fs::exists(dir / "p.cgd"));
  for (const char* r : {"r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8"}) CHECK_FALSE(fs::exists(dir / (std::string(r) + "/checkpoints")));
}
