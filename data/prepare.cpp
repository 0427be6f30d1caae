// The `prepare` pipeline: worker threads read, decode and fit files in any order
// into a bounded reorder window; the calling thread takes results in file order,
// so dedupe decisions and the dataset are the same for any thread count.
#include "data/prepare.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "data/dataset.h"
#include "data/fit.h"
#include "engine/io_util.h"

namespace cg::data {

namespace {

// Ctrl-C / SIGTERM: the first sets a flag the collecting loop checks; the second removes
// the temporary dataset (unlink is async-signal-safe) and exits at once.
std::atomic<int> g_stop{0};
char g_tmp_path[4096];

extern "C" void on_prepare_signal(int sig) {
  if (g_stop.exchange(sig) != 0) {
    if (g_tmp_path[0]) ::unlink(g_tmp_path);
    ::_exit(128 + sig);
  }
  const char msg[] = "\ncovergan: stopping; no dataset will be written (Ctrl-C again exits at once)\n";
  [[maybe_unused]] ssize_t n = ::write(2, msg, sizeof msg - 1);
}

struct PrepareSignals {
  bool on;
  struct sigaction old_int {}, old_term {};
  explicit PrepareSignals(bool enable) : on(enable) {
    g_stop = 0;
    g_tmp_path[0] = 0;
    if (!on) return;
    struct sigaction sa {};
    sa.sa_handler = on_prepare_signal;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &old_int);
    ::sigaction(SIGTERM, &sa, &old_term);
  }
  ~PrepareSignals() {
    if (!on) return;
    ::sigaction(SIGINT, &old_int, nullptr);
    ::sigaction(SIGTERM, &old_term, nullptr);
    g_tmp_path[0] = 0;
  }
  // The temporary dataset a second signal removes (set once the writer has made it).
  void set_temp_file(const std::string& tmp) {
    if (on) std::snprintf(g_tmp_path, sizeof g_tmp_path, "%s", tmp.c_str());
  }
};

struct Slot {
  bool ready = false;
  bool ok = false;
  SkipKind kind = SkipKind::corrupt;
  std::string reason;
  std::vector<uint8_t> pixels;
};

// Shared between the workers (producers) and the calling thread (consumer).
struct Window {
  std::vector<Slot> slots;
  std::mutex mu;
  std::condition_variable cv_ready, cv_free;
  int64_t consumed = 0;  // results taken so far, in file order
  std::atomic<int64_t> next{0};
  std::atomic<bool> stop{false};
};

void process_file(Slot& s, const ScanEntry& e, const PrepareOptions& opt) {
  DecodeOptions dopt;
  dopt.max_pixels = opt.max_pixels;
  dopt.fit_size = opt.dct_scaling ? opt.size : 0;
  try {
    const std::vector<uint8_t> bytes = read_file_bytes(e.path);
    const Image img = decode_image(bytes.data(), bytes.size(), dopt);
    s.pixels.resize(size_t(opt.size) * size_t(opt.size) * 3);
    fit_square(s.pixels.data(), opt.size, img.rgb.data(), img.width, img.height);
    s.ok = true;
  } catch (const DecodeError& err) {
    s.kind = err.kind();
    s.reason = err.what();
  } catch (const std::bad_alloc&) {
    s.kind = SkipKind::too_large;
    s.reason = "too large: out of memory while decoding";
  } catch (const std::exception& err) {
    s.kind = SkipKind::corrupt;
    s.reason = std::string("corrupt: ") + err.what();
  }
}

void worker(Window& w, const std::vector<ScanEntry>& entries, const PrepareOptions& opt) {
  const int64_t n = int64_t(entries.size()), cap = int64_t(w.slots.size());
  for (;;) {
    const int64_t i = w.next.fetch_add(1);
    if (i >= n) return;
    {
      std::unique_lock<std::mutex> lk(w.mu);
      w.cv_free.wait(lk, [&] { return i < w.consumed + cap || w.stop.load(); });
      if (w.stop.load()) return;
    }
    Slot local;
    process_file(local, entries[size_t(i)], opt);
    local.ready = true;
    {
      std::lock_guard<std::mutex> lk(w.mu);
      w.slots[size_t(i % cap)] = std::move(local);
    }
    w.cv_ready.notify_all();
  }
}

void check_options(const PrepareOptions& opt) {
  CG_USER_CHECK(opt.size == 16 || opt.size == 32 || opt.size == 64 || opt.size == 128,
                "The image size must be 16, 32, 64 or 128, got ", opt.size, ".");
  CG_USER_CHECK(!opt.output.empty(), "Name the output dataset with -o FILE.");
  CG_USER_CHECK(opt.max_pixels > 0, "The pixel limit must be positive.");
  CG_USER_CHECK(opt.threads >= 0, "The thread count must be 0 (all cores) or more, got ", opt.threads, ".");
  CG_USER_CHECK(opt.labels != LabelSource::csv || !opt.labels_csv.empty(), "Name the label manifest: --labels csv:FILE.");
  CG_USER_CHECK(opt.max_distance >= 0 && opt.max_distance <= Deduper::kMaxDistance,
                "The near-duplicate distance must be between 0 and ", Deduper::kMaxDistance, ", got ",
                opt.max_distance, ".");
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += (c == '"') ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string write_csvs(const std::string& want, const std::string& def, const std::string& header,
                       const std::vector<std::string>& lines) {
  if (want == "-") return "";
  const std::string path = want.empty() ? def : want;
  std::string text = header + "\n";
  for (const auto& l : lines) text += l + "\n";
  write_file_atomic(path, text, "the list");
  return path;
}

std::string path_key(const std::string& p) {
  std::error_code ec;
  const std::filesystem::path c = std::filesystem::weakly_canonical(p, ec);
  return ec ? std::filesystem::absolute(p).lexically_normal().string() : c.string();
}

// -o, --skipped-csv and --duplicates-csv must not name an input (a source image, the
// manifest) or each other: prepare never replaces what it reads.
void check_no_overwrite(const PrepareOptions& opt, const std::vector<ScanEntry>& entries) {
  std::vector<std::pair<std::string, std::string>> outs{{"-o", opt.output}};
  if (opt.skipped_csv != "-")
    outs.emplace_back("--skipped-csv", opt.skipped_csv.empty() ? opt.output + ".skipped.csv" : opt.skipped_csv);
  if (opt.duplicates_csv != "-" && opt.dedupe != DedupeMode::off)
    outs.emplace_back("--duplicates-csv",
                      opt.duplicates_csv.empty() ? opt.output + ".duplicates.csv" : opt.duplicates_csv);
  std::map<std::string, std::string> inputs;
  for (const auto& e : entries) inputs.emplace(path_key(e.path), "the source image " + e.path);
  if (opt.labels == LabelSource::csv) inputs.emplace(path_key(opt.labels_csv), "the label manifest " + opt.labels_csv);
  std::map<std::string, std::string> seen;
  for (const auto& [flag, path] : outs) {
    const std::string k = path_key(path);
    auto in = inputs.find(k);
    CG_USER_CHECK(in == inputs.end(), "The output ", path, " (", flag, ") is ", in->second,
                  "; prepare never overwrites its inputs: choose another path.");
    auto [it, fresh] = seen.emplace(k, flag);
    CG_USER_CHECK(fresh, flag, " and ", it->second, " both name ", path, "; give them different paths.");
  }
}

[[noreturn]] void fail_empty(const PrepareOptions& opt, const PrepareReport& rep) {
  int64_t unlabeled = 0;
  for (const auto& s : rep.skipped) unlabeled += s.kind == SkipKind::unlabeled;
  std::string hint;
  if (opt.labels == LabelSource::folders && unlabeled > 0)
    hint = detail::cat(" ", unlabeled, " files are not inside a genre folder (SOURCE/<genre>/...); use --labels none "
                                       "for an unlabeled set.");
  else if (rep.files == 0)
    hint = " The sources hold no files.";
  else
    hint = detail::cat(" All ", rep.files, " files were skipped or duplicates.");
  throw EmptyDatasetError("No usable images were found, so no dataset was written." + hint, rep);
}

}  // namespace

namespace {

// The decoding threads and their reorder window; take(i) returns file i's result in order.
class DecodePool {
 public:
  DecodePool(const std::vector<ScanEntry>& entries, const PrepareOptions& opt, int threads) {
    w_.slots.resize(size_t(std::max(16, threads * 8)));
    try {
      for (int t = 0; t < threads && !entries.empty(); ++t)
        pool_.emplace_back(worker, std::ref(w_), std::cref(entries), std::cref(opt));
    } catch (...) {
      stop();
      throw;
    }
  }
  ~DecodePool() { stop(); }

