// Sample grids: tiles land where they should with the gap in white, genre names
// are drawn in their rows' label column, and PNGs round-trip exactly.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "data/grid.h"
#include "data/image.h"
#include "support/temp_dir.h"

using namespace cg::data;

namespace {

Image load(const std::string& path) {
  const auto bytes = read_file_bytes(path);
  return decode_png(bytes.data(), bytes.size());
}

const uint8_t* px(const Image& img, int x, int y) { return img.rgb.data() + (size_t(y) * img.width + x) * 3; }

// Image n is flat: channel c holds the float (n * 40 + c * 10) / 127.5 - 1, i.e. byte n*40 + c*10.
cg::Tensor flat_images(int n, int s) {
  std::vector<double> v;
  for (int i = 0; i < n; ++i)
    for (int c = 0; c < 3; ++c)
      for (int k = 0; k < s * s; ++k) v.push_back((i * 40 + c * 10) / 127.5 - 1.0);
  return cg::Tensor::from(v, cg::Shape{n, 3, s, s});
}

}  // namespace

TEST_CASE("grid: tiles and gaps are where they should be") {
  cgtest::TempDir dir;
  const std::string path = dir / "g.png";
  write_grid_png(path, flat_images(5, 8), 3, {}, 2);
  CHECK(cgtest::temp_files_of(path).empty());
  const Image img = load(path);
  REQUIRE(img.width == 3 * 8 + 4 * 2);
  REQUIRE(img.height == 2 * 8 + 3 * 2);
  for (int i = 0; i < 5; ++i) {
    const int x0 = 2 + (i % 3) * 10, y0 = 2 + (i / 3) * 10;
    for (int c = 0; c < 3; ++c) {
      CHECK(px(img, x0, y0)[c] == i * 40 + c * 10);
      CHECK(px(img, x0 + 7, y0 + 7)[c] == i * 40 + c * 10);
    }
  }
  CHECK(px(img, 1, 1)[0] == 255);     // gap
  CHECK(px(img, 10, 5)[1] == 255);    // gap between columns
  CHECK(px(img, 25, 15)[2] == 255);   // the empty sixth tile
}

TEST_CASE("grid: genre names are drawn beside their rows, in the chart font") {
  cgtest::TempDir dir;
  const std::string path = dir / "labels.png";
  write_grid_png(path, flat_images(4, 32), 2, {"jazz", "rap"}, 2);
  const Image img = load(path);
  const int label_w = img.width - (2 * 32 + 3 * 2);
  CHECK(label_w >= 20);  // the longer name and its padding
  CHECK(label_w <= 60);
  for (int r = 0; r < 2; ++r) {
    int ink = 0;
    for (int y = 2 + r * 34; y < 2 + r * 34 + 32; ++y)
      for (int x = 0; x < label_w; ++x) ink += px(img, x, y)[0] < 128;
    INFO("row " << r);
    CHECK(ink > 15);
  }
  for (int y : {0, 1, 34, 35, 68, 69})  // nothing in the gaps above, between and below the rows
    for (int x = 0; x < img.width; ++x) CHECK(px(img, x, y)[0] >= 200);
  CHECK_THROWS_AS(write_grid_png(path, flat_images(4, 8), 2, {"only one"}), cg::Error);
}

TEST_CASE("grid: write_png_rgb round-trips exactly") {
  cgtest::TempDir dir;
  std::vector<uint8_t> rgb(7 * 5 * 3);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = uint8_t(i * 13);
  write_png_rgb(dir / "x.png", rgb.data(), 7, 5);
  const Image img = load(dir / "x.png");
  CHECK(img.width == 7);
  CHECK(img.rgb == rgb);
  CHECK_THROWS_AS(write_png_rgb(dir / "no/such/dir/x.png", rgb.data(), 7, 5), cg::Error);
  // The rename fails (the target is a folder): the error names it and no temporary file is left.
  std::filesystem::create_directories(dir / "taken.png/inner");
  CHECK_THROWS_WITH_AS(write_png_rgb(dir / "taken.png", rgb.data(), 7, 5), doctest::Contains("Cannot rename"),
                       cg::Error);
  CHECK(cgtest::temp_files_of(dir / "taken.png").empty());
  CHECK(std::filesystem::is_directory(dir / "taken.png/inner"));
}
