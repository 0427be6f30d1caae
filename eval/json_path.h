// A number in report.json by its path of keys: what eval's report pages, the advice and the
// --all-checkpoints summaries read. NaN where a key is missing or the value is not a number,
// so a report without a section reads as "not measured".
#pragma once
#include <cmath>
#include <initializer_list>
#include <nlohmann/json.hpp>

namespace cg::gan {

inline double json_number(const nlohmann::json& j, std::initializer_list<const char*> path) {
  const nlohmann::json* p = &j;
  for (const char* k : path) {
    if (!p->is_object() || !p->contains(k)) return NAN;
    p = &(*p)[k];
  }
  return p->is_number() ? p->get<double>() : NAN;
}

}  // namespace cg::gan
