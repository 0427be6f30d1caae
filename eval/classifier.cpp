// The baseline genre classifier: training, cross-validation, files (see classifier.h).
#include "eval/classifier.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "data/holdout.h"
#include "engine/adam.h"
#include "engine/io_util.h"
#include "engine/normalize.h"
#include "engine/safetensors.h"
#include "layers/losses.h"

namespace cg::gan {

namespace fs = std::filesystem;
inline constexpr const char* kClassifierFormat = "covergan.classifier";

Tensor dataset_images(const data::Dataset& ds, const int64_t* idx, int64_t n, Device device,
                      const std::vector<uint8_t>& flip) {
  const auto& info = ds.info();
  const int64_t S = info.size, bytes = S * S * info.channels;
  CG_CHECK(info.channels == 3, "dataset_images: ", info.channels, " channels");
  Tensor u8 = Tensor::empty(Shape{n, S, S, 3}, DType::u8);  // (n,S,S,3) as stored
  uint8_t* dst = u8.data<uint8_t>();
  for (int64_t i = 0; i < n; ++i) std::copy_n(ds.pixels(idx[i]), bytes, dst + i * bytes);
  return images_u8_to_f32(u8.to(device), flip);  // (n,3,S,S)
}

namespace {
bool is_fold_file(const fs::path& p) {
  return p.filename().string().rfind("classifier_fold", 0) == 0 && p.extension() == ".safetensors";
}

// The models of an earlier run in dir (and the list naming them): a new run with fewer
// folds must not leave models that a later load would average in.
void remove_models(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  CG_USER_CHECK(fs::is_directory(dir), "Cannot create the folder ", dir, ": ", ec.message(), ".");
  fs::remove(fs::path(dir) / kClassifierManifest, ec);
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (is_fold_file(e.path())) fs::remove(e.path(), ec);
}

// Equal batches of at most `batch` covering n: no tiny last batch whose statistics
// (BnMode::batch) would be meaningless.
int even_batch(int64_t n, int batch) {
  const int64_t nb = (n + batch - 1) / std::max(batch, 1);
  return nb > 0 ? int((n + nb - 1) / nb) : batch;
}
}  // namespace

std::vector<int32_t> predict_genres(const Discriminator& D, const Tensor& images, BnMode mode, int batch) {
  const int64_t N = images.dim(0);
  std::vector<int32_t> out;
  out.reserve(size_t(N));
  const int64_t per = images.numel() / std::max<int64_t>(N, 1);
  batch = even_batch(N, batch);
  for (int64_t b0 = 0; b0 < N; b0 += batch) {
    const int64_t n = std::min<int64_t>(batch, N - b0);
    const Tensor x = images.slice_view(b0 * per, Shape{n, images.dim(1), images.dim(2), images.dim(3)});
    const std::vector<double> logits = D.forward(nullptr, x, mode).cls.to_vector();  // (n,K)
    const int64_t K = int64_t(logits.size()) / n;
    for (int64_t i = 0; i < n; ++i) {
      const double* row = logits.data() + i * K;
      out.push_back(int32_t(std::max_element(row, row + K) - row));
    }
  }
  return out;
}

std::vector<int32_t> predict_dataset(Discriminator& D, const data::Dataset& ds, const std::vector<int64_t>& idx,
                                     BnMode mode, int batch) {
  // With batch statistics a batch must look like a training batch, a mix of genres, never
  // a run of one genre as a dataset's order may hold them: predict in a fixed shuffled order.
  std::vector<size_t> perm(idx.size());
  for (size_t i = 0; i < perm.size(); ++i) perm[i] = i;
  Philox rng(0x5eed);
  for (size_t i = perm.size(); i > 1; --i) std::swap(perm[i - 1], perm[size_t(rng.next_below(int64_t(i)))]);
  std::vector<int64_t> shuffled(idx.size());
  for (size_t i = 0; i < perm.size(); ++i) shuffled[i] = idx[perm[i]];
  std::vector<int32_t> out(idx.size());
  batch = even_batch(int64_t(idx.size()), batch);
  for (size_t b0 = 0; b0 < idx.size(); b0 += size_t(batch)) {
    const int64_t n = std::min<int64_t>(batch, int64_t(idx.size() - b0));
    const Tensor x = dataset_images(ds, shuffled.data() + b0, n, D.params().device());
    const auto p = predict_genres(D, x, mode, batch);
    for (int64_t i = 0; i < n; ++i) out[perm[b0 + size_t(i)]] = p[size_t(i)];
  }
  return out;
}

void train_classifier(Discriminator& C, const data::Dataset& ds, const std::vector<int64_t>& train_idx,
                      const ClassifierConfig& cfg, uint64_t seed, const std::string& tag) {
  CG_USER_CHECK(train_idx.size() >= 2, "The classifier needs at least 2 training covers, got ", train_idx.size(), ".");
  Philox rng(seed);
  C.init(rng);
  Adam opt(C.params(), AdamConfig{cfg.lr, cfg.beta1, 0.999, 1e-8});
  const int64_t n = int64_t(train_idx.size()), B = std::min<int64_t>(cfg.batch, n);
  const Device dev = C.params().device();
  std::vector<int64_t> order = train_idx;
  for (int e = 0; e < cfg.epochs; ++e) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int64_t i = n - 1; i > 0; --i) std::swap(order[size_t(i)], order[size_t(rng.next_below(i + 1))]);
    double loss_sum = 0, correct = 0;
    int64_t seen = 0;
    for (int64_t b0 = 0; b0 + B <= n; b0 += B) {  // full batches only, as the GAN's loader
      std::vector<uint8_t> flip(size_t(B), 0);
      std::vector<int32_t> labels(static_cast<size_t>(B));
      for (int64_t i = 0; i < B; ++i) {
        if (cfg.hflip) flip[size_t(i)] = uint8_t(rng.next_below(2));
        labels[size_t(i)] = ds.label(order[size_t(b0 + i)]);
      }
      const Tensor x = dataset_images(ds, order.data() + b0, B, dev, flip);
      const Tensor y = Tensor::from_labels(labels, dev);
      C.params().zero_grad();
      Tape tape;
      const DOut o = C.forward(&tape, x, BnMode::train);
      const Tensor loss = cross_entropy(&tape, o.cls, y);
      tape.backward(loss);
      const double l = loss.item();
      CG_USER_CHECK(std::isfinite(l), "The classifier's loss became ", l, " (", tag, ", epoch ", e + 1,
                    "); lower --lr.");
      opt.step();
      loss_sum += l * double(B);
      correct += accuracy(o.cls, y) * double(B);
      seen += B;
    }
    if (!cfg.quiet) {
      const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf("  %s epoch %d/%d: loss %.4f, training accuracy %.1f%% (%.1f s)\n", tag.c_str(), e + 1, cfg.epochs,
                  loss_sum / double(seen), 100.0 * correct / double(seen), dt);
      std::fflush(stdout);
    }
  }
}