  Slot take(int64_t i) {
    const size_t cap = w_.slots.size();
    Slot s;
    {
      std::unique_lock<std::mutex> lk(w_.mu);
      w_.cv_ready.wait(lk, [&] { return w_.slots[size_t(i) % cap].ready; });
      s = std::move(w_.slots[size_t(i) % cap]);
      w_.slots[size_t(i) % cap] = Slot{};
      w_.consumed = i + 1;
    }
    w_.cv_free.notify_all();
    return s;
  }

 private:
  Window w_;
  std::vector<std::thread> pool_;
  void stop() {
    {
      std::lock_guard<std::mutex> lk(w_.mu);
      w_.stop = true;
    }
    w_.cv_free.notify_all();
    for (auto& t : pool_) t.join();
    pool_.clear();
  }
};

// Takes results in file order: skipped, duplicate, or appended to the dataset.
struct Collector {
  const std::vector<ScanEntry>& entries;
  PrepareReport& rep;
  DatasetWriter* writer;
  bool labeled;
  Deduper dedupe;
  std::vector<int64_t> kept_entry;  // dataset index -> entry index

  Collector(const std::vector<ScanEntry>& e, PrepareReport& r, DatasetWriter* w, bool lab, const PrepareOptions& opt)
      : entries(e), rep(r), writer(w), labeled(lab),
        dedupe(opt.dedupe, opt.max_distance, opt.size, [this](int64_t kept, uint8_t* out) { writer->read_back(kept, out); }) {}

