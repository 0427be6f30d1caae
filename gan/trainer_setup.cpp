// Everything `covergan train` checks and builds before its first step (see trainer_run.h):
// the datasets and their holdout, the device, the model, optimizers and loader, from a
// checkpoint or fresh, the run folder, and the start-up lines.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/ema.h"
#include "engine/io_util.h"
#include "gan/holdout_file.h"
#include "gan/spectral_target.h"
#include "gan/trainer_run.h"

namespace cg::gan::trainer_detail {

namespace {

// Dataset and --init paths are stored absolute, so --resume works from any folder.
std::string absolute_path(const std::string& p) {
  if (p.empty()) return p;
  std::error_code ec;
  const std::filesystem::path a = std::filesystem::absolute(p, ec);
  return ec ? p : a.lexically_normal().string();
}

data::Dataset open_dataset(const std::string& path, const char* role) {
  CG_USER_CHECK(std::filesystem::exists(path), "The ", role, " dataset ", path, " does not exist.");
  data::Dataset ds = data::Dataset::open(path);
  CG_USER_CHECK(ds.info().count > 0, "The ", role, " dataset ", path, " holds no images.");
  CG_USER_CHECK(ds.info().channels == 3, "The ", role, " dataset ", path, " has ", ds.info().channels,
                " channels; the model takes RGB (3).");
  return ds;
}

// What ranks compare to be sure they read the same images: count, size and the stored checksums.
std::string dataset_identity(const data::Dataset& ds) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%lld images of %dx%d, content hash %016llx", static_cast<long long>(ds.info().count),
                ds.info().size, ds.info().size, static_cast<unsigned long long>(ds.content_hash()));
  return buf;
}

}  // namespace

void Run::open_data(bool resuming) {
  if (!resuming) {
    cfg_.data = absolute_path(cfg_.data);
    cfg_.pretrain = absolute_path(cfg_.pretrain);
    cfg_.init = cfg_.init.empty() ? cfg_.init : absolute_path(resolve_checkpoint(cfg_.init));  // a run: its newest
  } else {
    CG_USER_CHECK(std::filesystem::exists(cfg_.data), "Cannot resume: the labeled dataset ", cfg_.data,
                  " this run was trained on does not exist (from here); pass --data with its current path.");
    CG_USER_CHECK(cfg_.pretrain.empty() || cfg_.pretrain_epochs == 0 || std::filesystem::exists(cfg_.pretrain),
                  "Cannot resume: the pretraining set ", cfg_.pretrain,
                  " this run was trained on does not exist (from here); pass --pretrain with its current path.");
  }
  labeled_ = open_dataset(cfg_.data, "labeled");
  const auto& info = labeled_.info();
  CG_USER_CHECK(info.labeled(), "The dataset ", cfg_.data,
                " has no genre labels; give the labeled set with --data and an unlabeled one with --pretrain.");
  if (resuming) {
    CG_USER_CHECK(info.genres == cfg_.genres && info.size == cfg_.model.image_size, "The dataset ", cfg_.data,
                  " (", info.size, "x", info.size, ", ", info.genres.size(),
                  " genres) is not the one this run was trained on (", cfg_.model.image_size, "x",
                  cfg_.model.image_size, ", ", cfg_.genres.size(), " genres).");
  } else {
    cfg_.genres = info.genres;
    cfg_.model.num_genres = int(info.genres.size());
    cfg_.model.image_size = info.size;
  }
  if (!resuming) {  // the file's identity, so eval and --resume can tell it changed
    cfg_.data_bytes = labeled_.file_bytes();
    cfg_.data_fingerprint = labeled_.fingerprint();
  } else if (!cfg_.data_fingerprint.empty()) {
    CG_USER_CHECK(labeled_.file_bytes() == cfg_.data_bytes && labeled_.fingerprint() == cfg_.data_fingerprint,
                  "Cannot resume: the dataset ", cfg_.data, " is not the file this run trained on (that was ",
                  cfg_.data_bytes, " bytes with fingerprint ", cfg_.data_fingerprint, ", this is ",
                  labeled_.file_bytes(), " bytes with fingerprint ", labeled_.fingerprint(),
                  "); pass --data with the run's training file.");
  }
  const std::vector<int64_t> counts = labeled_.genre_counts();
  for (size_t g = 0; g < counts.size(); ++g)
    CG_USER_CHECK(counts[g] > 0, "The genre '", info.genres[g], "' has no images in ", cfg_.data,
                  "; D could never learn it. Prepare the set again without that genre.");
  if (!cfg_.pretrain.empty() && cfg_.pretrain_epochs > 0) {
    unlabeled_ = open_dataset(cfg_.pretrain, "pretraining");
    CG_USER_CHECK(unlabeled_->info().size == info.size, "The pretraining set ", cfg_.pretrain, " holds ",
                  unlabeled_->info().size, "x", unlabeled_->info().size, " images but the labeled set ", cfg_.data,
                  " holds ", info.size, "x", info.size, ".");
  }
  cfg_.validate();
  augment_ = parse_diffaug_policy(cfg_.augment);
  split_labeled(resuming);
}

