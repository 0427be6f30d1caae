// The loader's slices for data-parallel ranks (LoaderConfig::slice_begin/end): the rows
// of every rank put together are, batch after batch and across epochs and a resume, the
// batches of one process with the whole batch (pixels, labels and flips), and each rank
// assembles only its own rows. Bad slices are refused.
#include <doctest/doctest.h>

#include "base/check.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "support/temp_dir.h"

using namespace cg::data;
using cg::Tensor;

namespace {

constexpr int S = 4, N = 37;  // 37 images: 4 batches of 8 and 5 left over each epoch

std::string make_set(const cgtest::TempDir& dir) {
  DatasetInfo info;
  info.count = N, info.size = S;
  info.genres = {"a", "b", "c"};
  std::vector<uint8_t> px;
  std::vector<int32_t> labels;
  for (int i = 0; i < N; ++i) {
    for (int k = 0; k < S * S * 3; ++k) px.push_back(uint8_t((11 * i + 3 * k) % 256));
    labels.push_back(i % 3);
  }
  const std::string path = dir / "s.cgd";
  write_dataset(path, info, px.data(), labels);
  return path;
}

LoaderConfig config(int begin, int end) {
  LoaderConfig c;
  c.batch = 8;
  c.seed = 42;
  c.hflip = true;
  c.slice_begin = begin, c.slice_end = end;
  return c;
}

}  // namespace

TEST_CASE("loader slices of every rank make up one process's batches") {
  cgtest::TempDir dir("slices");
  const Dataset ds = Dataset::open(make_set(dir));
  for (int ranks : {2, 4}) {
    CAPTURE(ranks);
    Loader whole(ds, config(0, -1));
    std::vector<std::unique_ptr<Loader>> parts;
    for (int r = 0; r < ranks; ++r) parts.push_back(std::make_unique<Loader>(ds, config(8 / ranks * r, 8 / ranks * (r + 1))));
    for (int step = 0; step < 10; ++step) {  // two and a half epochs
      if (step == 6)  // a resume in the middle, as from a checkpoint
        for (auto& p : parts) p->set_position(whole.epoch(), whole.batch_in_epoch());
      Tensor img, lab;
      whole.next(img, lab);
      std::vector<float> px;
      std::vector<int32_t> labels;
      for (auto& p : parts) {
        Tensor pi, pl;
        p->next(pi, pl);
        REQUIRE(pi.shape() == (cg::Shape{8 / ranks, 3, S, S}));
        const float* v = pi.data<float>();
        px.insert(px.end(), v, v + pi.numel());
        const int32_t* l = pl.data<int32_t>();
        labels.insert(labels.end(), l, l + pl.numel());
        CHECK(p->epoch() == whole.epoch());
      }
      const float* w = img.data<float>();
      CHECK(px == std::vector<float>(w, w + img.numel()));
      const int32_t* wl = lab.data<int32_t>();
      CHECK(labels == std::vector<int32_t>(wl, wl + lab.numel()));
    }
  }
}

TEST_CASE("a rank's assembler copies only its own rows") {
  cgtest::TempDir dir("slices");
  const Dataset ds = Dataset::open(make_set(dir));
  BatchAssembler all(ds, config(0, -1)), mine(ds, config(6, 8));
  const int64_t img = S * S * 3;
  std::vector<uint8_t> px_all(8 * img), px_mine(2 * img + 16, 0xAB), flips_all(8), flips_mine(2);
  std::vector<int32_t> lab_all(8), lab_mine(2);
  all.fill(1, 2, px_all.data(), lab_all.data(), flips_all.data());
  mine.fill(1, 2, px_mine.data(), lab_mine.data(), flips_mine.data());
  CHECK(std::equal(px_mine.begin(), px_mine.begin() + 2 * img, px_all.begin() + 6 * img));
  CHECK(px_mine[2 * img] == 0xAB);  // nothing past its two rows
  CHECK(lab_mine == std::vector<int32_t>(lab_all.begin() + 6, lab_all.end()));
  CHECK(flips_mine == std::vector<uint8_t>(flips_all.begin() + 6, flips_all.end()));
  CHECK(mine.batches_per_epoch() == all.batches_per_epoch());
}

TEST_CASE("a slice outside the batch is refused") {
  cgtest::TempDir dir("slices");
  const Dataset ds = Dataset::open(make_set(dir));
  CHECK_THROWS_AS(BatchAssembler(ds, config(6, 10)), cg::Error);
  CHECK_THROWS_AS(BatchAssembler(ds, config(4, 4)), cg::Error);
  CHECK_THROWS_AS(BatchAssembler(ds, config(-1, 3)), cg::Error);
}