  void take(int64_t i, const Slot& s) {
    const ScanEntry& e = entries[size_t(i)];
    if (!s.ok) {
      rep.skipped.push_back({e.path, s.kind, s.reason});
      return;
    }
    const DedupeMatch m = dedupe.check_and_add(writer->count(), s.pixels.data());
    if (m.kept >= 0) {
      rep.duplicates.push_back({e.path, entries[size_t(kept_entry[size_t(m.kept)])].path, m.exact, m.distance});
      return;
    }
    const int32_t label = labeled ? e.label : -1;
    writer->add(s.pixels.data(), label);
    kept_entry.push_back(i);
    if (label >= 0) ++rep.per_genre[size_t(label)];
  }

  PrepareProgress progress(int64_t done, double seconds) const {
    PrepareProgress p;
    p.done = done, p.total = int64_t(entries.size()), p.kept = int64_t(kept_entry.size());
    p.skipped = int64_t(rep.skipped.size()), p.duplicates = int64_t(rep.duplicates.size()), p.seconds = seconds;
    return p;
  }
};

// only_named: write only the lists the user named (--skipped-csv, --duplicates-csv), not
// the defaults beside OUTPUT, which may belong to an older, good dataset.
void write_lists(const PrepareOptions& opt, PrepareReport& rep, bool only_named) {
  if (only_named) {
    PrepareOptions named = opt;
    if (named.skipped_csv.empty()) named.skipped_csv = "-";
    if (named.duplicates_csv.empty()) named.duplicates_csv = "-";
    return write_lists(named, rep, false);
  }
  std::vector<std::string> lines;
  for (const auto& s : rep.skipped)
    lines.push_back(csv_field(s.path) + "," + skip_kind_name(s.kind) + "," + csv_field(s.reason));
  if (!rep.skipped.empty())
    rep.skipped_csv = write_csvs(opt.skipped_csv, opt.output + ".skipped.csv", "path,kind,reason", lines);
  lines.clear();
  for (const auto& d : rep.duplicates)
    lines.push_back(csv_field(d.path) + "," + csv_field(d.kept_path) + "," + (d.exact ? "exact" : "near") + "," +
                    std::to_string(d.distance));
  if (opt.dedupe != DedupeMode::off)
    rep.duplicates_csv =
        write_csvs(opt.duplicates_csv, opt.output + ".duplicates.csv", "removed,kept,match,distance", lines);
}

}  // namespace

PrepareReport prepare_dataset(const PrepareOptions& opt) {
  check_options(opt);
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  ScanResult scan = scan_sources(opt);
  PrepareReport rep;
  rep.files = scan.files;
  rep.genres = scan.genres;
  rep.per_genre.assign(scan.genres.size(), 0);
  rep.skipped = std::move(scan.skipped);
  rep.manifest_unmatched = std::move(scan.manifest_unmatched);
  rep.threads = opt.threads > 0 ? opt.threads : int(std::max(1u, std::thread::hardware_concurrency()));
  const auto& entries = scan.entries;

  DatasetInfo info;
  info.size = opt.size;
  if (opt.labels != LabelSource::none) info.genres = scan.genres;
  check_no_overwrite(opt, scan.entries);
  PrepareSignals signals(opt.handle_signals);
  std::unique_ptr<DatasetWriter> writer;  // created first: a bad output path fails before any decoding
  if (!entries.empty()) {
    writer = std::make_unique<DatasetWriter>(opt.output, info);
    signals.set_temp_file(writer->temp_file());
  }
  Collector col(entries, rep, writer.get(), info.labeled(), opt);
  {
    DecodePool pool(entries, opt, rep.threads);
    double last = -1e9;
    for (int64_t i = 0; i < int64_t(entries.size()); ++i) {
      CG_USER_CHECK(g_stop == 0, "Interrupted after ", i, " of ", entries.size(), " files; no dataset was written (",
                    opt.output, " is untouched).");
      col.take(i, pool.take(i));
      if (opt.progress && elapsed() - last >= opt.progress_interval) {
        last = elapsed();
        opt.progress(col.progress(i + 1, last));
      }
    }
  }
  rep.images = int64_t(col.kept_entry.size());
  if (opt.progress) opt.progress(col.progress(int64_t(entries.size()), elapsed()));
  if (rep.images > 0 && info.labeled()) {  // a genre all of whose files were broken or duplicates
    rep.empty_genres = writer->drop_empty_genres();
    for (size_t g = rep.genres.size(); g-- > 0;)
      if (rep.per_genre[g] == 0) rep.genres.erase(rep.genres.begin() + long(g)), rep.per_genre.erase(rep.per_genre.begin() + long(g));
  }
  for (size_t g = 0; g < rep.genres.size(); ++g)
    if (rep.per_genre[g] < opt.min_per_genre) rep.small_genres.push_back(rep.genres[g]);
  if (rep.images == 0) {  // the writer's destructor removes the temporary file
    write_lists(opt, rep, /*only_named=*/true);
    fail_empty(opt, rep);
  }
  writer->finish();
  write_lists(opt, rep, /*only_named=*/false);  // after the commit: a failed run keeps an older dataset's lists
  rep.seconds = elapsed();
  return rep;
}

}  // namespace cg::data