// The holdout (data/holdout.h): the loader draws from split_.train only. The split is a
// function of the covers' pixels and the seed, so a resume recomputes it; holdout.json
// records it, and a resume whose set no longer gives the same split is refused.
void Run::split_labeled(bool resuming) {
  split_ = data::holdout_split(labeled_, cfg_.holdout, cfg_.holdout_seed);
  // G's spectral term compares with the covers it trains on (a function of them: a resume
  // recomputes it).
  if (cfg_.g_spectral > 0) spectral_target_ = spectral_target(labeled_, split_.train, kSpectralEps, dtype(), dev_);
  if (resuming)
    check_holdout_record(dir_.path("holdout.json"),
                         holdout_record(split_, cfg_.holdout, cfg_.holdout_seed, cfg_.genres, cfg_.data));
}

// G's weight average starts as G's weights (after --init) and, on resume, is the checkpoint's.
void Run::build_ema(const Checkpoint* ck) {
  if (cfg_.ema <= 0) return;
  G_ema_ = std::make_unique<Generator>(cfg_.model, dev_, dtype());
  if (ck) {
    CG_USER_CHECK(ck->has_ema(), "Cannot resume: the checkpoint ", ck->path(), " holds no weight average (G_ema) although the run has ema ", cfg_.ema, ".");
    ck->restore_ema(*G_ema_);
  } else {
    G_ema_->params().flat().copy_(G_->params().flat());
    G_ema_->params().flat_buffers().copy_(G_->params().flat_buffers());
  }
}

void Run::make_optimizers() {
  const PhaseLr lr = pretraining() ? cfg_.lr_pretrain : cfg_.lr_finetune;
  opt_g_ = std::make_unique<Adam>(G_->params(), AdamConfig{lr.g, cfg_.beta1, cfg_.beta2, cfg_.adam_eps});
  opt_d_ = std::make_unique<Adam>(D_->params(), AdamConfig{lr.d, cfg_.beta1, cfg_.beta2, cfg_.adam_eps});
}

void Run::make_loader(int64_t epoch, int64_t batch_index) {
  loader_.reset();  // one producer thread at a time
  const bool pre = pretraining();
  data::LoaderConfig lc{cfg_.batch, derive_seed(cfg_.seed, pre ? kSeedLoaderPretrain : kSeedLoaderFinetune), dev_,
                        cfg_.hflip};
  std::tie(lc.slice_begin, lc.slice_end) = dp_.slice(cfg_.batch);  // this rank's rows of each batch
  // Fine-tuning draws from the labeled set's training part only (the holdout stays unseen).
  std::vector<int64_t> part = !pre && !split_.held_out.empty() ? split_.train : std::vector<int64_t>{};
  loader_ = std::make_unique<data::Loader>(pre ? *unlabeled_ : labeled_, lc, std::move(part));
  if (epoch != 0 || batch_index != 0) loader_->set_position(epoch, batch_index);
}

