// The small commands from the outside: `covergan msssim` on PNG files (1 for an
// image with itself, the library's value for two images fitted as `prepare` fits
// them, a clear error for a missing file) and `covergan plot` on a metrics.csv.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "support/temp_dir.h"
#include "data/grid.h"
#include "data/image.h"
#include "eval/eval_curves.h"
#include "eval/msssim.h"
#include "support/paths.h"

namespace {

struct Out {
  int rc;
  std::string text;
};
Out covergan(const std::string& args) {
  const auto r = cgtest::run_shell(cgtest::shell_quote(cgtest::binary_dir() + "/covergan") + " " + args + " 2>&1");
  REQUIRE(r.exit_code != -1);  // it started
  return {r.exit_code, r.output};
}

std::string last_line(const std::string& s) {
  const size_t end = s.find_last_not_of('\n');
  const size_t start = s.rfind('\n', end);
  return s.substr(start == std::string::npos ? 0 : start + 1, end - (start == std::string::npos ? 0 : start + 1) + 1);
}

// A 32x32 RGB pattern (H,W,3) and the same as MS-SSIM input (3,H,W).
std::vector<uint8_t> pattern(int S, int k) {
  std::vector<uint8_t> px(size_t(S * S * 3));
  for (int y = 0; y < S; ++y)
    for (int x = 0; x < S; ++x)
      for (int c = 0; c < 3; ++c) px[size_t((y * S + x) * 3 + c)] = uint8_t((x * (k + 3) + y * (c + 1) * 7 + k * 40) % 256);
  return px;
}
std::vector<float> planar(const std::vector<uint8_t>& px, int S) {
  std::vector<float> out(px.size());
  for (int p = 0; p < S * S; ++p)
    for (int c = 0; c < 3; ++c) out[size_t(c * S * S + p)] = px[size_t(p * 3 + c)];
  return out;
}

}  // namespace

TEST_CASE("covergan msssim prints the value as its last line") {
  cgtest::TempDir dir;
  const int S = 32;
  const auto a = pattern(S, 1), b = pattern(S, 2);
  cg::data::write_png_rgb(dir / "a.png", a.data(), S, S);
  cg::data::write_png_rgb(dir / "b.png", b.data(), S, S);
  auto r = covergan("msssim " + (dir / "a.png") + " " + (dir / "a.png") + " --size 32");
  CHECK(r.rc == 0);
  CHECK(std::stod(last_line(r.text)) == 1.0);
  r = covergan("msssim " + (dir / "a.png") + " " + (dir / "b.png") + " --size 32 -v");
  CHECK(r.rc == 0);
  const double want = cg::gan::msssim(planar(a, S).data(), planar(b, S).data(), 3, S, S);
  CHECK(std::stod(last_line(r.text)) == doctest::Approx(want).epsilon(1e-5));
  CHECK(r.text.find("scale 5 (2x2)") != std::string::npos);
  r = covergan("msssim " + (dir / "a.png") + " " + (dir / "missing.png"));
  CHECK(r.rc != 0);
  CHECK(r.text.find("missing.png") != std::string::npos);
}

TEST_CASE("covergan plot draws the curves of a metrics.csv") {
  cgtest::TempDir dir;
  {
    std::ofstream f(dir / "metrics.csv");
    f << "step,phase,epoch,d_loss,d_src_real,d_src_fake,d_cls_real,d_cls_fake,d_code,g_loss,g_src,g_cls,g_code,"
         "d_x,d_g_z,acc_real,acc_fake,images_per_s,time_s\n";
    for (int s = 1; s <= 50; ++s)
      f << s << ",finetune,0," << 2.0 / s << ",0.5,0.5,1.2,1.3,0.1," << 1.0 + s * 0.01 << ",0.7,1.1,0.1,0.8,0.2,"
        << s / 50.0 << "," << s / 100.0 << ",100,1\n";
    f << "51,finetune,0,1.0";  // a torn last line, as while training runs
  }
  const auto cols = cg::gan::read_metrics_csv(dir / "metrics.csv");
  CHECK(cols.at("step").size() == 50);
  CHECK(cols.at("acc_real").back() == doctest::Approx(1.0));
  const auto r = covergan("plot " + dir.path().string());
  CHECK(r.rc == 0);
  for (const char* f : {"losses.png", "d_outputs.png", "accuracy.png", "genre_terms.png"})
    CHECK(std::filesystem::file_size(dir / (std::string("plots/") + f)) > 1000);
  CHECK(covergan("plot " + (dir / "nothing")).rc != 0);
}

