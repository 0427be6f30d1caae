// `covergan generate` on a tiny trained run: a cover depends on the seed, its genre and
// its index, never on --n (the same first k covers for --n k and --n 2k, and a genre's
// row of --genre all is --genre GENRE's covers); --ckpt takes a run folder; eval-mode
// BatchNorm by default, --bn-batch for the batch statistics; messages that read well.
#include <filesystem>
#include <map>

#include "gan_util.h"
#include "support/check.h"

namespace fs = std::filesystem;
using gantest::run_covergan;
using gantest::slurp;

namespace {

// One small run (16x16, two genres), trained once for every case here.
struct Run {
  gantest::Scratch dir{"generate"};
  std::string run = dir / "run";
  Run() {
    gantest::write_striped_dataset(dir / "data.cgd", 48, 16, {"red", "blue"}, 1);
    const auto r = run_covergan("train --data " + (dir / "data.cgd") + " --out " + run +
                                " --device cpu --batch 8 --base-channels 4 --seed 3 -q --steps 6 --checkpoint-every 3");
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  }
  // The PNG bytes of every file in a --separate folder, by name.
  std::map<std::string, std::string> separate(const std::string& args, const std::string& folder) {
    const auto r = run_covergan("generate --ckpt " + run + " " + args + " --separate " + (dir / folder));
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    std::map<std::string, std::string> m;
    for (const auto& e : fs::directory_iterator(dir / folder)) m[e.path().filename().string()] = slurp(e.path());
    return m;
  }
};
Run& run() {
  static Run r;
  return r;
}

}  // namespace

TEST_CASE("generate: the first k covers of --n k and --n 2k are the same covers") {
  const auto a = run().separate("--genre red --n 3 --seed 5", "n3");
  const auto b = run().separate("--genre red --n 6 --seed 5", "n6");
  REQUIRE(a.size() == 3);
  REQUIRE(b.size() == 6);
  for (const auto& [name, png] : a) {
    CAPTURE(name);
    REQUIRE(b.count(name));
    CHECK(b.at(name) == png);  // byte for byte
  }
  CHECK(b.at("red_0003.png") != b.at("red_0000.png"));
  // --genre all: row red holds red's covers 0, 1, ... whatever --n is.
  const auto c = run().separate("--genre all --n 4 --seed 5", "all4");
  const auto d = run().separate("--genre all --n 8 --seed 5", "all8");
  REQUIRE(c.size() == 4);
  for (const char* name : {"red_0000.png", "red_0001.png", "blue_0000.png", "blue_0001.png"}) {
    CAPTURE(name);
    CHECK(c.at(name) == d.at(name));
  }
  CHECK(c.at("red_0000.png") == a.at("red_0000.png"));
  CHECK(c.at("blue_0000.png") != c.at("red_0000.png"));
  // Another seed, other covers.
  const auto e = run().separate("--genre red --n 3 --seed 6", "seed6");
  CHECK(e.at("red_0000.png") != a.at("red_0000.png"));
}

TEST_CASE("generate --bn-batch normalises the covers together, so --n changes them, while the default does not") {
  const auto a = run().separate("--genre red --n 3 --bn-batch", "b3");
  const auto b = run().separate("--genre red --n 6 --bn-batch", "b6");
  const auto e = run().separate("--genre red --n 3", "e3");
  CHECK(a.at("red_0000.png") != b.at("red_0000.png"));
  CHECK(a.at("red_0000.png") != e.at("red_0000.png"));
  const auto r = run_covergan("generate --ckpt " + run().run + " --genre red --n 2 --bn-batch --bn-eval -o " +
                              (run().dir / "x.png"));
  CHECK(r.exit_code != 0);
  CHECK(r.output.find("covergan: --bn-batch and --bn-eval contradict each other; pass one.") != std::string::npos);
  // One genre's covers normalised together lose what the genre shares: said in a note.
  const std::string grid = run().dir / "one_genre.png";
  const auto one = run_covergan("generate --ckpt " + run().run + " --genre red --n 2 --bn-batch -o " + grid);
  CHECK(one.exit_code == 0);
  CHECK(one.output.find("note: these covers are all red") != std::string::npos);
  for (const char* args : {" --genre all --n 4 --bn-batch -o ", " --genre red --n 2 -o "}) {
    const auto r2 = run_covergan("generate --ckpt " + run().run + args + grid);
    CHECK(r2.exit_code == 0);
    CHECK(r2.output.find("note: these covers") == std::string::npos);
  }
  const auto h = run_covergan("generate --help");
  CHECK(h.output.find("--bn-batch") != std::string::npos);
  CHECK(h.output.find("running statistics") != std::string::npos);
}

TEST_CASE("generate --ckpt takes a run folder and uses its newest checkpoint") {
  const std::string png = run().dir / "grid.png";
  const auto r = run_covergan("generate --ckpt " + run().run + " --genre all --n 4 -o " + png);
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(fs::exists(png));
  CHECK(r.output.find("from " + run().run + "/checkpoints/step_00000006.safetensors (step 6, the newest in " +
                      run().run + ")") != std::string::npos);
  CHECK(r.output.find("BatchNorm: the running statistics of training (eval mode)") != std::string::npos);
  // The same grid as from the file itself.
  const std::string png2 = run().dir / "grid2.png";
  CHECK(run_covergan("generate --ckpt " + run().run + "/checkpoints/step_00000006.safetensors --genre all --n 4 -o " +
                     png2).exit_code == 0);
  CHECK(slurp(png) == slurp(png2));
  // info and train --init take it too.
  const auto i = run_covergan("info " + run().run);
  CHECK(i.exit_code == 0);
  CHECK(i.output.find("step_00000006.safetensors: safetensors") != std::string::npos);
  fs::create_directories(run().dir / "empty");
  const auto bad = run_covergan("generate --ckpt " + (run().dir / "empty") + " -o " + png);
  CHECK(bad.exit_code != 0);
  CHECK(bad.output.find("covergan: The folder " + (run().dir / "empty") +
                        " holds no checkpoints (checkpoints/step_*.safetensors).") != std::string::npos);
}

TEST_CASE("generate's messages: an --n that does not split over the genres names two that do") {
  const std::string gen = "generate --ckpt " + run().run + " -o " + (run().dir / "m.png") + " ";
  auto r = run_covergan(gen + "--genre all --n 1");
  CHECK(r.exit_code != 0);
  CHECK(r.output.find("covergan: --n 1 does not split evenly over the 2 genres (--genre all draws one row per "
                      "genre); pass --n 2 or 4, or name one genre with --genre.") != std::string::npos);
  r = run_covergan(gen + "--genre all --n 5");
  CHECK(r.output.find("pass --n 4 or 6,") != std::string::npos);
}