void Run::build(const Checkpoint* ck, const Checkpoint* start) {
  const auto [lo, hi] = dp_.slice(cfg_.batch);
  // On a GPU the host still holds a copy of every tensor while a checkpoint is written.
  const double need = dev_ == Device::cpu ? training_memory_bytes(cfg_.model, hi - lo)
                                          : 4.0 * 4.0 * double(cfg_.model.generator_params() +
                                                               cfg_.model.discriminator_params());
  check_memory(need,
               detail::cat("Training this model (base_channels ", cfg_.model.base_channels, ", ",
                           cfg_.model.image_size, "x", cfg_.model.image_size, ", batch ", cfg_.batch, ")"),
               "lower --base-channels or --batch.");
  CG_USER_CHECK(dtype() == DType::f32 || dev_ == Device::cpu, "Training in f64 runs on the CPU only; pass --device cpu.");
  // Each D input's augmentation and noise are drawn for the whole batch; a rank would need its rows of them.
  CG_USER_CHECK(!dp_.distributed() || (!augment_.any() && cfg_.instance_noise <= 0),
                "--augment and --instance-noise run in one process only, not data-parallel.");
  // After the memory check, so an absurd width is named before a small set.
  CG_USER_CHECK(int64_t(split_.train.size()) >= cfg_.batch, "The labeled set ", cfg_.data, " keeps ",
                split_.train.size(), " covers for training after holding out ", split_.held_out.size(),
                " (--holdout ", cfg_.holdout, "), fewer than one batch of ", cfg_.batch, ".");
  // The run's arithmetic; measured cuDNN algorithms are kept beside the run.
  use_cuda_math(cfg_.precision, cfg_.deterministic, dev_, dev_ == Device::cuda ? dir_.path("cudnn_algos.txt") : "");
  G_ = std::make_unique<Generator>(cfg_.model, dev_, dtype());
  D_ = std::make_unique<Discriminator>(cfg_.model, dev_, dtype());
  if (ck) {
    ck->restore(*G_);
    ck->restore(*D_);
    st_ = ck->state();
    CG_USER_CHECK(st_.phase == kFinetune || unlabeled_, "The checkpoint ", ck->path(),
                  " stopped during pretraining but this run has no pretraining set.");
    make_optimizers();
    ck->restore_optimizers(*opt_g_, *opt_d_);
    rng_ = Philox(st_.rng_seed, st_.rng_offset);
    make_loader(st_.epoch, st_.batch_in_epoch);
    last_ckpt_step_ = st_.step;
  } else {
    Philox init(derive_seed(cfg_.seed, kSeedInit));
    G_->init(init, cfg_.g_init == "icnr");
    D_->init(init);
    if (start) {  // --init: another run's weights
      start->check_fits(cfg_.model, cfg_.genres);
      start->restore(*G_);
      start->restore(*D_);
    }
    if (cfg_.g_deconv == "resize") G_->project_resize_conv(cfg_.g_deconv_strength);  // icnr's start is one already
    st_ = TrainState{};
    st_.phase = unlabeled_ ? kPretrain : kFinetune;
    st_.rng_seed = derive_seed(cfg_.seed, kSeedTrain);
    rng_ = Philox(st_.rng_seed, 0);
    make_optimizers();
    make_loader(0, 0);
  }
  build_ema(ck);
  make_runner();
  Philox srng(derive_seed(cfg_.seed, kSeedSamples));
  sample_latents_ = genre_rows(cfg_.model, cfg_.sample_cols, /*shared=*/true, srng);
}

int64_t Run::planned_steps() const {
  int64_t total = 0;
  if (unlabeled_) total += cfg_.pretrain_epochs * (unlabeled_->info().count / cfg_.batch);
  total += cfg_.epochs * (int64_t(split_.train.size()) / cfg_.batch);
  return cfg_.steps > 0 ? std::min(total, cfg_.steps) : total;
}

