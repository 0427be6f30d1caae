// RUN/holdout.json: which labeled covers a run held out (data/holdout.h), recorded so a
// reader sees the split without recomputing it and a resume can check that it still holds
// out the same covers: the fraction, its seed, the count per genre and every held-out
// cover's pixel hash.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/holdout.h"

namespace cg::gan {

nlohmann::json holdout_record(const data::HoldoutSplit& split, double fraction, uint64_t seed,
                              const std::vector<std::string>& genres, const std::string& dataset);
// Throws one sentence when the file exists and holds out other covers than `now`
// (the labeled set changed under a resumed run); an absent file passes (an older run).
void check_holdout_record(const std::string& path, const nlohmann::json& now);
// The held-out covers' pixel hashes of a record file; empty when the file is absent.
std::vector<uint64_t> read_holdout_hashes(const std::string& path);

std::string hash_hex(uint64_t h);

}  // namespace cg::gan
