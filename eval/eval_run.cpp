// The evaluation pipeline (see eval_run.h). Each step prints a progress line;
// the checks up front turn a checkpoint that does not fit the dataset into one sentence.
#include "eval/eval_run.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "data/dataset.h"
#include "data/grid.h"
#include "data/holdout.h"
#include "gan/checkpoint.h"
#include "eval/classifier.h"
#include "eval/eval_advice.h"
#include "eval/eval_curves.h"
#include "eval/eval_fidelity.h"
#include "eval/eval_report.h"
#include "eval/eval_speckle.h"
#include "eval/msssim.h"
#include "eval/run_split.h"
#include "data/plot.h"
#include "gan/run_dir.h"
#include "engine/earlier_output.h"
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
  RealSplit split;                                  // which real covers the run trained on
  int alt_scales = 0;                               // MS-SSIM beside the paper's 5 (0: none)
  FidelityInputs fid;                               // the feature classifier (the first baseline model)
  std::unique_ptr<Discriminator> fid_model;
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
// of the run's training batch with batch statistics (as G ran in training), or with the
// running statistics (as `covergan generate` draws them) under --bn running.
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
    const Tensor x = generate(G, draw_latents_for(c.ck.config().model, chunk, rng),
                              c.opt.bn_running ? BnMode::eval : BnMode::batch);
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
    const auto prr = draw(nr, nr, true, nullptr), prg = draw(nr, ng, false, &gi), pgg = map_both(draw(ng, ng, true, nullptr));
    const auto rr = msssim_pairs(real.data(), real.data(), 3, c.S, c.S, prr, nullptr);
    const auto rg = msssim_pairs(real.data(), gen255.data(), 3, c.S, c.S, prg, nullptr);
    const auto gg = msssim_pairs(gen255.data(), gen255.data(), 3, c.S, c.S, pgg, nullptr);
    const FiveNumbers frr = five_numbers(rr), frg = five_numbers(rg), fgg = five_numbers(gg);
    per_genre.push_back({{"genre", tag}, {"real_pool", nr}, {"generated_pool", ng}, {"real_real", to_json(frr)},
                         {"real_generated", to_json(frg)}, {"generated_generated", to_json(fgg)}});
    if (c.alt_scales > 0) {  // the same pairs at fewer scales (docs/EVALUATION.md: a 2x2 fifth scale)
      const int n = c.alt_scales;
      per_genre.back()["alt"] = {
          {"real_real", to_json(five_numbers(msssim_pairs(real.data(), real.data(), 3, c.S, c.S, prr, nullptr, n)))},
          {"real_generated", to_json(five_numbers(msssim_pairs(real.data(), gen255.data(), 3, c.S, c.S, prg, nullptr, n)))},
          {"generated_generated",
           to_json(five_numbers(msssim_pairs(gen255.data(), gen255.data(), 3, c.S, c.S, pgg, nullptr, n)))}};
    }
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
  json out = {{"per_genre", per_genre}, {"pairs_per_kind", c.opt.pairs}, {"figure", "msssim.png"}, {"scales", kMsssimScales}};
  if (!notes.note().empty()) out["figure_note"] = notes.note();
  if (c.alt_scales > 0)
    out["alt"] = {{"scales", c.alt_scales}, {"weights", msssim_weights(c.alt_scales)},
                  {"coarsest_px", c.S >> (c.alt_scales - 1)}, {"paper_coarsest_px", c.S >> (kMsssimScales - 1)}};
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
  // Real covers: which of them did the run train on? Its training file minus its holdout.
  const int64_t n = c.ds.info().count;
  const std::string train_path = c.ck.config().data;
  const std::string status = c.split.status == "recorded" ? "compared" : c.split.status;  // holdout.json: unseen known
  std::vector<int64_t> unseen_idx = c.split.indices(0), seen_idx = c.split.indices(1), all_idx;
  for (int64_t i = 0; i < n; ++i) all_idx.push_back(i);
  out["real_training_file"] = train_path;
  out["real_split"] = status;
  out["real_split_source"] = c.split.status;
  out["holdout"] = {{"fraction", c.ck.config().holdout}, {"seed", c.ck.config().holdout_seed}};
  if (!c.split.reason.empty()) out["real_split_reason"] = c.split.reason;
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
                             : "trained-on and held-out covers not told apart: " + c.split.reason);
  return out;
}

