// `prepare` end to end on folders written by the test: broken files are skipped
// with their reasons while good ones are kept; labels from folders, a CSV or none;
// duplicates reported with the file they matched; the same bytes for any thread
// count; clear errors for a missing source or an empty result.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "data/dataset.h"
#include "data/image_writers.h"
#include "data/prepare.h"
#include "support/temp_dir.h"

using namespace cg::data;
namespace fs = std::filesystem;

namespace {

std::vector<uint8_t> solid_png(int w, int h, uint8_t r, uint8_t g, uint8_t b) {
  cgtest::PngSpec s;
  s.width = w, s.height = h;
  for (int i = 0; i < w * h; ++i) s.samples.insert(s.samples.end(), {r, g, b});
  return cgtest::encode_png(s);
}

std::vector<uint8_t> pattern_jpeg(int w, int h, int seed) {
  cgtest::JpegSpec s;
  s.width = w, s.height = h;
  s.samples = cgtest::smooth_rgb(w, h);
  for (size_t i = 0; i < s.samples.size(); i += 3) s.samples[i + 2] = uint8_t(s.samples[i + 2] + seed * 37);
  return cgtest::encode_jpeg(s);
}

std::string read_text(const std::string& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<uint8_t> read_bytes(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// root/rock: 3 good JPEGs and the broken files; root/jazz: 2 good PNGs.
void make_tree(const cgtest::TempDir& dir) {
  fs::create_directories(dir / "src/rock");
  fs::create_directories(dir / "src/jazz");
  for (int i = 0; i < 3; ++i) cgtest::write_bytes(dir / ("src/rock/good" + std::to_string(i) + ".jpg"), pattern_jpeg(120, 90, i));
  cgtest::write_bytes(dir / "src/jazz/blue.png", solid_png(50, 70, 10, 20, 200));
  cgtest::write_bytes(dir / "src/jazz/red.png", solid_png(300, 200, 230, 5, 5));
  auto jpeg = pattern_jpeg(64, 64, 9);
  std::fill(jpeg.begin() + 20, jpeg.begin() + 60, 0);
  cgtest::write_bytes(dir / "src/rock/corrupt.jpg", jpeg);
  const auto png = solid_png(64, 64, 1, 2, 3);
  cgtest::write_bytes(dir / "src/rock/truncated.png", std::vector<uint8_t>(png.begin(), png.begin() + long(png.size() / 2)));
  cgtest::write_bytes(dir / "src/rock/empty.jpg", {});
  const std::string text = "not an image at all\n";
  cgtest::write_bytes(dir / "src/rock/notes.png", std::vector<uint8_t>(text.begin(), text.end()));
  auto huge = solid_png(4, 4, 0, 0, 0);
  for (int k = 0; k < 2; ++k)
    for (int b = 0; b < 4; ++b) huge[size_t(16 + 4 * k + b)] = uint8_t(200000u >> (24 - 8 * b));
  cgtest::write_bytes(dir / "src/rock/huge.png", huge);
  cgtest::write_bytes(dir / "src/.hidden.jpg", {});  // hidden: ignored entirely
}

PrepareOptions options(const cgtest::TempDir& dir, const std::string& out) {
  PrepareOptions o;
  o.sources = {dir / "src"};
  o.output = dir / out;
  o.size = 16;
  o.threads = 2;
  return o;
}

}  // namespace

TEST_CASE("prepare: every broken file is skipped with its reason, the good ones are kept") {
  cgtest::TempDir dir;
  make_tree(dir);
  const PrepareReport r = prepare_dataset(options(dir, "out.cgd"));
  CHECK(r.files == 10);
  CHECK(r.images == 5);
  CHECK(r.genres == std::vector<std::string>{"jazz", "rock"});
  CHECK(r.per_genre == std::vector<int64_t>{2, 3});
  std::map<std::string, std::pair<SkipKind, std::string>> skipped;
  for (const auto& s : r.skipped) skipped[fs::path(s.path).filename().string()] = {s.kind, s.reason};
  REQUIRE(skipped.size() == 5);
  CHECK(skipped["corrupt.jpg"].first == SkipKind::corrupt);
  CHECK(skipped["truncated.png"].first == SkipKind::truncated);
  CHECK(skipped["empty.jpg"].first == SkipKind::empty);
  CHECK(skipped["notes.png"].first == SkipKind::not_image);
  CHECK(skipped["huge.png"].first == SkipKind::too_large);
  CHECK(skipped["huge.png"].second.find("200000x200000") != std::string::npos);
  CHECK(read_text(r.skipped_csv).find("truncated.png,truncated,") != std::string::npos);

  const Dataset ds = Dataset::open(dir / "out.cgd");
  REQUIRE(ds.info().count == 5);
  CHECK(ds.info().size == 16);
  // Files go in path order: jazz/blue, jazz/red, rock/good0..2; solid covers stay exact.
  CHECK(ds.label(0) == 0);
  CHECK(ds.label(4) == 1);
  const uint8_t* blue = ds.pixels(0);
  const uint8_t* red = ds.pixels(1);
  bool exact = true;
  for (int i = 0; i < 16 * 16; ++i) {
    exact &= blue[3 * i] == 10 && blue[3 * i + 1] == 20 && blue[3 * i + 2] == 200;
    exact &= red[3 * i] == 230 && red[3 * i + 1] == 5 && red[3 * i + 2] == 5;
  }
  CHECK(exact);
  CHECK(cgtest::temp_files_of(dir / "out.cgd").empty());
}

TEST_CASE("prepare: the same dataset for one thread or several") {
  cgtest::TempDir dir;
  make_tree(dir);
  PrepareOptions a = options(dir, "one.cgd"), b = options(dir, "many.cgd");
  a.threads = 1, b.threads = 5;
  prepare_dataset(a);
  prepare_dataset(b);
  CHECK(read_bytes(dir / "one.cgd") == read_bytes(dir / "many.cgd"));
}

TEST_CASE("prepare: duplicates are removed and listed with the file they matched") {
  cgtest::TempDir dir;
  fs::create_directories(dir / "src/pop");
  const auto a = pattern_jpeg(200, 200, 1);
  cgtest::write_bytes(dir / "src/pop/a.jpg", a);
  cgtest::write_bytes(dir / "src/pop/b_copy.jpg", a);  // exact after decoding and fitting
  cgtest::write_bytes(dir / "src/pop/c.jpg", pattern_jpeg(200, 200, 4));
  cgtest::JpegSpec near;  // a at another JPEG quality: same picture, other bytes
  near.width = 200, near.height = 200, near.quality = 70;
  near.samples = cgtest::smooth_rgb(200, 200);
  for (size_t i = 0; i < near.samples.size(); i += 3) near.samples[i + 2] = uint8_t(near.samples[i + 2] + 37);
  cgtest::write_bytes(dir / "src/pop/d_near.jpg", cgtest::encode_jpeg(near));

  PrepareOptions o = options(dir, "d.cgd");
  o.size = 32;
  o.dedupe = DedupeMode::perceptual;
  const PrepareReport r = prepare_dataset(o);
  CHECK(r.images == 2);
  REQUIRE(r.duplicates.size() == 2);
  CHECK(fs::path(r.duplicates[0].path).filename() == "b_copy.jpg");
  CHECK(fs::path(r.duplicates[0].kept_path).filename() == "a.jpg");
  CHECK(r.duplicates[0].exact);
  CHECK(fs::path(r.duplicates[1].path).filename() == "d_near.jpg");
  CHECK(fs::path(r.duplicates[1].kept_path).filename() == "a.jpg");
  CHECK_FALSE(r.duplicates[1].exact);
  const std::string csv = read_text(r.duplicates_csv);
  CHECK(csv.rfind("removed,kept,match,distance\n", 0) == 0);
  CHECK(csv.find("b_copy.jpg," + (dir / "src/pop/a.jpg") + ",exact,0") != std::string::npos);

  o.dedupe = DedupeMode::off;
  o.output = dir / "all.cgd";
  CHECK(prepare_dataset(o).images == 4);
}

TEST_CASE("prepare: labels from a CSV manifest, or none") {
  cgtest::TempDir dir;
  make_tree(dir);
  {
    std::ofstream csv(dir / "labels.csv");
    csv << "path,genre\n"
        << "rock/good0.jpg,metal\n"
        << "\"rock/good1.jpg\",\"hip, hop\"\n"
        << (dir / "src/jazz/red.png") << ",metal\n"
        << "rock/missing.jpg,metal\n";
  }
  PrepareOptions o = options(dir, "csv.cgd");
  o.labels = LabelSource::csv;
  o.labels_csv = dir / "labels.csv";
  const PrepareReport r = prepare_dataset(o);
  CHECK(r.genres == std::vector<std::string>{"hip, hop", "metal"});
  CHECK(r.per_genre == std::vector<int64_t>{1, 2});
  CHECK(r.manifest_unmatched == std::vector<std::string>{"rock/missing.jpg"});
  CHECK(Dataset::open(dir / "csv.cgd").info().genres == r.genres);

  o.labels = LabelSource::none;
  o.output = dir / "none.cgd";
  const PrepareReport n = prepare_dataset(o);
  CHECK(n.images == 5);
  const Dataset ds = Dataset::open(dir / "none.cgd");
  CHECK_FALSE(ds.info().labeled());
  CHECK(ds.label(0) == -1);
}

TEST_CASE("prepare: clear errors for a missing source, bad options and an empty result") {
  cgtest::TempDir dir;
  auto message = [](const PrepareOptions& o) -> std::string {
    try {
      prepare_dataset(o);
    } catch (const cg::Error& e) {
      return e.what();
    }
    return "";
  };
  PrepareOptions o;
  o.sources = {dir / "nope"};
  o.output = dir / "x.cgd";
  CHECK(message(o).find("does not exist") != std::string::npos);
  o.sources = {dir.path().string()};
  o.size = 48;
  CHECK(message(o).find("16, 32, 64 or 128") != std::string::npos);
  o.size = 64;
  cgtest::write_bytes(dir / "flat.jpg", pattern_jpeg(32, 32, 0));  // not inside a genre folder
  const std::string err = message(o);
  CHECK(err.find("No usable images") != std::string::npos);
  CHECK(err.find("--labels none") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "x.cgd"));
  CHECK(cgtest::temp_files_of(dir / "x.cgd").empty());
  o.labels = LabelSource::csv;
  o.labels_csv = dir / "missing.csv";
  CHECK(message(o).find("Cannot read the label manifest") != std::string::npos);
}