void Run::announce() const {
  if (opt_.quiet) return;
  const auto& m = cfg_.model;
  std::string genres;
  for (const auto& g : cfg_.genres) genres += (genres.empty() ? "" : ", ") + g;
  std::printf("covergan train: %dx%d images, %d genres (%s), base %d channels\n", m.image_size, m.image_size,
              m.num_genres, genres.c_str(), m.base_channels);
  std::printf("  G %.2fM parameters, D %.2fM parameters, batch %d, device %s, seed %llu\n",
              double(G_->params().num_params()) / 1e6, double(D_->params().num_params()) / 1e6, cfg_.batch,
              device_name(dev_), static_cast<unsigned long long>(cfg_.seed));
  if (unlabeled_)
    std::printf("  phase 1 pretrain: %s, %lld images, %lld epochs, lr G %g D %g (no genre terms)\n",
                cfg_.pretrain.c_str(), static_cast<long long>(unlabeled_->info().count),
                static_cast<long long>(cfg_.pretrain_epochs), cfg_.lr_pretrain.g, cfg_.lr_pretrain.d);
  std::printf("  phase 2 finetune: %s, %lld images, %lld epochs, lr G %g D %g\n", cfg_.data.c_str(),
              static_cast<long long>(split_.train.size()), static_cast<long long>(cfg_.epochs), cfg_.lr_finetune.g,
              cfg_.lr_finetune.d);
  if (decaying())
    std::printf("  learning rates: falling linearly to 0 from iteration %lld to %lld (--lr-decay-from)\n",
                static_cast<long long>(cfg_.lr_decay_from), static_cast<long long>(cfg_.lr_decay_to));
  std::printf("  iteration: %s\n", iteration_mode().c_str());
  std::printf("  D step: %s\n", d_batches_mode().c_str());
  if (dp_.distributed())
    std::printf("  data-parallel: %s; %d images per rank, batch norm over %s\n", dp_.summary(dev_).c_str(),
                cfg_.batch / dp_.comm().size(), cfg_.sync_bn ? "the global batch (--sync-bn)" : "each rank's slice");
  if (!split_.held_out.empty())
    std::printf("  held out for evaluation: %lld covers (%g of each genre, seed %llu; RUN/holdout.json)\n",
                static_cast<long long>(split_.held_out.size()), cfg_.holdout,
                static_cast<unsigned long long>(cfg_.holdout_seed));
  if (augment_.any() || cfg_.ema > 0 || cfg_.real_label < 1 || cfg_.instance_noise > 0 || cfg_.g_genre_weight != 1 ||
      cfg_.d_fake_genre_weight != 1 || cfg_.g_init != "normal" || cfg_.g_deconv != "free")
    std::printf("  recipe: augment %s, ema %g, real label %g, instance noise %g, genre weights G %g, D on fakes %g, "
                "G init %s, G deconvolutions %s (strength %g)\n",
                augment_.any() ? augment_.str().c_str() : "none", cfg_.ema, cfg_.real_label, cfg_.instance_noise,
                cfg_.g_genre_weight, cfg_.d_fake_genre_weight, cfg_.g_init.c_str(), cfg_.g_deconv.c_str(), cfg_.g_deconv_strength);
  if (const int64_t warm = cfg_.ema > 0 ? ema_warmup_updates(cfg_.ema) : 0; planned_steps() < warm)
    std::printf("  weight average: its warm-up, decay min(%g, (1+t)/(10+t)), reaches %g only at step %lld; this run's "
                "last update uses %.4f, so a larger --ema changes nothing here\n",
                cfg_.ema, cfg_.ema, static_cast<long long>(warm), ema_decay_at(cfg_.ema, planned_steps() - 1));
  std::printf("  run folder %s: %lld iterations planned%s\n", opt_.out.c_str(),
              static_cast<long long>(planned_steps()),
              st_.step > 0 ? (" (resuming at step " + std::to_string(st_.step) + ")").c_str() : "");
  std::fflush(stdout);
}

void Run::make_runner() {
  runner_.reset();  // its graph and memory pool go before the new one is made
  if (!queued()) return;
  runner_ = std::make_unique<IterationRunner>(*G_, *D_, *opt_g_, *opt_d_, loss_config(), cfg_.batch, st_.rng_seed,
                                              rng_.offset(), RunnerOptions{cfg_.graph && !decaying(), 8});
}

