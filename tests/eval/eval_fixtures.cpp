// The evaluation tests' inputs (see eval_fixtures.h).
#include "eval_fixtures.h"

#include <filesystem>
#include <random>

#include "data/dataset.h"
#include "gan/checkpoint.h"

namespace evaltest {

void write_stripes(const std::string& path, int per_genre, int S, const std::vector<std::string>& genres,
                   uint32_t seed) {
  std::mt19937 r(seed);
  std::vector<uint8_t> px;
  std::vector<int32_t> labels;
  for (int g = 0; g < int(genres.size()); ++g)
    for (int i = 0; i < per_genre; ++i) {
      const int phase = int(r() % 4);
      for (int y = 0; y < S; ++y)
        for (int x = 0; x < S; ++x) {
          const bool on = ((g % 2 ? x : y) + phase) / 2 % 2;
          for (int c = 0; c < 3; ++c) px.push_back(uint8_t(on ? (c == g % 3 ? 230 : 40) : 20 + int(r() % 30)));
        }
      labels.push_back(g);
    }
  cg::data::DatasetInfo info;
  info.size = S;
  info.genres = genres;
  info.count = int64_t(labels.size());
  cg::data::write_dataset(path, info, px.data(), labels);
}

std::string write_checkpoint(const std::string& dir, const std::string& data, const std::vector<std::string>& genres,
                             int S, double init_std) {
  cg::gan::TrainConfig cfg;
  cfg.genres = genres;
  cfg.data = data;
  const cg::data::Dataset ds = cg::data::Dataset::open(data, false);
  cfg.data_bytes = ds.file_bytes();
  cfg.data_fingerprint = ds.fingerprint();
  cfg.holdout = 0;  // every cover of data was trained on
  cfg.batch = 16;
  cfg.model.image_size = S;
  cfg.model.base_channels = 4;
  cfg.model.num_genres = int(genres.size());
  cfg.model.init_std = init_std;
  cg::gan::Generator G(cfg.model, cg::Device::cpu);
  cg::gan::Discriminator D(cfg.model, cg::Device::cpu);
  cg::Philox rng(1);
  G.init(rng);
  D.init(rng);
  std::filesystem::create_directories(dir + "/run/checkpoints");
  const std::string path = dir + "/run/checkpoints/step_00000001.safetensors";
  cg::gan::save_checkpoint(path, cfg, G, &D, nullptr, nullptr, cg::gan::TrainState{});
  return path;
}

}  // namespace evaltest
