// `covergan prepare SRC... -o data.cgd`: folders of covers -> a packed dataset.
// Parses flags into cg::data::PrepareOptions, shows progress on stderr and ends
// with a summary: images per genre, skipped files by reason, duplicates.
#include <unistd.h>

#include <cstdio>
#include <map>
#include <string>

#include "apps/commands.h"
#include "data/prepare.h"

namespace covergan {
namespace {

struct Settings {
  std::vector<std::string> sources;
  std::string output, labels = "folders", dedupe = "exact", duplicates_csv, skipped_csv;
  int size = 64, distance = 4, threads = 0;
  int64_t max_pixels = 50'000'000, min_per_genre = 100;
  bool exact_resize = false, quiet = false;
} s;

CLI::App* app_ = nullptr;

void add_options(CLI::App& app) {
  app_ = &app;
  app.add_option("sources", s.sources, "Folders of covers (SRC/<genre>/*.jpg with --labels folders), or files")
      ->required();
  app.add_option("-o,--output", s.output, "The dataset file to write (.cgd)")->required();
  app.add_option("--size", s.size, "Image side in pixels: 16, 32, 64 or 128")
      ->check(CLI::IsMember({16, 32, 64, 128}))
      ->capture_default_str();
  app.add_option("--labels", s.labels, "Genres from: folders (first folder level), csv:FILE (rows path,genre), none")
      ->capture_default_str();
  app.add_option("--dedupe", s.dedupe, "Duplicate removal: exact, perceptual (exact + near) or off")
      ->check(CLI::IsMember({"exact", "perceptual", "off"}))
      ->capture_default_str();
  app.add_option("--distance", s.distance, "Near-duplicate Hamming distance of the 64-bit dHash (perceptual mode)")
      ->check(CLI::Range(0, 16))
      ->capture_default_str();
  app.add_option("--threads", s.threads, "Decoding threads (0: every core)")->check(CLI::Range(0, 1024));
  app.add_option("--max-pixels", s.max_pixels, "Refuse images with more pixels than this (read from the header)")
      ->check(positive())
      ->capture_default_str();
  app.add_option("--min-per-genre", s.min_per_genre, "Report genres with fewer images than this")
      ->capture_default_str();
  app.add_flag("--exact-resize", s.exact_resize,
               "Decode JPEGs at full size (no DCT-domain downscale before the area resize)");
  app.add_option("--duplicates-csv", s.duplicates_csv, "Where to list removed duplicates (default OUTPUT.duplicates.csv)");
  app.add_option("--skipped-csv", s.skipped_csv, "Where to list skipped files (default OUTPUT.skipped.csv)");
  app.add_flag("-q,--quiet", s.quiet, "No progress line");
}

// Flags that would do nothing with the --dedupe chosen: refused rather than ignored.
void check_combinations() {
  CG_USER_CHECK(s.dedupe == "perceptual" || app_->get_option("--distance")->count() == 0,
                "--distance is the near-duplicate threshold of --dedupe perceptual; with --dedupe ", s.dedupe,
                " it would do nothing.");
  CG_USER_CHECK(s.dedupe != "off" || app_->get_option("--duplicates-csv")->count() == 0,
                "--duplicates-csv lists removed duplicates, but --dedupe off removes none.");
}

cg::data::PrepareOptions to_options() {
  check_combinations();
  cg::data::PrepareOptions o;
  o.sources = s.sources;
  o.output = s.output;
  o.size = s.size;
  if (s.labels == "folders") {
    o.labels = cg::data::LabelSource::folders;
  } else if (s.labels == "none") {
    o.labels = cg::data::LabelSource::none;
  } else if (s.labels.rfind("csv:", 0) == 0 && s.labels.size() > 4) {
    o.labels = cg::data::LabelSource::csv;
    o.labels_csv = s.labels.substr(4);
  } else {
    throw cg::Error("--labels must be folders, none or csv:FILE, got '" + s.labels + "'.");
  }
  o.dedupe = s.dedupe == "off" ? cg::data::DedupeMode::off
             : s.dedupe == "perceptual" ? cg::data::DedupeMode::perceptual
                                        : cg::data::DedupeMode::exact;
  o.max_distance = s.distance;
  o.threads = s.threads;
  o.max_pixels = s.max_pixels;
  o.min_per_genre = s.min_per_genre;
  o.dct_scaling = !s.exact_resize;
  o.duplicates_csv = s.duplicates_csv;
  o.skipped_csv = s.skipped_csv;
  o.handle_signals = true;
  return o;
}

std::string clock_str(double sec) {
  const long t = long(sec + 0.5);
  char b[32];
  std::snprintf(b, sizeof b, "%ld:%02ld", t / 60, t % 60);
  return b;
}

// A live line on a terminal; otherwise a line about every 10% so logs stay short.
void show_progress(const cg::data::PrepareProgress& p) {
  static const bool tty = ::isatty(2);
  static int64_t last_decile = -1;
  if (p.total == 0) return;
  const double rate = p.seconds > 0 ? double(p.done) / p.seconds : 0;
  const double eta = rate > 0 ? double(p.total - p.done) / rate : 0;
  const double pct = p.total ? 100.0 * double(p.done) / double(p.total) : 100.0;
  const bool end = p.done == p.total;
  if (!tty) {
    const int64_t decile = p.total ? p.done * 10 / p.total : 10;
    if (decile == last_decile && !end) return;
    last_decile = decile;
  }
  std::fprintf(stderr, "%sprepare: %lld/%lld files (%.0f%%)  %.0f files/s  ETA %s  kept %lld, skipped %lld, "
               "duplicates %lld%s",
               tty ? "\r" : "", (long long)p.done, (long long)p.total, pct, rate, clock_str(eta).c_str(),
               (long long)p.kept, (long long)p.skipped, (long long)p.duplicates, tty ? (end ? "\n" : "  ") : "\n");
  std::fflush(stderr);
}

void print_skipped(const cg::data::PrepareReport& r) {
  std::map<std::string, std::vector<const cg::data::SkippedFile*>> by_kind;
  for (const auto& f : r.skipped) by_kind[cg::data::skip_kind_name(f.kind)].push_back(&f);
  std::printf("  skipped: %zu file%s\n", r.skipped.size(), r.skipped.size() == 1 ? "" : "s");
  for (const auto& [kind, files] : by_kind) {
    std::printf("    %-18s %6zu\n", kind.c_str(), files.size());
    for (size_t i = 0; i < files.size() && i < 3; ++i)
      std::printf("        %s: %s\n", files[i]->path.c_str(), files[i]->reason.c_str());
    if (files.size() > 3) std::printf("        ... and %zu more\n", files.size() - 3);
  }
  if (!r.skipped_csv.empty()) std::printf("    every skipped file and its reason: %s\n", r.skipped_csv.c_str());
}

void print_summary(const cg::data::PrepareReport& r) {
  const double mb = double(r.images) * s.size * s.size * 3 / 1e6;
  std::printf("covergan prepare: wrote %s: %lld images of %dx%d (%.1f MB of pixels) from %lld files in %.1f s "
              "(%.0f files/s, %d threads)\n",
              s.output.c_str(), (long long)r.images, s.size, s.size, mb, (long long)r.files, r.seconds,
              r.seconds > 0 ? double(r.files) / r.seconds : 0.0, r.threads);
  if (r.genres.empty()) std::printf("  unlabeled (for pretraining)\n");
  for (size_t g = 0; g < r.genres.size(); ++g)
    std::printf("    %-20s %8lld\n", r.genres[g].c_str(), (long long)r.per_genre[g]);
  if (!r.skipped.empty()) print_skipped(r);
  if (s.dedupe != "off") {
    size_t exact = 0;
    for (const auto& d : r.duplicates) exact += d.exact;
    std::printf("  duplicates: %zu removed (%zu exact, %zu near)%s%s\n", r.duplicates.size(), exact,
                r.duplicates.size() - exact, r.duplicates_csv.empty() ? "" : ", listed with the file each matched in ",
                r.duplicates_csv.c_str());
  }
  if (!r.manifest_unmatched.empty())
    std::printf("  manifest: %zu rows name no file found under the sources (first: %s)\n", r.manifest_unmatched.size(),
                r.manifest_unmatched.front().c_str());
  for (const auto& g : r.empty_genres)
    std::printf("  warning: genre '%s' has no usable images (every file was skipped or a duplicate); it was left out "
                "of the dataset\n", g.c_str());
  for (const auto& g : r.small_genres)
    std::printf("  warning: genre '%s' has few images (fewer than %lld); its class may train poorly\n", g.c_str(),
                (long long)s.min_per_genre);
}

int run_prepare() {
  cg::data::PrepareOptions o = to_options();
  if (!s.quiet) o.progress = show_progress;
  try {
    print_summary(cg::data::prepare_dataset(o));
  } catch (const cg::data::EmptyDatasetError& e) {
    if (!e.report.skipped.empty()) print_skipped(e.report);
    throw;
  }
  return 0;
}

Registrar reg({"prepare", "Turn folders of covers (JPEG, PNG) into a packed training set (.cgd)", add_options,
               run_prepare});

}  // namespace
}  // namespace covergan
