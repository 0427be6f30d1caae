// Strict query parameters (see params.h).
#include "serve/params.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace cg::serve {
namespace {

std::string quoted(const std::string& s) {
  std::string out = s.size() > 40 ? s.substr(0, 40) + "..." : s;
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';  // never echo control characters
  return "\"" + out + "\"";
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> parts;
  std::string item;
  std::istringstream in(s);
  while (std::getline(in, item, ',')) parts.push_back(item);
  if (!s.empty() && s.back() == ',') parts.push_back("");
  return parts;
}

}  // namespace

bool parse_int64(const std::string& s, int64_t& out) {
  if (s.empty() || s.size() > 20 || std::isspace(static_cast<unsigned char>(s[0]))) return false;
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || end != s.c_str() + s.size()) return false;
  out = v;
  return true;
}

bool parse_double(const std::string& s, double& out) {
  if (s.empty() || s.size() > 40 || std::isspace(static_cast<unsigned char>(s[0]))) return false;
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (errno != 0 || end != s.c_str() + s.size() || !std::isfinite(v)) return false;
  out = v;
  return true;
}

bool is_plain_name(const std::string& s) {
  if (s.empty() || s.size() > 100 || s[0] == '.') return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) return false;
  return true;
}

Params::Params(const QueryParams& q, std::initializer_list<const char*> known) : q_(q) {
  for (auto it = q.begin(); it != q.end(); ++it) {
    bool ok = it->first == "token";
    for (const char* k : known) ok = ok || it->first == k;
    if (!ok) {
      std::string list;
      for (const char* k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      throw HttpError(400, "Unknown parameter " + quoted(it->first) + (list.empty() ? "; this address takes none."
                                                                                   : "; this address takes " + list + "."));
    }
    if (q.count(it->first) > 1) throw HttpError(400, "The parameter " + quoted(it->first) + " is given twice.");
  }
}

const std::string* Params::find(const std::string& name) const {
  const auto it = q_.find(name);
  return it == q_.end() ? nullptr : &it->second;
}

bool Params::has(const std::string& name) const { return find(name) != nullptr; }

std::string Params::text(const std::string& name, const std::string& def, size_t max_len) const {
  const std::string* v = find(name);
  if (!v) return def;
  if (v->empty() || v->size() > max_len)
    throw HttpError(400, "The parameter " + name + " must be 1 to " + std::to_string(max_len) + " characters long.");
  return *v;
}

int64_t Params::integer(const std::string& name, int64_t def, int64_t lo, int64_t hi) const {
  const std::string* v = find(name);
  if (!v) return def;
  int64_t x = 0;
  if (!parse_int64(*v, x) || x < lo || x > hi)
    throw HttpError(400, "The parameter " + name + " must be a whole number from " + std::to_string(lo) + " to " +
                             std::to_string(hi) + "; got " + quoted(*v) + ".");
  return x;
}

double Params::number(const std::string& name, double def, double lo, double hi) const {
  const std::string* v = find(name);
  if (!v) return def;
  double x = 0;
  if (!parse_double(*v, x) || x < lo || x > hi) {
    std::ostringstream os;
    os << "The parameter " << name << " must be a number from " << lo << " to " << hi << "; got " << quoted(*v)
       << ".";
    throw HttpError(400, os.str());
  }
  return x;
}

std::vector<double> Params::numbers(const std::string& name, double lo, double hi, size_t max_count) const {
  const std::string* v = find(name);
  std::vector<double> out;
  if (!v) return out;
  const auto parts = split_commas(*v);
  if (parts.empty() || parts.size() > max_count)
    throw HttpError(400, "The parameter " + name + " takes 1 to " + std::to_string(max_count) +
                             " numbers separated by commas; got " + quoted(*v) + ".");
  for (const auto& p : parts) {
    double x = 0;
    if (!parse_double(p, x) || x < lo || x > hi) {
      std::ostringstream os;
      os << "Each value of " << name << " must be a number from " << lo << " to " << hi << "; got " << quoted(p)
         << ".";
      throw HttpError(400, os.str());
    }
    out.push_back(x);
  }
  return out;
}

std::vector<std::string> Params::names(const std::string& name, size_t max_count) const {
  const std::string* v = find(name);
  std::vector<std::string> out;
  if (!v) return out;
  const auto parts = split_commas(*v);
  if (parts.empty() || parts.size() > max_count)
    throw HttpError(400, "The parameter " + name + " takes 1 to " + std::to_string(max_count) +
                             " names separated by commas; got " + quoted(*v) + ".");
  for (const auto& p : parts) {
    if (!is_plain_name(p)) throw HttpError(400, "The parameter " + name + " holds a bad name: " + quoted(p) + ".");
    out.push_back(p);
  }
  return out;
}

}  // namespace cg::serve
