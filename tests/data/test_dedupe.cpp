// Deduplication: planted exact and near duplicates among random covers are found
// and matched to the right kept image; the Hamming index agrees with brute force
// while examining far fewer than all entries.
#include <doctest/doctest.h>

#include <random>

#include "data/dedupe.h"
#include "data/fit.h"
#include "data/image.h"
#include "data/image_writers.h"

using namespace cg::data;

namespace {

constexpr int S = 64;
using Pixels = std::vector<uint8_t>;

// A random "cover": a background and a few rectangles and discs.
Pixels random_cover(std::mt19937& rng) {
  Pixels p(S * S * 3);
  auto col = [&] { return std::array<uint8_t, 3>{uint8_t(rng()), uint8_t(rng()), uint8_t(rng())}; };
  auto bg = col();
  for (int i = 0; i < S * S; ++i) std::copy(bg.begin(), bg.end(), p.begin() + i * 3);
  for (int k = 0; k < 6; ++k) {
    const auto c = col();
    const int x0 = int(rng() % S), y0 = int(rng() % S), w = 8 + int(rng() % 30), h = 8 + int(rng() % 30);
    const bool disc = rng() & 1;
    for (int y = y0; y < std::min(S, y0 + h); ++y)
      for (int x = x0; x < std::min(S, x0 + w); ++x) {
        const double dx = (x - x0 - w / 2.0) / (w / 2.0), dy = (y - y0 - h / 2.0) / (h / 2.0);
        if (!disc || dx * dx + dy * dy <= 1) std::copy(c.begin(), c.end(), p.begin() + (y * S + x) * 3);
      }
  }
  return p;
}

// The same cover brightened, with a little noise, through a JPEG round trip.
Pixels near_copy(const Pixels& src, std::mt19937& rng) {
  cgtest::JpegSpec js;
  js.width = S, js.height = S, js.quality = 85;
  for (uint8_t v : src) js.samples.push_back(uint8_t(std::clamp(int(v) + 4 + int(rng() % 5) - 2, 0, 255)));
  const auto bytes = cgtest::encode_jpeg(js);
  return decode_jpeg(bytes.data(), bytes.size()).rgb;
}

struct Run {
  std::vector<DedupeMatch> matches;
};

Run run(DedupeMode mode, const std::vector<Pixels>& images) {
  std::vector<Pixels> kept;
  Deduper d(mode, 4, S, [&](int64_t id, uint8_t* out) { std::copy(kept[size_t(id)].begin(), kept[size_t(id)].end(), out); });
  Run r;
  for (const auto& img : images) {
    const DedupeMatch m = d.check_and_add(int64_t(kept.size()), img.data());
    if (m.kept < 0) kept.push_back(img);
    r.matches.push_back(m);
  }
  return r;
}

}  // namespace

TEST_CASE("dedupe: planted exact and near duplicates are found, nothing else") {
  std::mt19937 rng(11);
  std::vector<Pixels> images;
  for (int i = 0; i < 300; ++i) images.push_back(random_cover(rng));
  // Planted after the originals: 10 exact copies of 0,7,14,.. and 10 near copies of 1,8,15,...
  for (int k = 0; k < 10; ++k) images.push_back(images[size_t(7 * k)]);
  for (int k = 0; k < 10; ++k) images.push_back(near_copy(images[size_t(7 * k + 1)], rng));

  const Run p = run(DedupeMode::perceptual, images);
  for (int i = 0; i < 300; ++i) {
    INFO("original " << i << " matched " << p.matches[size_t(i)].kept);
    CHECK(p.matches[size_t(i)].kept == -1);
  }
  for (int k = 0; k < 10; ++k) {
    const DedupeMatch& e = p.matches[size_t(300 + k)];
    CHECK(e.kept == 7 * k);
    CHECK(e.exact);
    const DedupeMatch& n = p.matches[size_t(310 + k)];
    INFO("near copy of " << 7 * k + 1 << " matched " << n.kept << " at distance " << n.distance);
    CHECK(n.kept == 7 * k + 1);
    CHECK_FALSE(n.exact);
    CHECK(n.distance <= 4);
  }

  const Run e = run(DedupeMode::exact, images);
  for (int k = 0; k < 10; ++k) {
    CHECK(e.matches[size_t(300 + k)].kept == 7 * k);
    CHECK(e.matches[size_t(310 + k)].kept == -1);  // near copies are not exact
  }
  const Run off = run(DedupeMode::off, images);
  for (const auto& m : off.matches) CHECK(m.kept == -1);
}

// The cover as prepare sees a copy resized to `side` pixels (then fitted back to S), or
// with `crop` pixels cut from every edge, optionally through a JPEG of quality 80.
Pixels resized_copy(const Pixels& src, int side, int crop, bool jpeg) {
  const int w = S - 2 * crop;
  Pixels cut(size_t(w * w * 3));
  for (int y = 0; y < w; ++y)
    std::copy_n(src.begin() + ((y + crop) * S + crop) * 3, w * 3, cut.begin() + y * w * 3);
  Pixels small(size_t(side * side * 3)), back(size_t(S * S * 3));
  fit_square(small.data(), side, cut.data(), w, w);
  if (jpeg) {
    cgtest::JpegSpec js;
    js.width = side, js.height = side, js.quality = 80;
    js.samples.assign(small.begin(), small.end());
    const auto bytes = cgtest::encode_jpeg(js);
    small = decode_jpeg(bytes.data(), bytes.size()).rgb;
  }
  fit_square(back.data(), S, small.data(), side, side);
  return back;
}