CrossValidation cross_validate_classifier(const data::Dataset& ds, int k, const ClassifierConfig& cfg,
                                          const std::string& out_dir, const std::vector<int64_t>& pool_in,
                                          const nlohmann::json& extra) {
  const auto& info = ds.info();
  CG_USER_CHECK(info.labeled(), "The dataset ", ds.path(), " has no genre labels; the classifier needs them.");
  std::vector<int64_t> pool = pool_in;
  if (pool.empty())
    for (int64_t i = 0; i < info.count; ++i) pool.push_back(i);
  std::vector<int32_t> labels(size_t(info.count), -1), pool_labels;
  for (int64_t i = 0; i < info.count; ++i) labels[size_t(i)] = ds.label(i);
  for (int64_t i : pool) pool_labels.push_back(labels[size_t(i)]);
  auto folds = stratified_folds(pool_labels, k, cfg.seed);  // positions in pool, then dataset indices
  for (auto& f : folds)
    for (auto& i : f) i = pool[size_t(i)];
  const size_t bytes = size_t(info.size) * size_t(info.size) * size_t(info.channels);
  ModelConfig m;
  m.image_size = info.size;
  m.base_channels = cfg.base_channels;
  m.num_genres = int(info.genres.size());
  CrossValidation cv;
  cv.confusion = Confusion(m.num_genres);
  if (!out_dir.empty()) remove_models(out_dir);
  for (int f = 0; f < k; ++f) {
    const auto train_idx = fold_complement(folds, f);
    cv.train_idx.push_back(train_idx);
    cv.test_idx.push_back(folds[size_t(f)]);
    std::vector<uint64_t> trained_on;
    for (int64_t i : train_idx) trained_on.push_back(data::pixel_hash(ds.pixels(i), bytes));
    std::sort(trained_on.begin(), trained_on.end());
    const std::string tag = "fold " + std::to_string(f + 1) + "/" + std::to_string(k);
    if (!cfg.quiet)
      std::printf("classifier %s: training on %zu covers, testing on %zu\n", tag.c_str(), train_idx.size(),
                  folds[size_t(f)].size());
    auto C = std::make_unique<Discriminator>(m, cfg.device);
    train_classifier(*C, ds, train_idx, cfg, classifier_fold_seed(cfg.seed, f), tag);
    const auto pred = predict_dataset(*C, ds, folds[size_t(f)], BnMode::batch, 256);
    std::vector<int32_t> truth;
    for (int64_t i : folds[size_t(f)]) truth.push_back(labels[size_t(i)]);
    const Confusion c = confusion_of(truth, pred, m.num_genres);
    cv.confusion.add(c);
    cv.fold_accuracy.push_back(c.accuracy());
    if (!cfg.quiet) std::printf("classifier %s: held-out accuracy %.1f%%\n", tag.c_str(), 100.0 * c.accuracy());
    std::string file;
    if (!out_dir.empty()) {
      file = out_dir + "/classifier_fold" + std::to_string(f + 1) + ".safetensors";
      save_classifier(file, *C, {info.genres, f + 1, k, c.accuracy(), c.total(), ds.path(), trained_on});
    }
    cv.files.push_back(file);
    cv.models.push_back(std::move(C));
    cv.trained_on.push_back(std::move(trained_on));
  }
  cv.accuracy = mean_std(cv.fold_accuracy);
  if (!out_dir.empty()) {
    std::vector<std::string> names;
    for (const auto& f : cv.files) names.push_back(fs::path(f).filename().string());
    nlohmann::json j = {{"format", kClassifierFormat},
                              {"models", names},
                              {"dataset", ds.path()},
                              {"genres", info.genres},
                              {"folds", k},
                              {"epochs", cfg.epochs},
                              {"base_channels", cfg.base_channels},
                              {"seed", cfg.seed},
                              {"fold_accuracy", cv.fold_accuracy},
                              {"accuracy", to_json(cv.accuracy)},
                              {"confusion", cv.confusion.to_json(info.genres)}};
    if (extra.is_object()) j.update(extra);
    write_file_atomic(out_dir + "/" + kClassifierManifest, j.dump(2) + "\n", "the classifier list");
  }
  return cv;
}

