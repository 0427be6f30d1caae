// `covergan generate`: images from a checkpoint's generator. One genre or all
// (one row per genre), the paper's genre sweep (Fig. 3b: the same noise and codes,
// one column per genre), a grid over the two latent codes, or one PNG per image.
// Each cover's latents come from (seed, genre, index), and BatchNorm uses the running
// statistics by default, so a cover does not change with --n or with its neighbours.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "apps/commands.h"
#include "data/dataset.h"
#include "data/grid.h"
#include "base/check.h"
#include "gan/checkpoint.h"
#include "gan/config.h"
#include "gan/run_dir.h"
#include "gan/sampler.h"
#include "engine/io_util.h"

namespace covergan {
namespace {

struct Settings {
  std::string ckpt, genre = "all", codes, output, separate, device = "cpu", precision = "auto";
  int n = 64, steps = 8;
  uint64_t seed = 0;
  bool sweep = false, interpolate = false, bn_eval = false, bn_batch = false, no_ema = false;
} s;

CLI::App* app_ = nullptr;
constexpr int kMaxImages = 4096;  // --n

void add_options(CLI::App& app) {
  app_ = &app;
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // a repeated flag: the last wins
  app.add_option("--ckpt", s.ckpt, "A checkpoint written by `covergan train`, or a run folder (its newest checkpoint)")
      ->required();
  app.add_option("--genre", s.genre, "A genre name, or all (one row per genre)");
  app.add_option("--n", s.n, "Images (all: in total, split over the genres; --sweep: rows, default 8)")
      ->check(CLI::Range(1, kMaxImages));
  app.add_option("--seed", s.seed,
                 "Seed of the noise and codes; cover i of a genre is the same for any --n (default 0)");
  app.add_option("--codes", s.codes, "Fix the latent codes for every image, e.g. 0.5,-1");
  app.add_option("-o,--output", s.output, "The PNG grid to write");
  app.add_flag("--sweep", s.sweep, "The same noise and codes in every genre, one column per genre (Fig. 3b)");
  app.add_flag("--interpolate", s.interpolate, "One genre, one noise: code 1 across the columns, code 2 down the rows");
  app.add_option("--steps", s.steps, "Points per code with --interpolate (default 8)")->check(CLI::Range(2, 64));
  app.add_option("--separate", s.separate, "Also write every image as its own PNG into this folder");
  app.add_flag("--bn-batch", s.bn_batch,
               "BatchNorm with the statistics of the covers drawn together, as in training (the behaviour before "
               "0.2): each cover then depends on all the others and on --n, and a grid of one repeated noise "
               "vector (--interpolate, --sweep) or of one genre (--genre NAME) loses what its covers share. "
               "Default: the running statistics the training accumulated (eval mode)");
  app.add_flag("--bn-eval", s.bn_eval, "BatchNorm with the running statistics: the default, kept for old scripts");
  app.add_flag("--no-ema", s.no_ema, "Use G's own weights, not their average (when the run was trained with --ema)");
  app.add_option("--device", s.device, "cpu, cuda or auto")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  app.add_option("--precision", s.precision, "CUDA arithmetic: fp32, tf32, bf16 or auto (tf32 on CUDA, fp32 on the CPU)")
      ->check(CLI::IsMember({"auto", "fp32", "tf32", "bf16"}));
}

std::vector<double> parse_codes(const std::string& text) {
  std::vector<double> v;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t used = 0;
    double x = 0;
    try {
      x = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    CG_USER_CHECK(used > 0 && used == item.size() && std::isfinite(x), "--codes takes numbers separated by commas, "
                                                                        "got \"", text, "\".");
    v.push_back(x);
  }
  return v;
}

// The genre's index, exactly or ignoring case; one sentence listing the genres otherwise.
int32_t genre_index(const std::vector<std::string>& genres, const std::string& name) {
  auto lower = [](std::string x) {
    for (char& c : x) c = char(std::tolower(static_cast<unsigned char>(c)));
    return x;
  };
  for (size_t i = 0; i < genres.size(); ++i)
    if (genres[i] == name) return int32_t(i);
  for (size_t i = 0; i < genres.size(); ++i)
    if (lower(genres[i]) == lower(name)) return int32_t(i);
  std::string known;
  for (const auto& g : genres) known += (known.empty() ? "" : ", ") + g;
  throw cg::Error("Unknown genre \"" + name + "\"; the checkpoint knows " + known + " (or all).");
}

void write_separate(const cg::Tensor& images, const std::vector<std::string>& names) {
  const int64_t N = images.dim(0), S = images.dim(2);
  const auto v = images.to_vector();
  std::vector<uint8_t> rgb(size_t(S * S * 3));
  for (int64_t i = 0; i < N; ++i) {
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t p = 0; p < S * S; ++p) {
        const double x = v[size_t((i * 3 + c) * S * S + p)];
        rgb[size_t(p * 3 + c)] = uint8_t(std::lround(std::fmin(255.0, std::fmax(0.0, (x + 1.0) * 127.5))));
      }
    cg::data::write_png_rgb(s.separate + "/" + names[size_t(i)], rgb.data(), int(S), int(S));
  }
}

// Flags that contradict each other or a bad output path: refused before the checkpoint is read.
void check_flags() {
  CG_USER_CHECK(!s.output.empty() || !s.separate.empty(), "Say where the images go: -o FILE.png and/or --separate DIR.");
  CG_USER_CHECK(!(s.sweep && s.interpolate), "--sweep and --interpolate are different grids; pass one.");
  const bool genre_given = app_->get_option("--genre")->count() > 0;
  CG_USER_CHECK(!(s.sweep && genre_given), "--sweep shows every genre in turn; leave out --genre.");
  CG_USER_CHECK(s.interpolate || app_->get_option("--steps")->count() == 0,
                "--steps sets the points of --interpolate's code grid; without --interpolate it would do nothing.");
  CG_USER_CHECK(!(s.interpolate && app_->get_option("--n")->count() > 0),
                "--interpolate draws a --steps x --steps grid of one genre; --n would do nothing.");
  CG_USER_CHECK(!(s.interpolate && !s.codes.empty()),
                "--interpolate sets the latent codes itself (a grid from -1 to 1); leave out --codes.");
  CG_USER_CHECK(!(s.bn_batch && s.bn_eval), "--bn-batch and --bn-eval contradict each other; pass one.");
  if (!s.output.empty()) {
    const auto parent = std::filesystem::path(s.output).parent_path();
    CG_USER_CHECK(parent.empty() || std::filesystem::is_directory(parent), "The folder of ", s.output,
                  " does not exist.");
    CG_USER_CHECK(!std::filesystem::is_directory(s.output), "The output ", s.output,
                  " is a folder; name a PNG file with -o (or use --separate FOLDER).");
    cg::check_writable(s.output, "the grid");
  }
  if (!s.separate.empty()) {  // made before the checkpoint is read, so a bad folder fails first
    std::error_code ec;
    std::filesystem::create_directories(s.separate, ec);
    CG_USER_CHECK(std::filesystem::is_directory(s.separate), "Cannot create the folder ", s.separate, ": ",
                  ec ? ec.message() : std::string("a file of that name exists"), ".");
  }
}

// The images this request makes must be what was asked (--n splits evenly over the
// genres) and must fit in memory; refused before the generator is built.
void check_request(const cg::gan::ModelConfig& m, bool all) {
  const int K = m.num_genres;
  const bool n_given = app_->get_option("--n")->count() > 0;
  if (all && !s.sweep && !s.interpolate && n_given && s.n % K != 0) {
    // The multiples of K next to n that --n accepts (1..kMaxImages).
    const int below = s.n / K * K, a = below > 0 ? below : K;
    std::string such;
    for (int m : {a, a + K})
      if (m >= 1 && m <= kMaxImages) such += (such.empty() ? "" : " or ") + std::to_string(m);
    throw cg::Error(cg::detail::cat("--n ", s.n, " does not split evenly over the ", K,
                                    " genres (--genre all draws one row per genre); pass --n ", such,
                                    ", or name one genre with --genre."));
  }
  const int64_t n_images = s.sweep ? int64_t(n_given ? s.n : 8) * K
                         : s.interpolate ? int64_t(s.steps) * (m.n_codes >= 2 ? s.steps : 1)
                         : all ? int64_t((s.n + K - 1) / K) * K
                               : int64_t(s.n);
  cg::gan::check_memory(cg::gan::sampling_memory_bytes(m, n_images),
                        cg::detail::cat("Generating ", n_images, " images with this model (base_channels ",
                                        m.base_channels, ")"),
                        "ask for fewer images with --n.");
}

// The covers this request draws, in grid order, and each one's file name for --separate.
struct Request {
  cg::gan::Latents latents;
  int cols = 0;
  std::vector<std::string> row_labels, names;
};

Request layout(const cg::gan::ModelConfig& m, const std::vector<std::string>& genres, bool all, int32_t g) {
  using cg::gan::CoverId;
  const int K = m.num_genres;
  const bool n_given = app_->get_option("--n")->count() > 0;
  auto name = [&](int32_t genre, int64_t index) {
    char b[32];
    std::snprintf(b, sizeof b, "_%04lld.png", static_cast<long long>(index));
    // An older dataset may name a genre "a/b": the file stays inside --separate all the same.
    return cg::data::genre_file_part(genres[size_t(genre)]) + b;
  };
  Request r;
  std::vector<CoverId> ids;
  if (s.sweep) {  // row i: noise i of the shared stream 0, in every genre
    const int rows = n_given ? s.n : 8;
    for (int i = 0; i < rows; ++i)
      for (int k = 0; k < K; ++k) ids.push_back({k, 0, i}), r.names.push_back(name(k, i));
    r.cols = K;
  } else if (s.interpolate) {  // the genre's cover 0, its codes over a grid
    const auto base = cg::gan::indexed_latents(m, {{g, uint64_t(g) + 1, 0}}, s.seed);
    r.latents = cg::gan::code_grid(m, base, s.steps);
    for (int64_t i = 0; i < r.latents.size(); ++i) r.names.push_back(name(g, i));
    r.cols = s.steps;
    return r;
  } else if (all) {  // row k: covers 0..cols-1 of genre k
    r.cols = (s.n + K - 1) / K;
    for (int k = 0; k < K; ++k)
      for (int c = 0; c < r.cols; ++c) ids.push_back({k, uint64_t(k) + 1, c}), r.names.push_back(name(k, c));
    r.row_labels = genres;
  } else {
    for (int i = 0; i < s.n; ++i) ids.push_back({g, uint64_t(g) + 1, i}), r.names.push_back(name(g, i));
    r.cols = int(std::ceil(std::sqrt(double(s.n))));
  }
  r.latents = cg::gan::indexed_latents(m, ids, s.seed);
  return r;
}

int run_generate() {
  check_flags();
  std::string run_dir;
  const std::string ck_path = cg::gan::resolve_checkpoint(s.ckpt, &run_dir);
  const cg::gan::Checkpoint ck = cg::gan::Checkpoint::load(ck_path);
  const auto& genres = ck.config().genres;
  const cg::gan::ModelConfig& m = ck.config().model;
  const bool all = s.genre == "all";
  const int32_t g = all ? -1 : genre_index(genres, s.genre);
  CG_USER_CHECK(!s.interpolate || !all, "--interpolate draws one genre's code grid: name the genre with --genre.");
  const std::vector<double> codes = s.codes.empty() ? std::vector<double>{} : parse_codes(s.codes);
  CG_USER_CHECK(codes.empty() || int(codes.size()) == m.n_codes, "The model has ", m.n_codes,
                " latent codes but --codes gives ", codes.size(), ".");
  for (double c : codes)
    CG_USER_CHECK(c >= -1 && c <= 1, "--codes values must lie in [-1, 1], the range the codes were trained on; got ",
                  c, ".");
  check_request(m, all);

  const cg::Device dev = cg::resolve_device(s.device);
  cg::gan::use_cuda_math(s.precision, false, dev, "");
  cg::gan::Generator G(m, dev);
  ck.restore_for_sampling(G, !s.no_ema);  // G's weight average when the run kept one
  Request req = layout(m, genres, all, g);
  if (!codes.empty() && !s.interpolate) cg::gan::set_codes(req.latents, codes);
  const cg::Tensor images =
      cg::gan::generate(G, req.latents, s.bn_batch ? cg::gan::BnMode::batch : cg::gan::BnMode::eval);
  if (!s.output.empty()) cg::data::write_grid_png(s.output, images, req.cols, req.row_labels);
  if (!s.separate.empty()) write_separate(images, req.names);
  const bool newest = ck_path != s.ckpt;
  std::printf("covergan generate: %lld images of %dx%d from %s (step %lld%s)\n",
              static_cast<long long>(req.latents.size()), m.image_size, m.image_size, ck_path.c_str(),
              static_cast<long long>(ck.state().step), newest ? (", the newest in " + s.ckpt).c_str() : "");
  std::printf("  BatchNorm: %s\n", s.bn_batch ? "the statistics of these covers together (--bn-batch)"
                                              : "the running statistics of training (eval mode)");
  if (s.bn_batch && !all && genres.size() > 1 && !s.sweep)
    std::printf("  note: these covers are all %s, and training normalised batches of mixed genres: with --bn-batch "
                "what they share (the genre's colours, its layout) is normalised away, so they come out like no "
                "genre. Drop --bn-batch, or draw --genre all.\n",
                s.genre.c_str());
  if (s.sweep) {
    std::string order;
    for (const auto& name : genres) order += (order.empty() ? "" : ", ") + name;
    std::printf("  columns, left to right: %s\n", order.c_str());
  }
  if (s.interpolate)
    std::printf("  %s, cover 0: code 1 from -1 to 1 across the columns%s\n", genres[size_t(g)].c_str(),
                m.n_codes >= 2 ? ", code 2 from -1 to 1 down the rows" : "");
  if (!s.output.empty()) std::printf("  grid: %s\n", s.output.c_str());
  if (!s.separate.empty()) std::printf("  one PNG per cover in %s (GENRE_INDEX.png)\n", s.separate.c_str());
  return 0;
}

Registrar reg({"generate", "Generate covers from a checkpoint (a genre, all genres, a genre sweep, code grids)",
               add_options, run_generate});

}  // namespace
}  // namespace covergan