TEST_CASE("dedupe: copies resized to 0.9x or slightly cropped or re-encoded are near duplicates and distinct covers stay") {
  // make-demo-data's near duplicates (0.9x and JPEG quality 80) were once found 0 times in 20.
  std::mt19937 rng(17);
  std::vector<Pixels> images;
  for (int i = 0; i < 200; ++i) images.push_back(random_cover(rng));
  for (int k = 0; k < 8; ++k) images.push_back(resized_copy(images[size_t(5 * k)], 57, 0, k % 2 == 0));
  for (int k = 0; k < 8; ++k) images.push_back(resized_copy(images[size_t(5 * k + 2)], S, 1, k % 2 == 0));
  const Run p = run(DedupeMode::perceptual, images);
  for (int i = 0; i < 200; ++i) {
    INFO("distinct cover " << i << " matched " << p.matches[size_t(i)].kept);
    CHECK(p.matches[size_t(i)].kept == -1);
  }
  int resized_jpeg_found = 0;
  for (int k = 0; k < 8; ++k) {
    INFO("copy " << k);
    if (k % 2 == 0) resized_jpeg_found += p.matches[size_t(200 + k)].kept == 5 * k;
    else CHECK(p.matches[size_t(200 + k)].kept == 5 * k);  // resized to 0.9x
    CHECK(p.matches[size_t(208 + k)].kept == 5 * k + 2);    // 1 pixel cut from each edge, JPEG or not
  }
  // Resized and then JPEG-compressed: one of these four saturated synthetic covers scores
  // 0.40 against kNearThreshold 0.37, which the demo's distinct dark covers need (at 0.5
  // two of them merge); make-demo-data's own copies are all found (test_demo_data.cpp).
  CHECK(resized_jpeg_found >= 3);
}

TEST_CASE("dedupe: flat covers of different colours are not near duplicates") {
  std::vector<Pixels> images;
  for (uint8_t v : {0, 40, 200}) {
    Pixels p(S * S * 3);
    for (int i = 0; i < S * S; ++i) p[size_t(i) * 3] = v, p[size_t(i) * 3 + 1] = 90, p[size_t(i) * 3 + 2] = 10;
    images.push_back(p);
  }
  CHECK(dhash64(images[0].data(), S) == dhash64(images[2].data(), S));  // dHash alone cannot tell them apart
  const Run r = run(DedupeMode::perceptual, images);
  for (const auto& m : r.matches) CHECK(m.kept == -1);
}

TEST_CASE("dedupe: an exact-hash match is confirmed byte for byte") {
  // A fetch that returns different pixels simulates a 64-bit hash collision: not a duplicate.
  std::mt19937 rng(3);
  const Pixels a = random_cover(rng);
  Deduper d(DedupeMode::exact, 4, S, [&](int64_t, uint8_t* out) { std::fill(out, out + S * S * 3, 0); });
  CHECK(d.check_and_add(0, a.data()).kept == -1);
  CHECK(d.check_and_add(1, a.data()).kept == -1);
}

TEST_CASE("dedupe: the Hamming index finds exactly the brute-force neighbours") {
  std::mt19937_64 rng(5);
  for (int dist : {0, 4, 9}) {
    HammingIndex idx(dist);
    std::vector<uint64_t> stored;
    for (uint32_t i = 0; i < 4000; ++i) {
      stored.push_back(rng());
      idx.add(i, stored.back());
    }
    int64_t examined = 0;
    for (int q = 0; q < 200; ++q) {
      uint64_t h = stored[size_t(rng() % stored.size())];
      for (int k = int(rng() % 12); k > 0; --k) h ^= uint64_t(1) << (rng() % 64);  // up to 11 flips
      if (q % 3 == 0) h = rng();
      std::vector<uint32_t> want, got;
      for (uint32_t i = 0; i < stored.size(); ++i)
        if (hamming64(h, stored[i]) <= dist) want.push_back(i);
      idx.query(h, [&](uint32_t e, int d) {
        CHECK(d == hamming64(h, stored[e]));
        got.push_back(e);
      });
      std::sort(got.begin(), got.end());
      CHECK(got == want);
      examined += idx.last_examined();
    }
    INFO("distance " << dist << ": examined " << examined / 200 << " of 4000 per query");
    CHECK(examined / 200 < 4000 / 4);  // far from all pairs
  }
}

TEST_CASE("dedupe: hash64 tells inputs apart and is stable") {
  std::vector<uint8_t> a(1000, 7), b = a;
  b[999] = 8;
  CHECK(hash64(a.data(), a.size()) == hash64(a.data(), a.size()));
  CHECK(hash64(a.data(), a.size()) != hash64(b.data(), b.size()));
  CHECK(hash64(a.data(), 999) != hash64(a.data(), 1000));
  CHECK_THROWS_AS(Deduper(DedupeMode::perceptual, 99, S, nullptr), cg::Error);
}
