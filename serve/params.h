// Reading a request strictly: query parameters that are not numbers, lie out of
// range, repeat, or are unknown to the route become an HttpError (400) whose
// message is one sentence naming the parameter, never a guess or a crash.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace cg::serve {

// An answer other than 200, with the sentence the client sees as the body.
class HttpError : public std::runtime_error {
 public:
  HttpError(int status, const std::string& sentence) : std::runtime_error(sentence), status(status) {}
  int status;
};

using QueryParams = std::multimap<std::string, std::string>;  // = httplib::Params

class Params {
 public:
  // Refuses (400) a parameter outside known (and "token", which any route takes) and
  // any parameter given twice.
  Params(const QueryParams& q, std::initializer_list<const char*> known);

  bool has(const std::string& name) const;
  std::string text(const std::string& name, const std::string& def, size_t max_len = 64) const;
  // An integer in [lo, hi]; def when absent.
  int64_t integer(const std::string& name, int64_t def, int64_t lo, int64_t hi) const;
  // A finite number in [lo, hi]; def when absent.
  double number(const std::string& name, double def, double lo, double hi) const;
  // Comma-separated finite numbers, each in [lo, hi], at most max_count of them.
  std::vector<double> numbers(const std::string& name, double lo, double hi, size_t max_count) const;
  // Comma-separated names of [A-Za-z0-9._-], at most max_count of them.
  std::vector<std::string> names(const std::string& name, size_t max_count) const;

 private:
  const std::string* find(const std::string& name) const;
  const QueryParams& q_;
};

// Strict parses shared with the routes: the whole text must be the number.
bool parse_int64(const std::string& s, int64_t& out);
bool parse_double(const std::string& s, double& out);
// Whether s is a plain name: 1-100 of [A-Za-z0-9._-], not starting with '.'.
bool is_plain_name(const std::string& s);

}  // namespace cg::serve