void save_classifier(const std::string& path, Discriminator& C, const ClassifierInfo& info) {
  std::vector<std::pair<std::string, Tensor>> ts;
  for (const Tensor& p : C.params().params()) ts.emplace_back(p.name(), p);
  for (const Tensor& b : C.params().buffers()) ts.emplace_back(b.name(), b);
  if (!info.trained_on.empty()) {  // 8 little-endian bytes per hash
    Tensor h = Tensor::empty(Shape{int64_t(info.trained_on.size()) * 8}, DType::u8);
    for (size_t i = 0; i < info.trained_on.size(); ++i)
      for (int b = 0; b < 8; ++b) h.data<uint8_t>()[i * 8 + size_t(b)] = uint8_t(info.trained_on[i] >> (8 * b));
    ts.emplace_back("classifier.trained_on", h);
  }
  char acc[32];
  std::snprintf(acc, sizeof acc, "%.17g", info.heldout_accuracy);
  save_safetensors(path, ts,
                   {{"format", kClassifierFormat},
                    {"format_version", "1"},
                    {"model", to_json(C.config()).dump()},
                    {"genres", nlohmann::json(info.genres).dump()},
                    {"fold", std::to_string(info.fold)},
                    {"folds", std::to_string(info.folds)},
                    {"heldout_accuracy", acc},
                    {"heldout_count", std::to_string(info.heldout_count)},
                    {"dataset", info.dataset}});
}

