// Charts (data/chart, data/plot): text in DejaVu Sans through FreeType with real
// descenders (the old bitmap font drew g, p and y as 9 and P), ticks at 1-2-5 steps,
// and line, box and roofline plots whose PNGs hold each series' colour where its values put it.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include "data/chart.h"
#include "data/image.h"
#include "data/plot.h"
#include "data/roofline.h"
#include "support/temp_dir.h"

using namespace cg::data;

namespace {

Image load(const std::string& path) {
  const auto bytes = read_file_bytes(path);
  return decode_png(bytes.data(), bytes.size());
}

bool near(const Image& img, int x, int y, Rgb c, int tol = 40) {
  const uint8_t* p = img.rgb.data() + (size_t(y) * size_t(img.width) + size_t(x)) * 3;
  return std::abs(p[0] - c[0]) + std::abs(p[1] - c[1]) + std::abs(p[2] - c[2]) <= tol;
}

// Pixels of colour c in rows [y0, y1) and columns [x0, x1), and their mean row.
struct Hits {
  int n = 0;
  double mean_y = 0;
};
Hits hits(const Image& img, Rgb c, int x0, int x1, int y0, int y1) {
  Hits h;
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x)
      if (near(img, x, y, c)) ++h.n, h.mean_y += y;
  if (h.n) h.mean_y /= h.n;
  return h;
}

int dark(const Image& img, int x0, int x1, int y0, int y1) {
  int n = 0;
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) n += near(img, x, y, {30, 30, 30}, 150) ? 1 : 0;
  return n;
}

constexpr Rgb kRed{220, 20, 20}, kBlue{20, 60, 220};

}  // namespace

TEST_CASE("chart text is DejaVu Sans through FreeType: g, p and y reach below the baseline, 9 and P do not") {
  CHECK(chart_font_name() == "DejaVu Sans");
  const TextInk descenders = text_ink("gpy", 24), none = text_ink("9P", 24), plain = text_ink("ace", 24);
  CHECK(descenders.below >= 4);
  CHECK(none.below <= 1);
  CHECK(plain.below <= 1);
  CHECK(none.above > plain.above);  // digits and capitals are taller than x-height letters
  CHECK(text_ink("", 24).above == 0);
}

TEST_CASE("chart ticks fall on 1-2-5 steps covering the range and print the decimals the step needs") {
  const auto t = nice_ticks(0, 1, 5);
  REQUIRE(t.size() == 6);
  for (size_t i = 0; i < t.size(); ++i) CHECK(t[i] == doctest::Approx(0.2 * double(i)));
  const auto u = nice_ticks(3, 4987, 6);
  REQUIRE(u.size() >= 2);
  CHECK(u[1] - u[0] == doctest::Approx(1000));
  CHECK(u.front() == doctest::Approx(1000));  // the first multiple of the step inside the range
  CHECK(u.back() == doctest::Approx(4000));
  const auto v = nice_ticks(-0.013, 0.041, 5);
  CHECK(v[1] - v[0] == doctest::Approx(0.01));
  CHECK(v.front() == doctest::Approx(-0.01));
  CHECK(tick_label(0.25, 0.05) == "0.25");
  CHECK(tick_label(0.2, 0.2) == "0.2");
  CHECK(tick_label(3, 1) == "3");
  CHECK(tick_label(1500, 500) == "1500");
  CHECK(tick_label(2000, 1000) == "2k");
  CHECK(tick_label(25000, 5000) == "25k");
  CHECK(tick_label(-0.01, 0.01) == "-0.01");
}

TEST_CASE("line plot: each series drawn in its colour where its values put it, with title and tick labels") {
  cgtest::TempDir dir;
  cg::gan::PlotSeries up{"rising", kRed, {}, {}}, down{"falling", kBlue, {}, {}};
  for (int i = 0; i <= 200; ++i) {
    up.x.push_back(i), up.y.push_back(i / 200.0);
    down.x.push_back(i), down.y.push_back(1.0 - i / 200.0);
  }
  down.y[100] = NAN;  // skipped, not drawn as a spike
  const std::string path = dir / "p.png";
  cg::gan::write_line_plot(path, {up, down}, "gapping yaw", 640, 360, "value");
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
  const Image img = load(path);
  REQUIRE(img.width == 640);
  REQUIRE(img.height == 360);
  // The plot area starts right of the y tick labels; its left quarter and right quarter.
  const int top = 40, bottom = 300, lq0 = 90, lq1 = 200, rq0 = 480, rq1 = 600;
  const Hits up_l = hits(img, kRed, lq0, lq1, top, bottom), up_r = hits(img, kRed, rq0, rq1, top, bottom);
  const Hits dn_l = hits(img, kBlue, lq0, lq1, top, bottom), dn_r = hits(img, kBlue, rq0, rq1, top, bottom);
  REQUIRE(up_l.n > 50);
  REQUIRE(up_r.n > 50);
  REQUIRE(dn_l.n > 50);
  REQUIRE(dn_r.n > 50);
  CHECK(up_l.mean_y > up_r.mean_y + 100);  // rising: lower on the left (larger row)
  CHECK(dn_l.mean_y + 100 < dn_r.mean_y);
  CHECK(dark(img, 70, 400, 0, 30) > 80);     // the title
  CHECK(dark(img, 0, 75, 40, 300) > 100);    // y tick labels and the axis label
  CHECK(dark(img, 80, 630, 305, 345) > 100); // x tick labels and "iteration"
}

