// `covergan info FILE`: what a dataset (.cgd) or a checkpoint (.safetensors) holds.
// A dataset: count, size, genres with their image counts, and whether every
// checksum matches (exit 1 when one does not). A checkpoint: its tensors and metadata.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "apps/commands.h"
#include "data/dataset.h"
#include "engine/io_util.h"
#include "engine/safetensors.h"
#include "gan/run_dir.h"

namespace covergan {
namespace {

struct Settings {
  std::string file;
  bool no_verify = false;
} s;

void add_options(CLI::App& app) {
  app.add_option("file", s.file, "A dataset (.cgd), a checkpoint (.safetensors) or a run folder (its newest checkpoint)")
      ->required();
  app.add_flag("--no-verify", s.no_verify, "Datasets: skip the pixel checksums (fast on huge files)");
}

bool starts_with_cgd_magic(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char m[8] = {0};
  in.read(m, 8);
  return in.gcount() == 8 && static_cast<unsigned char>(m[0]) == 0x89 && m[1] == 'C' && m[2] == 'G' && m[3] == 'D';
}

int info_dataset() {
  const cg::data::Dataset ds = cg::data::Dataset::open(s.file, false);
  const auto& info = ds.info();
  std::printf("%s: covergan dataset, format 1, %.1f MB\n", s.file.c_str(), double(ds.file_bytes()) / 1e6);
  std::printf("  images:   %lld of %dx%d, %d channels (uint8)\n", (long long)info.count, info.size, info.size,
              info.channels);
  if (info.labeled()) {
    const auto counts = ds.genre_counts();
    std::printf("  genres:   %zu\n", info.genres.size());
    for (size_t g = 0; g < info.genres.size(); ++g)
      std::printf("    %2zu %-20s %8lld\n", g, info.genres[g].c_str(), (long long)counts[g]);
  } else {
    std::printf("  genres:   none (an unlabeled set, for pretraining)\n");
  }
  if (s.no_verify) {
    std::printf("  checksums: not checked (--no-verify); header and labels are valid\n");
    return 0;
  }
  const std::string problem = ds.verify_checksums();
  if (!problem.empty()) {
    std::printf("  checksums: FAILED\n");
    std::fprintf(stderr, "covergan: %s\n", problem.c_str());
    return 1;
  }
  std::printf("  checksums: ok (header, pixels, labels)\n");
  return 0;
}

int info_checkpoint() {
  const cg::SafeTensors st = cg::load_safetensors(s.file);
  int64_t elems = 0, bytes = 0;
  for (const auto& [name, t] : st.tensors) elems += t.numel(), bytes += int64_t(t.nbytes());
  std::printf("%s: safetensors, %zu tensors, %lld values (%.1f MB)\n", s.file.c_str(), st.tensors.size(),
              (long long)elems, double(bytes) / 1e6);
  std::string nonfinite;
  for (const auto& [name, t] : st.tensors) {
    std::printf("  %-44s %-4s %s\n", name.c_str(), cg::dtype_name(t.dtype()), t.shape().str().c_str());
    if (const int64_t bad = cg::count_nonfinite(t); bad > 0)
      nonfinite += (nonfinite.empty() ? "" : ", ") + name + " (" + std::to_string(bad) + ")";
  }
  for (const auto& [name, what] : st.unsupported)
    std::printf("  %-44s %s (a dtype covergan does not read)\n", name.c_str(), what.c_str());
  std::printf("  metadata: %zu keys\n", st.metadata.size());
  for (const auto& [k, v] : st.metadata) {
    if (v.size() <= 60)
      std::printf("    %-24s %s\n", k.c_str(), v.c_str());
    else
      std::printf("    %-24s (%zu characters)\n", k.c_str(), v.size());
  }
  if (!nonfinite.empty()) {
    std::printf("  values: NOT all finite\n");
    std::fprintf(stderr, "covergan: The checkpoint %s holds NaN or infinite values in %s; it cannot be used.\n",
                 s.file.c_str(), nonfinite.c_str());
    return 1;
  }
  std::printf("  values: all finite\n");
  return 0;
}

int run_info() {
  if (std::filesystem::is_directory(s.file)) s.file = cg::gan::resolve_checkpoint(s.file);  // a run: its newest
  cg::require_regular_file(s.file, "Cannot open");
  std::ifstream probe(s.file);
  if (!probe.good()) throw cg::Error("Cannot open " + s.file + ": no such file, or it is not readable.");
  if (starts_with_cgd_magic(s.file)) return info_dataset();
  const bool st = s.file.size() >= 12 && s.file.compare(s.file.size() - 12, 12, ".safetensors") == 0;
  if (st) return info_checkpoint();
  if (s.file.size() >= 4 && s.file.compare(s.file.size() - 4, 4, ".cgd") == 0) return info_dataset();  // says why
  throw cg::Error(s.file + " is neither a covergan dataset (.cgd) nor a checkpoint (.safetensors).");
}

Registrar reg({"info", "Show what a dataset (.cgd) or checkpoint (.safetensors) holds, and check it", add_options,
               run_info});

}  // namespace
}  // namespace covergan
