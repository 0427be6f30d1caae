// The .cgd dataset: round trips (labeled, unlabeled, empty, several checksum
// blocks), every single flipped byte found at open, truncated and foreign files
// refused with a clear sentence, and the writer's temporary-file discipline.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "data/dataset.h"
#include "base/check.h"
#include "support/temp_dir.h"

using namespace cg::data;

namespace {

std::vector<uint8_t> read_all(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_all(const std::string& p, const std::vector<uint8_t>& b) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}

struct Made {
  DatasetInfo info;
  std::vector<uint8_t> pixels;
  std::vector<int32_t> labels;
};

Made make(int64_t count, int size, std::vector<std::string> genres, uint32_t seed) {
  std::mt19937 rng(seed);
  Made m;
  m.info.count = count, m.info.size = size, m.info.genres = std::move(genres);
  m.pixels.resize(size_t(count) * size_t(size * size * 3));
  for (auto& v : m.pixels) v = uint8_t(rng());
  for (int64_t i = 0; i < count; ++i)
    m.labels.push_back(m.info.labeled() ? int32_t(rng() % m.info.genres.size()) : -1);
  return m;
}

std::string open_error(const std::string& path) {
  try {
    Dataset::open(path);
  } catch (const cg::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("dataset: round trip, labeled and unlabeled, across checksum blocks") {
  cgtest::TempDir dir;
  for (auto [count, genres] : {std::pair<int64_t, std::vector<std::string>>{2500, {"jazz", "rock", "hip hop"}},
                               {7, {}},
                               {0, {"x"}}}) {
    const Made m = make(count, 16, genres, 1);
    const std::string path = dir / "set.cgd";
    write_dataset(path, m.info, m.pixels.data(), m.labels);
    CHECK(cgtest::temp_files_of(path).empty());
    const Dataset ds = Dataset::open(path);
    REQUIRE(ds.info().count == count);
    CHECK(ds.info().size == 16);
    CHECK(ds.info().channels == 3);
    CHECK(ds.info().genres == genres);
    CHECK(ds.verify_checksums().empty());
    bool same = true;
    for (int64_t i = 0; i < count; ++i) {
      same &= std::equal(ds.pixels(i), ds.pixels(i) + 16 * 16 * 3, m.pixels.data() + i * 16 * 16 * 3);
      same &= ds.label(i) == m.labels[size_t(i)];
    }
    CHECK(same);
    if (!genres.empty()) {
      std::vector<int64_t> want(genres.size(), 0);
      for (int32_t l : m.labels) ++want[size_t(l)];
      CHECK(ds.genre_counts() == want);
    }
    CHECK_THROWS_AS(ds.pixels(count), cg::Error);
  }
}

TEST_CASE("dataset: every single flipped byte is found at open") {
  cgtest::TempDir dir;
  const Made m = make(5, 8, {"a", "bb"}, 2);
  const std::string path = dir / "small.cgd", bad = dir / "bad.cgd";
  write_dataset(path, m.info, m.pixels.data(), m.labels);
  const auto good = read_all(path);
  int64_t missed = -1;
  for (size_t i = 0; i < good.size(); ++i) {
    auto b = good;
    b[i] ^= 0x10;
    if (i % 512 == 0 || i + 8 >= good.size()) {  // through a file for some offsets, from memory for all
      write_all(bad, b);
      if (open_error(bad).empty()) missed = int64_t(i);
    }
    try {
      Dataset::from_bytes(b.data(), b.size(), "mem");
      missed = int64_t(i);
    } catch (const cg::Error&) {
    }
  }
  INFO("a flip at byte " << missed << " of " << good.size() << " went unnoticed");
  CHECK(missed == -1);
}

TEST_CASE("dataset: a flipped pixel byte is reported by the CRC with the images it hits") {
  cgtest::TempDir dir;
  const Made m = make(3000, 16, {"a"}, 3);
  const std::string path = dir / "set.cgd";
  write_dataset(path, m.info, m.pixels.data(), m.labels);
  auto b = read_all(path);
  b[4096 + 1500 * 16 * 16 * 3 + 17] ^= 1;  // image 1500: checksum block 1 (images 1024..2047)
  write_all(path, b);
  const std::string err = open_error(path);
  CHECK(err.find("images 1024..2047") != std::string::npos);
  CHECK(err.find("checksum") != std::string::npos);
  const Dataset ds = Dataset::open(path, false);  // still opens for inspection
  CHECK(ds.verify_checksums() == err);
}

TEST_CASE("dataset: truncated, foreign, missing and padded files are refused clearly") {
  cgtest::TempDir dir;
  const Made m = make(40, 16, {"a", "b"}, 4);
  const std::string path = dir / "set.cgd", cut = dir / "cut.cgd";
  write_dataset(path, m.info, m.pixels.data(), m.labels);
  const auto good = read_all(path);
  for (size_t len : {size_t(200), size_t(5000), good.size() / 2, good.size() - 1}) {
    write_all(cut, std::vector<uint8_t>(good.begin(), good.begin() + long(len)));
    const std::string err = open_error(cut);
    INFO("cut at " << len << ": " << err);
    CHECK(err.find("is truncated") != std::string::npos);
    CHECK(err.find("cut.cgd") != std::string::npos);
  }
  write_all(cut, {});
  CHECK(open_error(cut).find("empty") != std::string::npos);
  write_all(cut, std::vector<uint8_t>(good.begin(), good.begin() + 5));
  CHECK(open_error(cut).find("not a covergan dataset") != std::string::npos);
  const std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13};
  write_all(cut, png);
  CHECK(open_error(cut).find("not a covergan dataset") != std::string::npos);
  auto longer = good;
  longer.push_back(0);
  write_all(cut, longer);
  CHECK(open_error(cut).find("unexpected bytes") != std::string::npos);
  CHECK(open_error(dir / "missing.cgd").find("Cannot open") != std::string::npos);
}

TEST_CASE("dataset writer: unfinished files vanish, bad input is refused") {
  cgtest::TempDir dir;
  const std::string path = dir / "w.cgd";
  {
    DatasetInfo info;
    info.size = 8;
    DatasetWriter w(path, info);
    std::vector<uint8_t> px(8 * 8 * 3, 1);
    w.add(px.data(), -1);
    CHECK(std::filesystem::exists(w.temp_file()));
    CHECK(cgtest::temp_files_of(path) == std::vector<std::string>{w.temp_file()});
    std::vector<uint8_t> back(px.size());
    w.read_back(0, back.data());
    CHECK(back == px);
    CHECK_THROWS_AS(w.add(px.data(), 0), cg::Error);  // unlabeled set: label must be -1
  }  // no finish(): the temporary file is removed, nothing appears at path
  CHECK(cgtest::temp_files_of(path).empty());
  CHECK_FALSE(std::filesystem::exists(path));
  DatasetInfo bad;
  bad.genres = {""};
  CHECK_THROWS_AS(DatasetWriter(dir / "x.cgd", bad), cg::Error);
  bad.genres = {"ok"};
  bad.channels = 4;
  CHECK_THROWS_AS(DatasetWriter(dir / "x.cgd", bad), cg::Error);
  CHECK_THROWS_AS(DatasetWriter(dir / "no/such/folder/x.cgd", DatasetInfo{}), cg::Error);
}