TEST_CASE("line panels stack top to bottom, each with its own series") {
  cgtest::TempDir dir;
  cg::gan::PlotSeries a{"a", kRed, {0, 1, 2, 3}, {1, 3, 2, 4}}, b{"b", kBlue, {0, 1, 2, 3}, {100, 90, 95, 80}};
  const std::string path = dir / "panels.png";
  // The second panel marks x = 1.5 (a dashed grey line, from x 0..3 across the frame's 404 px
  // from 78: column 280); the first marks x = 7, outside its range, so nothing.
  cg::gan::write_line_panels(path,
                             {{"first", "iteration", "x", {a}, {{7.0, "outside"}}},
                              {"second", "iteration", "y", {b}, {{1.5, "threshold"}}}},
                             500, 250);
  const Image img = load(path);
  REQUIRE(img.width == 500);
  REQUIRE(img.height == 500);
  CHECK(hits(img, kRed, 0, 500, 0, 250).n > 50);
  CHECK(hits(img, kRed, 0, 500, 250, 500).n == 0);
  CHECK(hits(img, kBlue, 0, 500, 250, 500).n > 50);
  CHECK(hits(img, kBlue, 0, 500, 0, 250).n == 0);
  const Rgb grey{120, 120, 120};
  CHECK(hits(img, grey, 276, 285, 300, 440).n > 40);  // the mark, dashed: about half its 140 rows
  CHECK(hits(img, grey, 276, 285, 50, 190).n < 5);    // none in the first panel
  CHECK_THROWS(cg::gan::write_line_panels(dir / "none.png", {}, 500, 250));
}

TEST_CASE("box plot: one box per series and group, higher values higher up") {
  cgtest::TempDir dir;
  const std::string path = dir / "box.png";
  std::vector<cg::gan::BoxGroup> groups{{"rock", {{0.1, 0.15, 0.2, 0.25, 0.3}, {0.6, 0.65, 0.7, 0.75, 0.8}}},
                                        {"jazz", {{0.1, 0.15, 0.2, 0.25, 0.3}, {0.6, 0.65, 0.7, 0.75, 0.8}}}};
  cg::gan::write_box_plot(path, groups, {"low", "high"}, {kRed, kBlue}, "two kinds", 0, 1, 0.1, 600, 400);
  const Image img = load(path);
  REQUIRE(img.width == 600);
  const Hits red = hits(img, kRed, 64, 590, 70, 370), blue = hits(img, kBlue, 64, 590, 70, 370);
  REQUIRE(red.n > 100);
  REQUIRE(blue.n > 100);
  CHECK(blue.mean_y + 80 < red.mean_y);
  CHECK(hits(img, kRed, 64, 320, 70, 370).n > 50);  // a box in each group
  CHECK(hits(img, kRed, 330, 590, 70, 370).n > 50);
  CHECK(dark(img, 64, 590, 372, 400) > 40);  // the group labels
}

TEST_CASE("roofline: points coloured by pass, further right for a higher intensity, on the chart canvas") {
  cgtest::TempDir dir;
  const std::string path = dir / "roof.png";
  write_roofline_png(path, {{"D.conv2", "forward", 0.5, 2.0}, {"G.deconv1", "backward-data", 50.0, 40.0}}, 100.0, 10.0,
                     "gapping roofline", 700, 460);
  const Image img = load(path);
  REQUIRE(img.width == 700);
  REQUIRE(img.height == 460);
  // Forward blue, backward-data orange (the legend adds each colour in the top strip).
  const Hits fwd = hits(img, {31, 119, 180}, 64, 690, 50, 410), bwd = hits(img, {255, 127, 14}, 64, 690, 50, 410);
  REQUIRE(fwd.n > 10);
  REQUIRE(bwd.n > 10);
  int fx = 0, bx = 0, nf = 0, nb = 0;
  for (int y = 50; y < 410; ++y)
    for (int x = 64; x < 690; ++x) {
      if (near(img, x, y, {31, 119, 180})) fx += x, ++nf;
      if (near(img, x, y, {255, 127, 14})) bx += x, ++nb;
    }
  CHECK(fx / nf + 100 < bx / nb);
  CHECK(bwd.mean_y + 50 < fwd.mean_y);  // 40 GFLOP/s above 2
  CHECK(dark(img, 64, 400, 0, 30) > 80);  // the title
}