namespace {
// A metrics.csv with d_loss = a / step + b and acc_real = step / n.
void write_metrics(const std::string& dir, double a, double b, int n) {
  std::filesystem::create_directories(dir);
  std::ofstream f(dir + "/metrics.csv");
  f << "step,phase,epoch,d_loss,g_loss,acc_real\n";
  for (int s = 1; s <= n; ++s) f << s << ",finetune,0," << a / s + b << "," << 1.0 + 0.001 * s << "," << double(s) / n << "\n";
}
// Pixels within a small distance of colour c in rows [y0, y1).
int colour_pixels(const cg::data::Image& img, std::array<int, 3> c, int y0, int y1) {
  int n = 0;
  for (int y = y0; y < y1; ++y)
    for (int x = 0; x < img.width; ++x) {
      const uint8_t* p = img.rgb.data() + (size_t(y) * size_t(img.width) + size_t(x)) * 3;
      n += std::abs(p[0] - c[0]) + std::abs(p[1] - c[1]) + std::abs(p[2] - c[2]) <= 40 ? 1 : 0;
    }
  return n;
}
}  // namespace

TEST_CASE("covergan plot overlays two runs: one panel per metric, one colour per run") {
  cgtest::TempDir dir;
  write_metrics(dir / "runA", 2.0, 0.1, 300);
  write_metrics(dir / "runB", 5.0, 0.4, 200);
  const std::string out = dir / "cmp/overlay.png";
  const auto r = covergan("plot " + (dir / "runA") + " " + (dir / "runB") + " --metrics d_loss,acc_real --smooth 9 -o " + out);
  INFO(r.text);
  REQUIRE(r.rc == 0);
  CHECK(r.text.find("covergan plot: 2 runs, 2 metrics -> " + out) != std::string::npos);
  CHECK(r.text.find("runA") != std::string::npos);
  CHECK(r.text.find("200 iterations") != std::string::npos);
  const auto bytes = cg::data::read_file_bytes(out);
  const cg::data::Image img = cg::data::decode_png(bytes.data(), bytes.size());
  CHECK(img.width == 900);
  REQUIRE(img.height == 640);  // two panels of 320
  // The palette's first two colours (runA blue, runB orange), in both panels.
  for (int panel = 0; panel < 2; ++panel) {
    CHECK(colour_pixels(img, {31, 119, 180}, panel * 320, panel * 320 + 320) > 100);
    CHECK(colour_pixels(img, {255, 127, 14}, panel * 320, panel * 320 + 320) > 100);
  }
  // One run alone writes RUN/plots/overlay.png; bad requests get one sentence.
  CHECK(covergan("plot " + (dir / "runA") + " --metrics g_loss").rc == 0);
  CHECK(std::filesystem::exists(dir / "runA/plots/overlay.png"));
  CHECK(covergan("plot " + (dir / "runA") + " -o " + (dir / "one.png")).rc == 0);  // d_loss and g_loss
  CHECK(cg::data::read_file_bytes(dir / "one.png").size() > 1000);
  auto e = covergan("plot " + (dir / "runA") + " " + (dir / "runB"));
  CHECK(e.rc != 0);
  CHECK(e.text.find("Several runs go into one picture: name it with -o FILE.png.") != std::string::npos);
  e = covergan("plot " + (dir / "runA") + " --metrics d_loss,nope -o " + (dir / "x.png"));
  CHECK(e.rc != 0);
  CHECK(e.text.find("has no column nope; it has acc_real, d_loss, epoch, g_loss") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir / "x.png"));
  e = covergan("plot " + (dir / "runA") + " " + (dir / "runB") + " -o " + (dir / "x.jpg"));
  CHECK(e.rc != 0);
  CHECK(e.text.find("give -o a file name ending in .png") != std::string::npos);
}

TEST_CASE("moving_average is centred, shrinks at the ends and skips NaN") {
  const auto m = cg::gan::moving_average({1, 2, 3, 4, 5}, 3);
  REQUIRE(m.size() == 5);
  CHECK(m[0] == doctest::Approx(1.5));
  CHECK(m[2] == doctest::Approx(3));
  CHECK(m[4] == doctest::Approx(4.5));
  const auto n = cg::gan::moving_average({1, NAN, 3, 5}, 3);
  CHECK(std::isnan(n[1]));  // a missing value stays missing
  CHECK(n[2] == doctest::Approx(4));  // (3 + 5) / 2: the NaN left out
  CHECK(cg::gan::moving_average({1, 2}, 1) == std::vector<double>{1, 2});
}

TEST_CASE("the report's curve captions say what each picture shows") {
  for (const char* f : {"losses.png", "d_outputs.png", "accuracy.png", "genre_terms.png"}) {
    const std::string c = cg::gan::curve_caption(f);
    CHECK(c.size() > 40);
    CHECK(c.find(".png") == std::string::npos);
  }
}
