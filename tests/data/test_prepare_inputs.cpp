// `prepare` against hostile inputs (issue 14): non-UTF-8 genre folders, outputs that
// name an input, a failed run beside an older good dataset, Ctrl-C mid-run, label
// manifests with a BOM, ./ and ../ paths, conflicting rows and genres naming no
// file, and a .cgd whose genre table is damaged after the fact.
#include <doctest/doctest.h>
#include <signal.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "data/dataset.h"
#include "data/dataset_format.h"
#include "data/image_writers.h"
#include "data/prepare.h"
#include "base/check.h"
#include "support/temp_dir.h"

namespace fs = std::filesystem;
using namespace cg::data;

namespace {

// A small PNG whose colour depends on i, so no two are duplicates.
std::vector<uint8_t> png_of(int i) {
  cgtest::PngSpec s;
  s.width = 20, s.height = 20;
  for (int y = 0; y < 20; ++y)
    for (int x = 0; x < 20; ++x)
      for (int c = 0; c < 3; ++c) s.samples.push_back(uint16_t((i * 37 + x * (c + 1) * 5 + y * 3 * (i % 7 + 1)) % 256));
  return cgtest::encode_png(s);
}

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void put(const std::string& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

PrepareOptions opts(const cgtest::TempDir& d, const std::string& out) {
  PrepareOptions o;
  o.sources = {d / "src"};
  o.output = d / out;
  o.size = 16;
  o.threads = 1;
  return o;
}

// src/<genre>/imgK.png for each genre, n images each.
void make_src(const cgtest::TempDir& d, const std::vector<std::string>& genres, int n) {
  int k = 0;
  for (const auto& g : genres) {
    fs::create_directories(d / ("src/" + g));
    for (int i = 0; i < n; ++i) cgtest::write_bytes(d / ("src/" + g + "/img" + std::to_string(i) + ".png"), png_of(k++));
  }
}

std::string error_of(const PrepareOptions& o) {
  try {
    prepare_dataset(o);
  } catch (const cg::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("prepare refuses a genre folder whose name is not UTF-8, before writing anything") {
  cgtest::TempDir d;
  make_src(d, {"rock", "bad\xff\xfe"}, 2);
  const std::string err = error_of(opts(d, "out.cgd"));
  INFO(err);
  CHECK(err.find("not UTF-8") != std::string::npos);
  CHECK(err.find("\\xFF\\xFE") != std::string::npos);  // the message shows the bytes
  CHECK_FALSE(fs::exists(d / "out.cgd"));
  CHECK(cgtest::temp_files_of(d / "out.cgd").empty());
}

TEST_CASE("a dataset whose genre table holds non-UTF-8 or repeated names is refused on open") {
  cgtest::TempDir d;
  DatasetInfo info;
  info.size = 4;
  info.genres = {"aa", "bb"};
  info.count = 2;
  std::vector<uint8_t> px(2 * 4 * 4 * 3, 7);
  write_dataset(d / "x.cgd", info, px.data(), {0, 1});
  // Rewrite genre 1's two bytes in place and fix the header CRC: the file is intact
  // byte-wise (as one written by an older build would be) but the names are bad.
  auto patch = [&](const char* name2, const std::string& out) {
    std::string b = slurp(d / "x.cgd");
    uint32_t hb;
    std::memcpy(&hb, b.data() + cgd::kOffHeaderBytes, 4);
    const size_t g1 = cgd::kFixedHeader + 2 + 2 + 2;  // len "aa", then genre 1's length
    std::memcpy(b.data() + g1, name2, 2);
    const uint32_t crc = uint32_t(crc32(0L, reinterpret_cast<const Bytef*>(b.data()), hb - 4));
    std::memcpy(b.data() + hb - 4, &crc, 4);
    put(d / out, b);
  };
  patch("\xff\xfe", "bad_utf8.cgd");
  patch("aa", "dup.cgd");
  for (const auto& [file, needle] : {std::pair<std::string, std::string>{"bad_utf8.cgd", "not UTF-8"}, {"dup.cgd", "twice"}}) {
    CAPTURE(file);
    std::string err;
    try {
      Dataset::open(d / file);
    } catch (const cg::Error& e) {
      err = e.what();
    }
    CHECK(err.find(needle) != std::string::npos);
  }
  // The writer refuses them too.
  info.genres = {"aa", "aa"};
  CHECK_THROWS_WITH_AS(write_dataset(d / "y.cgd", info, px.data(), {0, 1}), doctest::Contains("named twice"), cg::Error);
}

TEST_CASE("prepare never overwrites its inputs: -o, --skipped-csv or --duplicates-csv naming a source or each other") {
  cgtest::TempDir d;
  make_src(d, {"rock"}, 3);
  const std::string img = d / "src/rock/img0.png";
  const std::string before = slurp(img);
  PrepareOptions o = opts(d, "out.cgd");
  o.output = img;
  CHECK(error_of(o).find("never overwrites its inputs") != std::string::npos);
  o = opts(d, "out.cgd");
  o.skipped_csv = img;
  CHECK(error_of(o).find("never overwrites its inputs") != std::string::npos);
  o = opts(d, "y.cgd");
  o.duplicates_csv = d / "y.cgd";
  CHECK(error_of(o).find("give them different paths") != std::string::npos);
  CHECK(slurp(img) == before);
  CHECK_FALSE(fs::exists(d / "y.cgd"));
  // The manifest is an input too.
  put(d / "labels.csv", "rock/img0.png,rock\n");
  o = opts(d, "out.cgd");
  o.labels = LabelSource::csv;
  o.labels_csv = d / "labels.csv";
  o.skipped_csv = d / "labels.csv";
  CHECK(error_of(o).find("label manifest") != std::string::npos);
  CHECK(slurp(d / "labels.csv") == "rock/img0.png,rock\n");
}

TEST_CASE("a failed prepare leaves an older dataset and its skipped and duplicates lists untouched") {
  cgtest::TempDir d;
  make_src(d, {"rock"}, 3);
  cgtest::write_bytes(d / "src/rock/broken.png", {1, 2, 3});
  cgtest::write_bytes(d / "src/rock/copy.png", png_of(0));
  prepare_dataset(opts(d, "good.cgd"));
  const std::string cgd = slurp(d / "good.cgd"), skipped = slurp(d / "good.cgd.skipped.csv"),
                    dups = slurp(d / "good.cgd.duplicates.csv");
  REQUIRE(skipped.find("broken.png") != std::string::npos);
  REQUIRE(dups.find("copy.png") != std::string::npos);
  // A second run into the same output where every file is broken fails...
  fs::remove_all(d / "src");
  fs::create_directories(d / "src/rock");
  cgtest::write_bytes(d / "src/rock/junk.png", {9, 9, 9});
  CHECK_THROWS_AS(prepare_dataset(opts(d, "good.cgd")), EmptyDatasetError);
  // ...and the old dataset and both of its lists are as they were.
  CHECK(slurp(d / "good.cgd") == cgd);
  CHECK(slurp(d / "good.cgd.skipped.csv") == skipped);
  CHECK(slurp(d / "good.cgd.duplicates.csv") == dups);
}

TEST_CASE("Ctrl-C during prepare stops it with no OUTPUT.tmp left and nothing replaced") {
  cgtest::TempDir d;
  make_src(d, {"rock"}, 30);
  put(d / "out.cgd", "an older file that must survive");
  struct sigaction before {};
  ::sigaction(SIGINT, nullptr, &before);
  for (int sig : {SIGINT, SIGTERM}) {
    CAPTURE(sig);
    PrepareOptions o = opts(d, "out.cgd");
    o.handle_signals = true;
    o.progress_interval = 0;
    o.progress = [sig](const PrepareProgress& p) {
      if (p.done == 5) ::raise(sig);  // as if the user pressed Ctrl-C five files in
    };
    const std::string err = error_of(o);
    CHECK(err.find("Interrupted") != std::string::npos);
    CHECK(cgtest::temp_files_of(d / "out.cgd").empty());
    CHECK(slurp(d / "out.cgd") == "an older file that must survive");
    CHECK_FALSE(fs::exists(d / "out.cgd.skipped.csv"));
  }
  // The handlers are gone afterwards: the one before is back.
  struct sigaction now {};
  ::sigaction(SIGINT, nullptr, &now);
  CHECK(bool(now.sa_handler == before.sa_handler));
}

TEST_CASE("label manifests: a BOM, ./ and ../ paths, conflicting rows and genres naming no file") {
  cgtest::TempDir d;
  make_src(d, {"a"}, 4);
  fs::create_directories(d / "meta");
  // BOM before the header row; ./ relative to the source; ../ relative to the manifest's folder.
  put(d / "meta/labels.csv", "\xEF\xBB\xBFpath,genre\n./a/img0.png,jazz\n../src/a/img1.png,rock\na/img2.png,rock\n"
                              "a/missing.png,ghost\n");
  PrepareOptions o = opts(d, "m.cgd");
  o.labels = LabelSource::csv;
  o.labels_csv = d / "meta/labels.csv";
  const PrepareReport r = prepare_dataset(o);
  CHECK(r.genres == std::vector<std::string>{"jazz", "rock"});  // no "path" genre, no empty "ghost" class
  CHECK(r.images == 3);
  CHECK(r.manifest_unmatched == std::vector<std::string>{"a/missing.png"});
  // One file given two genres is an error, not a silently dropped row.
  put(d / "meta/labels.csv", "a/img0.png,jazz\n./a/img0.png,rock\n");
  CHECK(error_of(o).find("two genres") != std::string::npos);
}
