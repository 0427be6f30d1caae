// Data pipeline benchmarks (Google Benchmark): decode+fit per image on one core,
// the whole `prepare` pipeline on a folder of real JPEGs (images/s), the loader
// (images/s of 64x64 batches: the host-side assembly that feeds a GPU, and whole
// batches normalised on the CPU), and dataset checksum verification.
//   COVERGAN_BENCH_JPEGS=DIR  folder of JPEGs for the prepare benchmarks (default
//                             data/demo/covers; skipped when neither exists)
// The Pillow peer on the same files: bench/peers/pil_fit.py DIR. docs/PERFORMANCE.md
// records the numbers and the commands.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>

#include "data/dataset.h"
#include "data/fit.h"
#include "data/image.h"
#include "data/loader.h"
#include "data/prepare.h"

namespace fs = std::filesystem;
using namespace cg::data;

namespace {

std::string jpeg_dir() {
  const char* env = std::getenv("COVERGAN_BENCH_JPEGS");
  if (env && *env) return env;
  return "data/demo/covers";
}

// The JPEG files of the benchmark folder, read once into memory.
const std::vector<std::vector<uint8_t>>& jpeg_bytes() {
  static std::vector<std::vector<uint8_t>> files = [] {
    std::vector<std::vector<uint8_t>> out;
    std::error_code ec;
    if (!fs::is_directory(jpeg_dir(), ec)) return out;
    std::vector<std::string> paths;
    for (const auto& e : fs::recursive_directory_iterator(jpeg_dir(), ec))
      if (e.is_regular_file() && (e.path().extension() == ".jpg" || e.path().extension() == ".jpeg"))
        paths.push_back(e.path().string());
    std::sort(paths.begin(), paths.end());
    for (const auto& p : paths) {
      try {
        out.push_back(read_file_bytes(p));
      } catch (const DecodeError&) {
      }
    }
    return out;
  }();
  return files;
}

// Decode + fit of every JPEG in memory, one core. Arg: 1 = DCT-domain scaling (the default), 0 = full decode.
void BM_DecodeFitJpeg(benchmark::State& st) {
  const auto& files = jpeg_bytes();
  if (files.empty()) return st.SkipWithError(("no JPEGs under " + jpeg_dir()).c_str());
  DecodeOptions opt;
  opt.fit_size = st.range(0) ? 64 : 0;
  std::vector<uint8_t> out(64 * 64 * 3);
  int64_t n = 0;
  for (auto _ : st) {
    for (const auto& f : files) {
      try {
        const Image img = decode_jpeg(f.data(), f.size(), opt);
        fit_square(out.data(), 64, img.rgb.data(), img.width, img.height);
        ++n;
      } catch (const DecodeError&) {
      }
    }
  }
  st.SetItemsProcessed(n);
  st.counters["files"] = double(files.size());
}
BENCHMARK(BM_DecodeFitJpeg)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond)->UseRealTime();

// The whole pipeline (scan, read, decode, fit, exact dedupe, write) on the folder. Arg: threads.
void BM_PrepareJpegs(benchmark::State& st) {
  if (jpeg_bytes().empty()) return st.SkipWithError(("no JPEGs under " + jpeg_dir()).c_str());
  const std::string out = (fs::temp_directory_path() / "covergan_bench_prepare.cgd").string();
  PrepareOptions o;
  o.sources = {jpeg_dir()};
  o.output = out;
  o.labels = LabelSource::none;
  o.threads = int(st.range(0));
  o.duplicates_csv = std::string(1, '-');  // no CSVs
  o.skipped_csv = o.duplicates_csv;
  int64_t files = 0;
  for (auto _ : st) files += prepare_dataset(o).files;
  st.SetItemsProcessed(files);
  fs::remove(out);
}
BENCHMARK(BM_PrepareJpegs)->Arg(1)->Arg(int(std::max(1u, std::thread::hardware_concurrency())))
    ->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

// A synthetic 64x64 dataset on disk for the loader and open benchmarks.
const std::string& synthetic_set() {
  static std::string path = [] {
    const std::string p = (fs::temp_directory_path() / "covergan_bench_loader.cgd").string();
    DatasetInfo info;
    info.count = 20000, info.size = 64, info.genres = {"jazz", "dance", "rock", "rap", "metal"};
    std::vector<uint8_t> px(size_t(info.count) * 64 * 64 * 3);
    std::mt19937 rng(1);
    for (auto& v : px) v = uint8_t(rng());
    std::vector<int32_t> labels(size_t(info.count));
    for (size_t i = 0; i < labels.size(); ++i) labels[i] = int32_t(i % 5);
    write_dataset(p, info, px.data(), labels);
    return p;
  }();
  return path;
}

// Batches of 128 normalised f32 images on the CPU (shuffle, gather, flip, x/127.5-1).
// OpenMP is held to one thread; run under `taskset -c 0` to put the producer there too.
void BM_LoaderCpu(benchmark::State& st) {
  const Dataset ds = Dataset::open(synthetic_set());
  omp_set_num_threads(1);
  Loader L(ds, {128, 1, cg::Device::cpu, st.range(0) != 0});
  cg::Tensor images, labels;
  for (auto _ : st) {
    L.next(images, labels);
    benchmark::DoNotOptimize(images.raw());
  }
  st.SetItemsProcessed(int64_t(st.iterations()) * 128);
  st.SetBytesProcessed(int64_t(st.iterations()) * 128 * 64 * 64 * 3);
}
BENCHMARK(BM_LoaderCpu)->Arg(0)->Arg(1)->ArgName("hflip")->UseRealTime();

// The host-side work per batch that feeds a GPU: shuffle, gather 128 images from the
// memory map, labels and flip flags (normalisation then runs on the device). One thread.
void BM_LoaderAssemble(benchmark::State& st) {
  const Dataset ds = Dataset::open(synthetic_set());
  BatchAssembler a(ds, {128, 1, cg::Device::cpu, true});
  std::vector<uint8_t> px(128 * 64 * 64 * 3), flips(128);
  std::vector<int32_t> labels(128);
  int64_t e = 0, b = 0;
  for (auto _ : st) {
    a.fill(e, b, px.data(), labels.data(), flips.data());
    if (++b == a.batches_per_epoch()) b = 0, ++e;
    benchmark::DoNotOptimize(px.data());
  }
  st.SetItemsProcessed(int64_t(st.iterations()) * 128);
  st.SetBytesProcessed(int64_t(st.iterations()) * 128 * 64 * 64 * 3);
}
BENCHMARK(BM_LoaderAssemble)->UseRealTime();

// Open with every CRC checked (GB/s of the file).
void BM_DatasetOpenVerify(benchmark::State& st) {
  const std::string& p = synthetic_set();
  omp_set_num_threads(1);
  for (auto _ : st) benchmark::DoNotOptimize(Dataset::open(p).info().count);
  st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(fs::file_size(p)));
}
BENCHMARK(BM_DatasetOpenVerify)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