// Each baseline model on the run's held-out covers it did not train on either (the real
// covers nobody saw): mean +- std over the models, and how many covers each scored.
json baseline_on_unseen(Ctx& c, std::vector<LoadedClassifier>& models) {
  const std::vector<int64_t> unseen = c.split.indices(0);
  if (unseen.empty()) return nullptr;
  const size_t bytes = size_t(c.S) * size_t(c.S) * 3;
  std::vector<double> acc;
  std::vector<int64_t> counts;
  Confusion all(c.K);
  for (auto& m : models) {
    std::vector<int64_t> idx;
    for (int64_t i : unseen)
      if (!std::binary_search(m.info.trained_on.begin(), m.info.trained_on.end(), data::pixel_hash(c.ds.pixels(i), bytes)))
        idx.push_back(i);
    if (idx.size() < 2) continue;
    std::vector<int32_t> truth;
    for (int64_t i : idx) truth.push_back(c.ds.label(i));
    const Confusion cf = confusion_of(truth, predict_dataset(*m.model, c.ds, idx, BnMode::batch, 256), c.K);
    acc.push_back(cf.accuracy());
    counts.push_back(int64_t(idx.size()));
    all.add(cf);
  }
  if (acc.empty()) return nullptr;
  return {{"accuracy", to_json(mean_std(acc))}, {"per_model", acc}, {"covers_per_model", counts},
          {"confusion", all.to_json(c.genres)}};
}

// The covers the baseline cross-validates on: the run's training part when the run held
// covers out and that part gives every genre a cover in every fold; else all covers (empty).
std::vector<int64_t> baseline_pool(const Ctx& c) {
  if (c.split.trained_on == 0 || c.split.unseen == 0) return {};
  std::vector<int64_t> pool = c.split.indices(1), per_genre(size_t(c.K), 0);
  for (int64_t i : pool) per_genre[size_t(c.ds.label(i))] += 1;
  for (int64_t n : per_genre)
    if (n < c.opt.folds) return {};
  return pool;
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
    out["trained_on"] = "as recorded in the classifier files";
    c.say("baseline: loaded %s", std::to_string(models.size()) + " classifier(s) from " + c.opt.classifier);
  } else {
    ClassifierConfig cc;
    cc.base_channels = c.ck.config().model.base_channels;
    cc.epochs = c.opt.classifier_epochs;
    cc.seed = c.opt.seed;
    cc.device = c.dev;
    cc.quiet = c.opt.quiet;
    // Only the covers the run trained on (when known): the run's held-out covers stay
    // unseen by the classifier too, and the Fréchet distance's real covers come from them.
    const std::vector<int64_t> pool = baseline_pool(c);
    c.say("baseline: cross-validating D's architecture as a classifier of real covers (%s)",
          std::to_string(c.opt.folds) + " folds, " + std::to_string(cc.epochs) + " epochs each, " +
              (pool.empty() ? std::string("all covers") : std::to_string(pool.size()) + " covers the run trained on"));
    auto cv = cross_validate_classifier(c.ds, c.opt.folds, cc, c.opt.out + "/classifier", pool);
    out["trained_on"] = pool.empty() ? "every cover of the dataset" : "the covers the run trained on";
    out["source"] = "cross-validated here: classifier/classifier_fold*.safetensors";
    out["epochs"] = cc.epochs;
    out["real_held_out"] = {{"accuracy", to_json(cv.accuracy)}, {"per_fold", cv.fold_accuracy},
                            {"confusion", cv.confusion.to_json(c.genres)}};
    for (size_t f = 0; f < cv.models.size(); ++f)
      models.push_back({std::move(cv.models[f]),
                        ClassifierInfo{c.genres, int(f) + 1, c.opt.folds, -1, 0, c.opt.data, cv.trained_on[f]},
                        cv.files[f]});
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
  out["real_unseen_by_run"] = baseline_on_unseen(c, models);
  // The first model is the feature space of the Fréchet distance and precision/recall.
  c.fid.trained_on = models[0].info.trained_on;
  c.fid.model_name = models[0].path.empty() ? "classifier fold 1 (trained here)" : models[0].path;
  c.fid_model = std::move(models[0].model);
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
  CG_USER_CHECK(opt.bootstrap >= 0, "--bootstrap cannot be negative.");
}