LoadedClassifier load_classifier(const std::string& path, Device device) {
  CG_USER_CHECK(fs::exists(path), "The classifier file ", path, " does not exist.");
  SafeTensors st = load_safetensors(path);
  auto meta = [&](const char* key) -> const std::string& {
    auto it = st.metadata.find(key);
    CG_USER_CHECK(it != st.metadata.end(), "The file ", path, " is not a covergan classifier (no \"", key,
                  "\" metadata); `covergan classify` writes them.");
    return it->second;
  };
  CG_USER_CHECK(meta("format") == kClassifierFormat, "The file ", path,
                " is not a covergan classifier; `covergan classify` writes them.");
  LoadedClassifier lc;
  lc.path = path;
  try {
    const ModelConfig m = model_from_json(nlohmann::json::parse(meta("model")));
    lc.info.genres = nlohmann::json::parse(meta("genres")).get<std::vector<std::string>>();
    lc.info.fold = std::stoi(meta("fold"));
    lc.info.folds = std::stoi(meta("folds"));
    lc.info.heldout_accuracy = std::stod(meta("heldout_accuracy"));
    lc.info.heldout_count = std::stoll(meta("heldout_count"));
    lc.info.dataset = meta("dataset");
    if (auto h = st.tensors.find("classifier.trained_on"); h != st.tensors.end()) {
      CG_USER_CHECK(h->second.dtype() == DType::u8 && h->second.ndim() == 1 && h->second.numel() % 8 == 0,
                    "The classifier ", path, " is damaged: classifier.trained_on is ", h->second.describe(), ".");
      const uint8_t* p = h->second.data<uint8_t>();
      for (int64_t i = 0; i < h->second.numel() / 8; ++i) {
        uint64_t v = 0;
        for (int b = 7; b >= 0; --b) v = (v << 8) | p[i * 8 + b];
        lc.info.trained_on.push_back(v);
      }
    }
    lc.model = std::make_unique<Discriminator>(m, device);
  } catch (const nlohmann::json::exception& e) {
    throw Error(detail::cat("The classifier ", path, " has malformed metadata (", e.what(), ")."));
  } catch (const std::logic_error& e) {
    throw Error(detail::cat("The classifier ", path, " has malformed metadata (", e.what(), ")."));
  }
  ParamStore& ps = lc.model->params();
  std::vector<Tensor> all = ps.params();
  all.insert(all.end(), ps.buffers().begin(), ps.buffers().end());
  for (Tensor& dst : all) {
    auto it = st.tensors.find(dst.name());
    CG_USER_CHECK(it != st.tensors.end() && it->second.shape() == dst.shape(), "The classifier ", path,
                  " is damaged: ", dst.name(), " is missing or has the wrong shape.");
    dst.copy_(it->second.dtype() == dst.dtype() ? it->second : it->second.to(dst.dtype()));
  }
  return lc;
}

namespace {
// The models a classify.json lists, as paths beside it.
std::vector<std::string> manifest_models(const std::string& manifest) {
  require_regular_file(manifest, "Cannot read the classifier list");
  std::ifstream in(manifest);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
    CG_USER_CHECK(j.is_object() && j.contains("models") && j["models"].is_array() && !j["models"].empty(),
                  "The file ", manifest, " lists no classifier models (\"models\"); `covergan classify --out` writes it.");
    std::vector<std::string> files;
    for (const auto& m : j["models"]) {
      const std::string name = m.get<std::string>();
      CG_USER_CHECK(!name.empty() && name.find('/') == std::string::npos, "The file ", manifest,
                    " names a model outside its folder (", name, ").");
      files.push_back((fs::path(manifest).parent_path() / name).string());
    }
    return files;
  } catch (const nlohmann::json::exception& e) {
    throw Error(detail::cat("The classifier list ", manifest, " is not valid JSON (", e.what(), ")."));
  }
}

bool is_json_file(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  char c = 0;
  while (in.get(c) && std::isspace(static_cast<unsigned char>(c))) {
  }
  return c == '{';
}
}  // namespace

std::vector<LoadedClassifier> load_classifiers(const std::string& p, Device device) {
  std::vector<std::string> files;
  const std::string manifest = (fs::path(p) / kClassifierManifest).string();
  if (fs::is_directory(p) && fs::exists(manifest)) {
    files = manifest_models(manifest);
  } else if (fs::is_directory(p)) {  // a folder of an older version, without the list
    for (const auto& e : fs::directory_iterator(p))
      if (is_fold_file(e.path())) files.push_back(e.path().string());
    std::sort(files.begin(), files.end(), [](const std::string& a, const std::string& b) {
      return a.size() != b.size() ? a.size() < b.size() : a < b;  // fold2 before fold10
    });
    CG_USER_CHECK(!files.empty(), "The folder ", p, " holds no classifier_fold*.safetensors files.");
  } else if (fs::is_regular_file(p) && is_json_file(p)) {
    files = manifest_models(p);
  } else {
    files.push_back(p);
  }
  std::vector<LoadedClassifier> out;
  for (const auto& f : files) out.push_back(load_classifier(f, device));
  if (fs::is_directory(p) && !fs::exists(manifest)) {
    // Without a list, the files must be the k folds of one run: 1..k of k, each once.
    const size_t k = out.size();
    std::vector<int> seen(k + 1, 0);
    for (const auto& m : out) {
      CG_USER_CHECK(m.info.folds == int(k) && m.info.fold >= 1 && m.info.fold <= int(k) && !seen[size_t(m.info.fold)]++,
                    "The folder ", p, " holds classifier files of different runs (", m.path, " is fold ",
                    m.info.fold, " of ", m.info.folds, " among ", k, " files); run `covergan classify --out ", p,
                    "` again.");
    }
  }
  return out;
}

}  // namespace cg::gan
