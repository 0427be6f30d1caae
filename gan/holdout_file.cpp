// RUN/holdout.json (see holdout_file.h).
#include "gan/holdout_file.h"

#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "base/check.h"

namespace cg::gan {

std::string hash_hex(uint64_t h) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, h);
  return buf;
}

nlohmann::json holdout_record(const data::HoldoutSplit& split, double fraction, uint64_t seed,
                              const std::vector<std::string>& genres, const std::string& dataset) {
  nlohmann::json per_genre = nlohmann::json::object();
  for (size_t g = 0; g < genres.size() && g < split.held_out_per_genre.size(); ++g)
    per_genre[genres[g]] = split.held_out_per_genre[g];
  std::vector<std::string> hashes;
  for (uint64_t h : split.held_out_hashes) hashes.push_back(hash_hex(h));
  return {{"fraction", fraction},
          {"seed", seed},
          {"dataset", dataset},
          {"held_out", split.held_out.size()},
          {"trained_on", split.train.size()},
          {"held_out_per_genre", per_genre},
          {"how", "per genre, the round(fraction * n) covers of smallest seeded pixel hash (data/holdout.h)"},
          {"pixel_hashes", hashes}};
}

namespace {
nlohmann::json read_record(const std::string& path) {
  std::ifstream in(path);
  CG_USER_CHECK(in.good(), "Cannot read ", path, ".");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(detail::cat("The holdout record ", path, " is not valid JSON (", e.what(), ")."));
  }
}
}  // namespace

void check_holdout_record(const std::string& path, const nlohmann::json& now) {
  if (!std::filesystem::exists(path)) return;
  const nlohmann::json was = read_record(path);
  CG_USER_CHECK(was.value("pixel_hashes", nlohmann::json::array()) == now["pixel_hashes"], "Cannot resume: the labeled set ",
                now.value("dataset", std::string("?")), " no longer holds out the covers this run held out (",
                path, " lists ", was.value("held_out", 0), ", the set now gives ", now.value("held_out", 0),
                "); it changed since the run began.");
}

std::vector<uint64_t> read_holdout_hashes(const std::string& path) {
  std::vector<uint64_t> out;
  if (!std::filesystem::exists(path)) return out;
  const nlohmann::json j = read_record(path);
  try {
    for (const auto& h : j.at("pixel_hashes")) out.push_back(std::stoull(h.get<std::string>(), nullptr, 16));
  } catch (const std::exception& e) {
    throw Error(detail::cat("The holdout record ", path, " is damaged (", e.what(), ")."));
  }
  return out;
}

}  // namespace cg::gan
