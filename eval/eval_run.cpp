// The evaluation pipeline (see eval_run.h). Each step prints a progress line;
// the checks up front turn a checkpoint that does not fit the dataset into one sentence.
#include "eval/eval_run.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unordered_set>

#include "data/dataset.h"
#include "data/grid.h"
#include "gan/checkpoint.h"
#include "eval/classifier.h"
#include "eval/eval_curves.h"
#include "eval/eval_report.h"
#include "eval/msssim.h"
#include "data/plot.h"
#include "gan/run_dir.h"
#include "engine/folder_lock.h"
#include "gan/sampler.h"

namespace cg::gan {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct Ctx {
  Ctx(const EvalOptions& o, Checkpoint c, data::Dataset d) : opt(o), ck(std::move(c)), ds(std::move(d)) {}
  const EvalOptions& opt;
  Checkpoint ck;
  data::Dataset ds;
  Device dev = Device::cpu;
  int K = 0, S = 0;
  std::vector<std::string> genres;
  std::vector<std::vector<int64_t>> real_by_genre;  // dataset indices per genre
  Tensor gen;                                       // (N,3,S,S) generated, host f32 in [-1,1]
  std::vector<int32_t> gen_genre;                   // (N) the genre each was asked for
  std::vector<LoadedClassifier> classifiers;        // --classifier, loaded and checked up front
  json report;
  std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
  void say(const char* fmt, const std::string& a = "") const {
    if (opt.quiet) return;
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("[%6.1f s] ", t);
    std::printf(fmt, a.c_str());
    std::printf("\n");
    std::fflush(stdout);
  }
};

std::string join(const std::vector<std::string>& xs) {
  std::string s;
  for (const auto& x : xs) s += (s.empty() ? "" : ", ") + x;
  return s;
}

// Generated covers, opt.generated per genre, in a shuffled genre order and in batches
// of the run's training batch with batch statistics (as G ran in training).
void generate_covers(Ctx& c, Generator& G) {
  const int64_t N = int64_t(c.opt.generated) * c.K;
  std::vector<int32_t> genres;
  for (int g = 0; g < c.K; ++g) genres.insert(genres.end(), size_t(c.opt.generated), g);
  Philox rng(c.opt.seed * 7919 + 11);
  for (int64_t i = N - 1; i > 0; --i) std::swap(genres[size_t(i)], genres[size_t(rng.next_below(i + 1))]);
  c.gen = Tensor::empty(Shape{N, 3, c.S, c.S});
  const int64_t per = 3 * int64_t(c.S) * c.S, B = std::max(2, c.ck.config().batch);
  if (c.opt.trace) c.opt.trace->batch = B, c.opt.trace->rng_seed = rng.seed(), c.opt.trace->batch_offsets.clear();
  for (int64_t b0 = 0; b0 < N; b0 += B) {
    const int64_t n = std::min(B, N - b0);
    if (c.opt.trace) c.opt.trace->batch_offsets.push_back(rng.offset());
    const std::vector<int32_t> chunk(genres.begin() + b0, genres.begin() + b0 + n);
    const Tensor x = generate(G, draw_latents_for(c.ck.config().model, chunk, rng), BnMode::batch);
    std::copy_n(x.data<float>(), n * per, c.gen.data<float>() + b0 * per);
  }
  c.gen_genre = genres;
  if (c.opt.trace) c.opt.trace->generated = c.gen, c.opt.trace->genres = c.gen_genre;
  c.say("generated %s covers", std::to_string(N) + " (" + std::to_string(c.opt.generated) + " per genre)");
}

// (N,3,S,S) [-1,1] -> the same on [0,255], what MS-SSIM takes.
std::vector<float> to_255(const float* x, int64_t n) {
  std::vector<float> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out[size_t(i)] = (x[i] + 1.0f) * 127.5f;
  return out;
}

// Covers idx of ds as (n,3,S,S) floats on [0,255], what MS-SSIM takes.
std::vector<float> real_planes(const data::Dataset& ds, const std::vector<int64_t>& idx) {
  const size_t S = size_t(ds.info().size), plane = S * S;
  std::vector<float> out(idx.size() * 3 * plane);
  for (size_t i = 0; i < idx.size(); ++i) {
    const uint8_t* px = ds.pixels(idx[i]);  // (S,S,3)
    for (size_t p = 0; p < plane; ++p)
      for (size_t ch = 0; ch < 3; ++ch) out[(i * 3 + ch) * plane + p] = px[p * 3 + ch];
  }
  return out;
}

json msssim_section(Ctx& c) {
  const std::vector<float> gen255 = to_255(c.gen.data<float>(), c.gen.numel());
  Philox rng(c.opt.seed * 31 + 5);
  json per_genre = json::array();
  std::vector<BoxGroup> groups;
  for (int g = 0; g < c.K; ++g) {
    std::vector<int64_t> pool = c.real_by_genre[size_t(g)];
    for (int64_t i = int64_t(pool.size()) - 1; i > 0; --i) std::swap(pool[size_t(i)], pool[size_t(rng.next_below(i + 1))]);
    if (c.opt.real_per_genre > 0 && int64_t(pool.size()) > c.opt.real_per_genre) pool.resize(size_t(c.opt.real_per_genre));
    CG_USER_CHECK(pool.size() >= 2, "The genre ", c.genres[size_t(g)], " has fewer than 2 covers in ", c.opt.data, ".");
    const std::vector<float> real = real_planes(c.ds, pool);
    std::vector<int64_t> gi;
    for (int64_t i = 0; i < int64_t(c.gen_genre.size()); ++i)
      if (c.gen_genre[size_t(i)] == g) gi.push_back(i);
    auto draw = [&](int64_t na, int64_t nb, bool distinct, const std::vector<int64_t>* map_b) {
      std::vector<std::pair<int64_t, int64_t>> pairs;
      for (int k = 0; k < c.opt.pairs; ++k) {
        int64_t a = rng.next_below(na), b = rng.next_below(nb);
        while (distinct && b == a) b = rng.next_below(nb);
        pairs.emplace_back(a, b);
      }
      if (map_b)
        for (auto& [a, b] : pairs) b = (*map_b)[size_t(b)];
      return pairs;
    };
    auto map_both = [&](std::vector<std::pair<int64_t, int64_t>> p) {
      for (auto& [a, b] : p) a = gi[size_t(a)], b = gi[size_t(b)];
      return p;
    };
    const int64_t nr = int64_t(pool.size()), ng = int64_t(gi.size());
    const std::string tag = c.genres[size_t(g)];
    const auto rr = msssim_pairs(real.data(), real.data(), 3, c.S, c.S, draw(nr, nr, true, nullptr), nullptr);
    const auto rg = msssim_pairs(real.data(), gen255.data(), 3, c.S, c.S, draw(nr, ng, false, &gi), nullptr);
    const auto gg = msssim_pairs(gen255.data(), gen255.data(), 3, c.S, c.S, map_both(draw(ng, ng, true, nullptr)), nullptr);
    const FiveNumbers frr = five_numbers(rr), frg = five_numbers(rg), fgg = five_numbers(gg);
    per_genre.push_back({{"genre", tag}, {"real_pool", nr}, {"generated_pool", ng}, {"real_real", to_json(frr)},
                         {"real_generated", to_json(frg)}, {"generated_generated", to_json(fgg)}});
    auto box = [](const FiveNumbers& f) {  // no finite value: a NaN box, which the plot leaves out
      return f.n > 0 ? BoxStats{f.min, f.q1, f.median, f.q3, f.max} : BoxStats{NAN, NAN, NAN, NAN, NAN};
    };
    groups.push_back({tag, {box(frr), box(frg), box(fgg)}});
    c.say("MS-SSIM %s", tag + ": " + std::to_string(3 * c.opt.pairs) + " pairs scored (real-real median " +
                            std::to_string(frr.median) + ", generated-generated " + std::to_string(fgg.median) + ")");
  }
  const PlotNotes notes =
      write_box_plot(c.opt.out + "/msssim.png", groups, {"real-real", "real-generated", "generated-generated"},
                     {{{60, 140, 60}}, {{230, 140, 30}}, {{200, 50, 50}}}, "MS-SSIM per genre (higher: less diverse)");
  json out = {{"per_genre", per_genre}, {"pairs_per_kind", c.opt.pairs}, {"figure", "msssim.png"}};
  if (!notes.note().empty()) out["figure_note"] = notes.note();
  return out;
}

// Accuracy over k disjoint chunks (mean +- std) and the summed confusion.
json accuracy_over_chunks(const std::vector<int32_t>& truth, const std::vector<int32_t>& pred, int K,
                          const std::vector<std::vector<int64_t>>& chunks, const std::vector<std::string>& genres) {
  std::vector<double> acc;
  Confusion all(K);
  for (const auto& ch : chunks) {
    Confusion cc(K);
    for (int64_t i : ch) cc.add(truth[size_t(i)], pred[size_t(i)]);
    if (cc.total() == 0) continue;
    acc.push_back(cc.accuracy());
    all.add(cc);
  }
  return {{"accuracy", to_json(mean_std(acc))}, {"per_chunk", acc}, {"confusion", all.to_json(genres)}};
}

uint64_t pixel_hash(const uint8_t* p, size_t n) {  // FNV-1a over the pixels
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

// Which covers of the dataset the run trained on, by their pixels in its recorded training
// file. That file may be gone, not a dataset, re-prepared since (another size, other
// covers): then the split is "unavailable" or "changed" with the reason, never a crash.
struct SeenSplit {
  std::string status = "unknown", reason;
  std::vector<int8_t> seen;  // 1: in the training file, 0: not; empty unless compared
};

SeenSplit seen_split(const Ctx& c) {
  const TrainConfig& cfg = c.ck.config();
  SeenSplit s;
  const std::string& path = cfg.data;
  std::error_code ec;
  if (path.empty()) {
    s.reason = "the checkpoint names no training file";
    return s;
  }
  s.status = "unavailable";
  if (!fs::exists(path, ec)) {
    s.reason = "the run's training file " + path + " no longer exists";
    return s;
  }
  data::Dataset tr;
  try {
    tr = data::Dataset::open(path, false);
  } catch (const Error& e) {
    s.reason = "the run's training file cannot be read: " + std::string(e.what());
    return s;
  }
  s.status = "changed";
  if (cfg.data_bytes > 0 && (tr.file_bytes() != cfg.data_bytes || tr.fingerprint() != cfg.data_fingerprint)) {
    s.reason = "the run's training file " + path + " has changed since the run (it was " +
               std::to_string(cfg.data_bytes) + " bytes, fingerprint " + cfg.data_fingerprint + "; now " +
               std::to_string(tr.file_bytes()) + " bytes, fingerprint " + tr.fingerprint() + ")";
    return s;
  }
  if (tr.info().size != c.S || tr.info().channels != 3) {
    s.reason = "the run's training file " + path + " now holds " + std::to_string(tr.info().size) + "x" +
               std::to_string(tr.info().size) + " covers, not the run's " + std::to_string(c.S) + "x" +
               std::to_string(c.S);
    return s;
  }
  const size_t bytes = size_t(c.S) * size_t(c.S) * 3;
  std::unordered_set<uint64_t> h;
  for (int64_t i = 0; i < tr.info().count; ++i) h.insert(pixel_hash(tr.pixels(i), bytes));
  s.seen.resize(size_t(c.ds.info().count));
  for (int64_t i = 0; i < c.ds.info().count; ++i) s.seen[size_t(i)] = int8_t(h.count(pixel_hash(c.ds.pixels(i), bytes)) > 0);
  s.status = "compared";
  return s;
}

// k stratified chunks of idx for the +- std: fewer when idx is small, one when it holds a
// single cover (a held-out set that shares one cover with the training file).
std::vector<std::vector<int64_t>> chunks_of(const std::vector<int32_t>& labels, int folds, uint64_t seed) {
  if (labels.size() < 2) {
    std::vector<std::vector<int64_t>> one(1);
    for (size_t i = 0; i < labels.size(); ++i) one[0].push_back(int64_t(i));
    return one;
  }
  return stratified_folds(labels, std::min<int>(folds, int(labels.size())), seed);
}

json d_section(Ctx& c) {
  Discriminator D(c.ck.config().model, c.dev);
  c.ck.restore(D);
  const int B = std::max(2, c.ck.config().batch);
  // Generated covers of known genre: k chunks of the shuffled set.
  const auto pg = predict_genres(D, c.gen.to(c.dev), BnMode::batch, B);
  if (c.opt.trace) c.opt.trace->d_predicted = pg;
  std::vector<std::vector<int64_t>> gchunks(size_t(c.opt.folds));
  for (int64_t i = 0; i < int64_t(pg.size()); ++i) gchunks[size_t(i % c.opt.folds)].push_back(i);
  json out;
  out["generated"] = accuracy_over_chunks(c.gen_genre, pg, c.K, gchunks, c.genres);
  c.say("D's genre accuracy on generated covers: %s", std::to_string(out["generated"]["accuracy"]["mean"].get<double>()));
  // Real covers: which of them did the run train on? Compare pixels with its training file.
  const int64_t n = c.ds.info().count;
  const SeenSplit split = seen_split(c);
  const std::string& status = split.status;
  std::vector<int64_t> unseen_idx, seen_idx, all_idx;
  for (int64_t i = 0; i < n; ++i) {
    all_idx.push_back(i);
    if (status == "compared") (split.seen[size_t(i)] ? seen_idx : unseen_idx).push_back(i);
  }
  out["real_training_file"] = c.ck.config().data;
  out["real_split"] = status;
  if (!split.reason.empty()) out["real_split_reason"] = split.reason;
  out["real_seen_count"] = seen_idx.size();
  out["real_unseen_count"] = status == "compared" ? json(unseen_idx.size()) : json(nullptr);
  auto real_acc = [&](const std::vector<int64_t>& idx) {
    const auto pred = predict_dataset(D, c.ds, idx, BnMode::batch, B);
    std::vector<int32_t> truth;
    for (int64_t i : idx) truth.push_back(c.ds.label(i));
    return accuracy_over_chunks(truth, pred, c.K, chunks_of(truth, c.opt.folds, c.opt.seed), c.genres);
  };
  if (!unseen_idx.empty()) out["real_held_out"] = real_acc(unseen_idx);
  if (!seen_idx.empty()) out["real_trained_on"] = real_acc(seen_idx);
  if (status != "compared") out["real_unknown"] = real_acc(all_idx);
  c.say("D's genre accuracy on real covers: done (%s)",
        status == "compared" ? std::to_string(seen_idx.size()) + " seen in training, " +
                                   std::to_string(unseen_idx.size()) + " not"
                             : "trained-on and held-out covers not told apart: " + split.reason);
  return out;
}

json baseline_section(Ctx& c) {
  json out;
  std::vector<LoadedClassifier> models;
  if (!c.opt.classifier.empty()) {
    models = std::move(c.classifiers);
    std::vector<double> acc;
    for (const auto& m : models) if (m.info.heldout_accuracy >= 0) acc.push_back(m.info.heldout_accuracy);
    out["source"] = c.opt.classifier;
    out["real_held_out"] = {{"accuracy", to_json(mean_std(acc))}, {"per_fold", acc}};
    c.say("baseline: loaded %s", std::to_string(models.size()) + " classifier(s) from " + c.opt.classifier);
  } else {
    ClassifierConfig cc;
    cc.base_channels = c.ck.config().model.base_channels;
    cc.epochs = c.opt.classifier_epochs;
    cc.seed = c.opt.seed;
    cc.device = c.dev;
    cc.quiet = c.opt.quiet;
    c.say("baseline: cross-validating D's architecture as a classifier of real covers (%s)",
          std::to_string(c.opt.folds) + " folds, " + std::to_string(cc.epochs) + " epochs each");
    auto cv = cross_validate_classifier(c.ds, c.opt.folds, cc, c.opt.out + "/classifier");
    out["source"] = "cross-validated here: classifier/classifier_fold*.safetensors";
    out["epochs"] = cc.epochs;
    out["real_held_out"] = {{"accuracy", to_json(cv.accuracy)}, {"per_fold", cv.fold_accuracy},
                            {"confusion", cv.confusion.to_json(c.genres)}};
    for (size_t f = 0; f < cv.models.size(); ++f)
      models.push_back({std::move(cv.models[f]), ClassifierInfo{c.genres, int(f) + 1, c.opt.folds, -1, 0, c.opt.data}, cv.files[f]});
  }
  // Every fold's model judges all generated covers: mean +- std over the models.
  std::vector<double> acc;
  Confusion all(c.K);
  const Tensor gen = c.gen.to(c.dev);
  for (auto& m : models) {
    const Confusion cf = confusion_of(c.gen_genre, predict_genres(*m.model, gen, BnMode::batch, 256), c.K);
    acc.push_back(cf.accuracy());
    all.add(cf);
  }
  out["generated"] = {{"accuracy", to_json(mean_std(acc))}, {"per_model", acc}, {"confusion", all.to_json(c.genres)}};
  c.say("baseline accuracy on generated covers: %s", std::to_string(mean_std(acc).mean));
  return out;
}

json pictures(Ctx& c, Generator& G, const std::string& run_dir) {
  json out;
  const ModelConfig& m = c.ck.config().model;
  Philox rng(c.opt.seed * 101 + 3);
  data::write_grid_png(c.opt.out + "/genre_sweep.png", generate(G, genre_sweep(m, 8, rng), BnMode::batch), c.K);
  out["genre_sweep"] = "genre_sweep.png";
  data::write_grid_png(c.opt.out + "/samples.png", generate(G, genre_rows(m, 10, false, rng), BnMode::batch), 10,
                       c.genres);
  out["samples"] = "samples.png";
  std::vector<int64_t> idx;
  for (int g = 0; g < c.K; ++g)
    for (size_t i = 0; i < 10; ++i) idx.push_back(c.real_by_genre[size_t(g)][i % c.real_by_genre[size_t(g)].size()]);
  data::write_grid_png(c.opt.out + "/real.png", dataset_images(c.ds, idx.data(), int64_t(idx.size()), Device::cpu), 10,
                       c.genres);
  out["real"] = "real.png";
  if (!run_dir.empty() && fs::exists(run_dir + "/metrics.csv")) {
    try {  // the run's log is not eval's input: a damaged one costs the curves, not the report
      const auto f = plot_metrics(run_dir + "/metrics.csv", c.opt.out);
      out["curves"] = {f.losses, f.d_outputs, f.accuracy, f.genre_terms};
      if (!f.notes.note().empty()) out["curves_note"] = f.notes.note();
    } catch (const Error& e) {
      out["curves_unavailable"] = e.what();
    }
  }
  c.say("pictures: genre sweep, samples, real covers%s", out.contains("curves") ? ", training curves" : "");
  return out;
}

// --classifier: loaded before any long step, so a wrong one fails at once.
void load_baseline(Ctx& c) {
  c.classifiers = load_classifiers(c.opt.classifier, c.dev);
  for (const auto& m : c.classifiers) {
    CG_USER_CHECK(m.info.genres == c.genres, "The classifier ", m.path, " knows the genres ", join(m.info.genres),
                  " but the dataset has ", join(c.genres), ".");
    CG_USER_CHECK(m.model->config().image_size == c.S, "The classifier ", m.path, " takes ",
                  m.model->config().image_size, "x", m.model->config().image_size, " covers but the dataset holds ",
                  c.S, "x", c.S, ".");
  }
}

void check_options(const EvalOptions& opt) {
  CG_USER_CHECK(!opt.out.empty(), "Say where the report goes: -o DIR.");
  CG_USER_CHECK(opt.pairs >= 1 && opt.generated >= 2 && opt.folds >= 2,
                "--pairs must be >= 1, --generated >= 2 and --folds >= 2.");
  CG_USER_CHECK(opt.real_per_genre == 0 || opt.real_per_genre >= 2, "--real-per-genre must be 0 (every cover) or at "
                "least 2 (MS-SSIM pairs need two covers), got ", opt.real_per_genre, ".");
  CG_USER_CHECK(opt.classifier_epochs >= 1, "--classifier-epochs must be at least 1.");
}

json evaluate(Ctx& c, const std::string& ck_path, const std::string& run_dir);

}  // namespace

json run_eval(const EvalOptions& opt) {
  check_options(opt);
  std::string run_dir;
  const std::string ck_path = resolve_checkpoint(opt.ckpt, &run_dir);
  CG_USER_CHECK(fs::exists(opt.data), "The dataset ", opt.data, " does not exist.");
  Ctx c(opt, Checkpoint::load(ck_path), data::Dataset::open(opt.data));
  const auto& info = c.ds.info();
  c.genres = c.ck.config().genres;
  c.K = int(c.genres.size());
  c.S = c.ck.config().model.image_size;
  CG_USER_CHECK(info.labeled(), "The dataset ", opt.data, " has no genre labels; eval needs a labeled set.");
  CG_USER_CHECK(info.genres == c.genres, "The checkpoint ", ck_path, " was trained on the genres ", join(c.genres),
                " but the dataset ", opt.data, " has ", join(info.genres), ".");
  CG_USER_CHECK(info.size == c.S, "The checkpoint ", ck_path, " makes ", c.S, "x", c.S, " covers but the dataset ",
                opt.data, " holds ", info.size, "x", info.size, ".");
  CG_USER_CHECK(c.S >= 16, "MS-SSIM needs covers of at least 16x16.");
  CG_USER_CHECK(c.ck.has_discriminator(), "The checkpoint ", ck_path, " holds no discriminator; eval needs D.");
  c.real_by_genre.resize(size_t(c.K));
  for (int64_t i = 0; i < info.count; ++i) c.real_by_genre[size_t(c.ds.label(i))].push_back(i);
  for (int g = 0; g < c.K; ++g)
    CG_USER_CHECK(int(c.real_by_genre[size_t(g)].size()) >= opt.folds, "The genre ", c.genres[size_t(g)], " has ",
                  c.real_by_genre[size_t(g)].size(), " covers, fewer than --folds ", opt.folds, ".");
  c.dev = resolve_device(opt.device, !opt.quiet);
  if (!opt.classifier.empty()) load_baseline(c);
  // Last of the checks: the report folder, created when missing and locked (a second eval
  // into it fails here). A folder made here and then left by a failure goes again.
  FolderLock lock(opt.out, "eval");
  try {
    return evaluate(c, ck_path, run_dir);
  } catch (...) {
    if (lock.created_folder()) {
      lock.release_and_remove_if_empty();
      std::error_code ec;
      fs::remove_all(opt.out, ec);
    }
    throw;
  }
}

namespace {

json evaluate(Ctx& c, const std::string& ck_path, const std::string& run_dir) {
  const EvalOptions& opt = c.opt;
  const auto& info = c.ds.info();
  c.say("covergan eval: %s", ck_path + " (step " + std::to_string(c.ck.state().step) + ") on " + opt.data + ", " +
                                 std::to_string(info.count) + " covers of " + std::to_string(c.S) + "x" +
                                 std::to_string(c.S) + ", genres " + join(c.genres));
  Generator G(c.ck.config().model, c.dev);
  c.ck.restore(G);
  generate_covers(c, G);
  json& r = c.report;
  r["checkpoint"] = {{"path", ck_path}, {"step", c.ck.state().step}, {"phase", c.ck.state().phase},
                     {"image_size", c.S}, {"base_channels", c.ck.config().model.base_channels},
                     {"genres", c.genres}, {"run_dir", run_dir}, {"batch", c.ck.config().batch}};
  r["dataset"] = {{"path", opt.data}, {"count", info.count}, {"per_genre", c.ds.genre_counts()}};
  r["settings"] = {{"pairs", opt.pairs}, {"generated_per_genre", opt.generated}, {"folds", opt.folds},
                   {"classifier_epochs", opt.classifier_epochs}, {"seed", opt.seed},
                   {"device", device_name(c.dev)}, {"batchnorm", "batch statistics, batches of mixed genres"}};
  r["paper"] = {{"d_generated", {{"mean", 0.35}, {"std", 0.02}}},
                {"d_real_held_out", {{"mean", 0.47}, {"std", 0.04}}},
                {"baseline_real_held_out", {{"mean", 0.59}, {"std", 0.04}}}};
  r["msssim"] = msssim_section(c);
  r["d_accuracy"] = d_section(c);
  r["baseline"] = baseline_section(c);
  r["images"] = pictures(c, G, run_dir);
  r["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - c.t0).count();
  write_report(opt.out, r);
  c.say("report: %s", opt.out + "/report.html (numbers in " + opt.out + "/report.json)");
  return r;
}

}  // namespace

}  // namespace cg::gan