json evaluate(Ctx& c, const std::string& ck_path, const std::string& run_dir);

}  // namespace

// The Fréchet distance and precision/recall in the first baseline model's features, and
// the high-frequency energy per genre (eval_fidelity.h, eval_speckle.h).
void fidelity_and_speckle(Ctx& c) {
  c.fid.model = c.fid_model.get();
  c.fid.ds = &c.ds;
  c.fid.genres = c.genres;
  c.fid.generated = &c.gen;
  c.fid.generated_genre = c.gen_genre;
  c.fid.seed = c.opt.seed;
  c.fid.bootstrap = c.opt.bootstrap;
  c.fid.batch = std::max(2, c.ck.config().batch);
  c.fid.quiet = c.opt.quiet;
  json& r = c.report;
  r["frechet"] = fidelity_section(c.fid);
  const json& fid = r["frechet"]["overall"];
  c.say("Frechet distance in the baseline's features: %s",
        fid.contains("fid") ? std::to_string(fid["fid"]["value"].get<double>()) : std::string("too few covers"));
  r["speckle"] = speckle_section(c.ds, c.real_by_genre, c.genres, c.gen, c.gen_genre, c.opt.out);
  c.say("high-frequency energy, generated / real: %s",
        "mean squared Laplacian " + std::to_string(r["speckle"]["overall"]["laplacian_ratio"].get<double>()) +
            ", power in the spectrum's corners " + std::to_string(r["speckle"]["overall"]["corner_ratio"].get<double>()));
}