// Rank 0 alone touches the run folder: the new folder, config.json and metrics.csv.
void Run::prepare_folder(bool resuming) {
  if (!resuming) dir_.prepare_fresh(opt_.force);  // touch the folder only once all input checked out
  if (resuming) dir_.prepare_resume();            // leftovers of a killed run go; deleted folders come back
  nlohmann::json j = to_json(cfg_);
  j["device"] = device_name(dev_);
  j["precision"] = precision_name(resolve_precision(cfg_.precision, dev_));
  j["iteration"] = iteration_mode();  // a record of how it ran, not a setting (read back, ignored)
  j["d_batches"] = d_batches_mode();  // likewise
  std::string text;
  try {
    text = j.dump(2) + "\n";
  } catch (const nlohmann::json::exception&) {
    throw Error("A setting or genre name of this run is not UTF-8 text, so " + dir_.path("config.json") +
                " cannot be written.");
  }
  write_file_atomic(dir_.path("config.json"), text, "the run's settings");
  if (!resuming)
    write_file_atomic(dir_.path("holdout.json"),
                      holdout_record(split_, cfg_.holdout, cfg_.holdout_seed, cfg_.genres, cfg_.data).dump(1) + "\n",
                      "the run's holdout");
  log_ = std::make_unique<MetricsLog>(dir_.path("metrics.csv"), resuming ? st_.step : -1);
}

// Every check before the folder is touched. Rank 0 takes the folder's lock first, so a
// second `train` on it fails at once and two can never both pass the "already holds a
// run" test; a failure before any write releases it (and removes a folder it created).
void Run::setup(std::optional<Checkpoint>& ck, std::optional<Checkpoint>& init) {
  Comm& comm = dp_.comm();
  comm.agree(
      [&] {
        CG_USER_CHECK(!opt_.resume || std::filesystem::is_directory(opt_.out), "Cannot resume: the folder ",
                      opt_.out, " does not exist.");
        lock_ = FolderLock(opt_.out, opt_.resume ? "train --resume" : "train");
      },
      "locking the run folder", /*only_root=*/true);
  try {
    if (opt_.resume) {
      std::string latest;
      comm.agree(
          [&] {
            latest = dir_.latest_checkpoint();
            CG_USER_CHECK(!latest.empty(), "Cannot resume: ", opt_.out,
                          " holds no checkpoint (checkpoints/step_*.safetensors).");
          },
          "finding the checkpoint", /*only_root=*/true);
      comm.broadcast(latest, "broadcast checkpoint path");
      ck = dp_.load_checkpoint(latest);  // read on rank 0, sent to the others
      comm.agree([&] { cfg_ = resume_config(ck->config(), opt_.overrides); }, "resuming the settings");
    }
    comm.agree([&] { if (!ck) dir_.check_fresh(opt_.force); }, "checking the run folder", true);  // refuse before any work
    comm.agree([&] { open_data(ck.has_value()); }, "opening the datasets");
    comm.agree([&] { dev_ = resolve_device(cfg_.device, !opt_.quiet); }, "choosing the device");
    dp_.check_same({{"build of covergan", build_fingerprint()},
                    {"configuration", shared_settings(cfg_, dev_)},
                    {"labeled dataset", dataset_identity(labeled_)},
                    {"pretraining set", unlabeled_ ? dataset_identity(*unlabeled_) : "none"},
                    {"starting point", ck ? "a checkpoint of this run" : cfg_.init.empty() ? "fresh weights" : "--init"}});
    if (!ck && !cfg_.init.empty()) init = dp_.load_checkpoint(cfg_.init);  // rank 0's file, for all
    if (dp_.distributed() && dev_ == Device::cuda) comm.agree([&] { comm.use_gpu(); }, "choosing the GPUs");
    comm.agree([&] { build(ck ? &*ck : nullptr, init ? &*init : nullptr); }, "building the model");
  } catch (...) {
    lock_.release_and_remove_if_empty();  // a folder this run created and never used goes again
    throw;
  }
}

}  // namespace cg::gan::trainer_detail
