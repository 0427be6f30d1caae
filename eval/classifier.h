// The paper's baseline genre classifier: the discriminator's architecture trained
// only through its genre head (cross-entropy on real covers), cross-validated over
// stratified folds; plus the helpers every genre-accuracy number uses (real covers
// as model input, argmax predictions) and the classifier's safetensors files.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "gan/discriminator.h"
#include "eval/eval_stats.h"

namespace cg::gan {

struct ClassifierConfig {
  int base_channels = 32;  // D's width; eval uses the checkpoint's
  int epochs = 8;
  int batch = 64;
  double lr = 2e-4, beta1 = 0.5;
  bool hflip = true;  // random horizontal flips of the training covers
  uint64_t seed = 1;
  Device device = Device::cpu;
  bool quiet = false;
};

// Covers idx[0..n) of ds as model input: (n,3,S,S) f32 in [-1,1] on device, optionally
// mirrored per image (flip empty or n entries).
Tensor dataset_images(const data::Dataset& ds, const int64_t* idx, int64_t n, Device device,
                      const std::vector<uint8_t>& flip = {});
// Argmax of the genre head for images (N,3,S,S) on any device, batch at a time.
// BnMode::eval uses the running statistics; BnMode::batch each batch's own.
std::vector<int32_t> predict_genres(const Discriminator& D, const Tensor& images, BnMode mode, int batch);
// The same over covers idx of a dataset (loaded batch at a time).
std::vector<int32_t> predict_dataset(Discriminator& D, const data::Dataset& ds,
                                     const std::vector<int64_t>& idx, BnMode mode, int batch);

// The seed cross_validate_classifier trains fold f (0-based) with.
inline uint64_t classifier_fold_seed(uint64_t seed, int fold) { return seed * 1000003ull + uint64_t(fold); }

// Trains a freshly initialised model on covers train_idx of ds: cross-entropy of the
// genre head only, Adam, cfg.epochs epochs; prints a line per epoch prefixed by tag.
void train_classifier(Discriminator& C, const data::Dataset& ds, const std::vector<int64_t>& train_idx,
                      const ClassifierConfig& cfg, uint64_t seed, const std::string& tag);

struct CrossValidation {
  std::vector<std::vector<int64_t>> test_idx, train_idx;  // each fold's held-out and training covers
  std::vector<double> fold_accuracy;  // on each held-out fold
  MeanStd accuracy;
  Confusion confusion;                // summed over the held-out folds
  std::vector<std::unique_ptr<Discriminator>> models;  // one per fold
  std::vector<std::string> files;     // where they were saved ("" when not)
  std::vector<std::vector<uint64_t>> trained_on;  // per model: its training covers' pixel hashes, ascending
};
// Stratified k-fold cross-validation of the baseline on ds (labeled), over the covers
// pool (empty: all; eval passes a run's training part, so its held-out covers stay unseen).
// When out_dir is not empty, the models of an earlier run there are removed first, fold f's
// model is saved as out_dir/classifier_fold<f+1>.safetensors, and out_dir/classify.json
// lists the models (what load_classifiers reads) with the numbers and the keys of extra.
// The caller holds out_dir's FolderLock.
CrossValidation cross_validate_classifier(const data::Dataset& ds, int folds, const ClassifierConfig& cfg,
                                          const std::string& out_dir, const std::vector<int64_t>& pool = {},
                                          const nlohmann::json& extra = nullptr);
inline constexpr const char* kClassifierManifest = "classify.json";

// A classifier file: D.* tensors (PyTorch-style names) and metadata
// (format covergan.classifier, model config, genres, fold, held-out accuracy).
struct ClassifierInfo {
  std::vector<std::string> genres;
  int fold = 0, folds = 0;           // 1-based fold; 0 when trained on everything
  double heldout_accuracy = -1;      // on its held-out fold (-1: none)
  int64_t heldout_count = 0;
  std::string dataset;
  // The pixel hashes (data/holdout.h) of the covers it trained on, ascending: eval's
  // features then know which real covers the classifier never saw. Empty in older files.
  std::vector<uint64_t> trained_on;
};
void save_classifier(const std::string& path, Discriminator& C, const ClassifierInfo& info);
struct LoadedClassifier {
  std::unique_ptr<Discriminator> model;
  ClassifierInfo info;
  std::string path;
};
LoadedClassifier load_classifier(const std::string& path, Device device);
// A classifier file; a folder of `covergan classify --out` (the models its classify.json
// lists); that classify.json itself; or a folder without one holding classifier_fold*
// files of one run (fold 1..k of k, each once: files of two runs are refused).
std::vector<LoadedClassifier> load_classifiers(const std::string& path, Device device);

}  // namespace cg::gan