// The scale count eval shows beside the paper's five (0: none): "" is auto for covers
// under 64 px (their fifth scale is 2x2 or 1x1), "auto" always, a number as given.
int alt_msssim_scales(const std::string& flag, int S) {
  int n = 0;
  if (flag.empty())
    n = S < 64 ? msssim_auto_scales(S) : 0;
  else if (flag == "auto")
    n = msssim_auto_scales(S);
  else {
    size_t used = 0;
    try {
      n = std::stoi(flag, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    CG_USER_CHECK(used == flag.size() && n >= 1 && n <= kMsssimScales, "--msssim-scales takes a number from 1 to ",
                  kMsssimScales, " or auto, got \"", flag, "\".");
    CG_USER_CHECK((S >> (n - 1)) >= 1, "--msssim-scales ", n, " would pool ", S, "x", S, " covers below 1x1.");
  }
  return n == kMsssimScales ? 0 : n;
}

// The files of an earlier report in out: report.json, report.html, classifier/ and every
// bare file name report.json mentions (its pictures). Nothing when out holds no report.
static std::vector<std::string> earlier_report_files(const std::string& out) {
  std::vector<std::string> names;
  json r;
  try {
    std::ifstream in(out + "/report.json");
    if (!in) return names;
    r = json::parse(in);
  } catch (const std::exception&) {
    return names;  // not a report of ours: its files stay and are overwritten by name
  }
  names = {"report.json", "report.html", "classifier"};
  std::vector<const json*> todo{&r};
  while (!todo.empty()) {
    const json* j = todo.back();
    todo.pop_back();
    if (j->is_string()) {
      const std::string s = j->get<std::string>();
      if (!s.empty() && s.size() < 256 && s[0] != '.' && s.find('/') == std::string::npos &&
          fs::is_regular_file(fs::symlink_status(out + "/" + s)))
        names.push_back(s);
    }
    if (j->is_structured())
      for (const auto& v : *j) todo.push_back(&v);
  }
  return names;
}

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
  // An earlier report there is set aside, and comes back whole if this one fails.
  EarlierOutput earlier(opt.out, earlier_report_files(opt.out));
  try {
    json r = evaluate(c, ck_path, run_dir);
    earlier.keep_new();
    return r;
  } catch (...) {
    try {
      earlier.restore();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "covergan eval: the earlier report could not be put back (%s); it is in %s\n", e.what(),
                   earlier.aside().c_str());
    }
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
  c.split = split_eval_set(c.ds, c.ck.config(), run_dir);
  c.alt_scales = alt_msssim_scales(opt.msssim_scales, c.S);
  Generator G(c.ck.config().model, c.dev);
  const bool ema = opt.ema && c.ck.has_ema();
  c.ck.restore_for_sampling(G, ema);
  generate_covers(c, G);
  json& r = c.report;
  r["checkpoint"] = {{"path", ck_path}, {"step", c.ck.state().step}, {"phase", c.ck.state().phase},
                     {"image_size", c.S}, {"base_channels", c.ck.config().model.base_channels},
                     {"genres", c.genres}, {"run_dir", run_dir}, {"batch", c.ck.config().batch},
                     {"generator", ema ? "G_ema" : "G"}, {"ema", c.ck.config().ema},
                     {"recipe", {{"augment", c.ck.config().augment}, {"real_label", c.ck.config().real_label},
                                 {"instance_noise", c.ck.config().instance_noise}, {"hflip", c.ck.config().hflip},
                                 {"g_genre_weight", c.ck.config().g_genre_weight},
                                 {"d_fake_genre_weight", c.ck.config().d_fake_genre_weight},
                                 {"g_init", c.ck.config().g_init},
                                 {"g_deconv", c.ck.config().g_deconv},
                                 {"g_deconv_strength", c.ck.config().g_deconv_strength},
                                 {"standing_stats", c.ck.config().standing_stats},
                                 {"g_spectral", c.ck.config().g_spectral},
                                 {"g_spectral_from", c.ck.config().g_spectral_from},
                                 {"lr_decay_from", c.ck.config().lr_decay_from}}}};
  r["dataset"] = {{"path", opt.data}, {"count", info.count}, {"per_genre", c.ds.genre_counts()}};
  r["settings"] = {{"pairs", opt.pairs}, {"generated_per_genre", opt.generated}, {"folds", opt.folds},
                   {"classifier_epochs", opt.classifier_epochs}, {"seed", opt.seed},
                   {"device", device_name(c.dev)}, {"batchnorm", opt.bn_running ? "running statistics (as covergan generate)"
                                                : "batch statistics, batches of mixed genres"},
                   {"msssim_scales", opt.msssim_scales.empty() ? std::string("default") : opt.msssim_scales},
                   {"bootstrap", opt.bootstrap}, {"ema", opt.ema}};
  r["paper"] = {{"d_generated", {{"mean", 0.35}, {"std", 0.02}}},
                {"d_real_held_out", {{"mean", 0.47}, {"std", 0.04}}},
                {"baseline_real_held_out", {{"mean", 0.59}, {"std", 0.04}}}};
  r["msssim"] = msssim_section(c);
  r["d_accuracy"] = d_section(c);
  r["baseline"] = baseline_section(c);
  fidelity_and_speckle(c);
  r["advice"] = recipe_advice(r);
  for (const json& a : r["advice"])
    if (!a["met"].get<bool>()) c.say("to try: %s", a["advice"].get<std::string>());
  r["images"] = pictures(c, G, run_dir);
  r["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - c.t0).count();
  write_report(opt.out, r);
  c.say("report: %s", opt.out + "/report.html (numbers in " + opt.out + "/report.json)");
  return r;
}

}  // namespace

}  // namespace cg::gan
