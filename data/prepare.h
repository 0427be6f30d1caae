// The library behind `covergan prepare`: scan source folders, decode and fit every
// file on a thread pool, drop duplicates, and stream the survivors into a .cgd
// dataset. A bad file is skipped with its reason; it never stops the run.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/dedupe.h"
#include "data/image.h"

namespace cg::data {

enum class LabelSource { folders, csv, none };

struct PrepareProgress {
  int64_t done = 0, total = 0;  // files processed / to process
  int64_t kept = 0, skipped = 0, duplicates = 0;
  double seconds = 0;           // since the decoding started
};

struct PrepareOptions {
  std::vector<std::string> sources;  // folders (scanned recursively) or single files
  std::string output;                // the .cgd path
  int size = 64;                     // 16, 32, 64 or 128
  LabelSource labels = LabelSource::folders;
  std::string labels_csv;            // for LabelSource::csv: rows path,genre
  DedupeMode dedupe = DedupeMode::exact;
  int max_distance = 4;              // near-duplicate Hamming distance (perceptual mode)
  int threads = 0;                   // 0: every core
  int64_t max_pixels = 50'000'000;
  bool dct_scaling = true;           // let libjpeg-turbo decode big JPEGs at 1/2..1/8 scale
  int64_t min_per_genre = 100;       // genres with fewer images are reported
  std::string duplicates_csv;        // "": OUTPUT.duplicates.csv ("-": none)
  std::string skipped_csv;           // "": OUTPUT.skipped.csv ("-": none)
  // Called on the calling thread about every progress_interval seconds, and once at the end.
  std::function<void(const PrepareProgress&)> progress;
  double progress_interval = 0.5;
  // SIGINT/SIGTERM stop the run cleanly (no OUTPUT.tmp left, nothing replaced); a second
  // one removes the temporary file and exits at once. The command line turns this on.
  bool handle_signals = false;
};

struct SkippedFile {
  std::string path;
  SkipKind kind;
  std::string reason;
};

struct DuplicateFile {
  std::string path, kept_path;
  bool exact = true;
  int distance = 0;
};

struct PrepareReport {
  int64_t files = 0;                 // regular files found (hidden ones are ignored)
  int64_t images = 0;                // written to the dataset
  std::vector<std::string> genres;   // empty when unlabeled
  std::vector<int64_t> per_genre;
  std::vector<std::string> small_genres;  // fewer than min_per_genre images
  std::vector<std::string> empty_genres;  // no usable image: left out of the dataset
  std::vector<SkippedFile> skipped;
  std::vector<DuplicateFile> duplicates;
  std::vector<std::string> manifest_unmatched;  // CSV rows naming no scanned file
  std::string duplicates_csv, skipped_csv;      // where they were written ("" if not)
  double seconds = 0;
  int threads = 0;
};

// No image survived: nothing was written. Carries the report so callers can show why.
class EmptyDatasetError : public Error {
 public:
  EmptyDatasetError(const std::string& msg, PrepareReport r) : Error(msg), report(std::move(r)) {}
  PrepareReport report;
};

// Throws cg::Error (one sentence) for bad options, a missing source, an output that
// would overwrite an input, or an interruption, and EmptyDatasetError when no usable
// image was found. The .skipped.csv and .duplicates.csv lists are written only after
// the dataset is committed, so a failed run never replaces those of an older dataset.
PrepareReport prepare_dataset(const PrepareOptions& opt);

// Internal pieces, exposed for tests.
struct ScanEntry {
  std::string path;  // as found (source joined with the relative path)
  std::string rel;   // relative to its source ("" for a source given as a file)
  int32_t label = -1;
};
struct ScanResult {
  std::vector<ScanEntry> entries;  // to decode, sorted by path
  std::vector<std::string> genres;
  std::vector<SkippedFile> skipped;  // found but not labelable
  std::vector<std::string> manifest_unmatched;
  int64_t files = 0;
};
ScanResult scan_sources(const PrepareOptions& opt);
// Rows of a path,genre manifest (header row optional, quotes allowed).
std::vector<std::pair<std::string, std::string>> read_manifest(const std::string& csv_path);

}  // namespace cg::data
