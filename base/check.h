// Error handling for the whole engine: one exception type and one family of
// check macros (generic, I/O, CUDA, cuDNN, cuBLAS) that report the failed
// statement with its file and line. The CLI turns an Error into one sentence.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace cg {

// Every user-visible failure is a cg::Error; what() is a full sentence.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
};

[[noreturn]] void fail_at(const char* file, int line, const std::string& msg);

namespace detail {
template <class... Args>
std::string cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
}  // namespace detail

}  // namespace cg

// CG_CHECK(cond, message parts...): a precondition; throws cg::Error naming the place.
#define CG_CHECK(cond, ...)                                                          \
  do {                                                                               \
    if (!(cond)) ::cg::fail_at(__FILE__, __LINE__, ::cg::detail::cat(__VA_ARGS__)); \
  } while (0)

// CG_FAIL(message parts...): an unconditional error.
#define CG_FAIL(...) ::cg::fail_at(__FILE__, __LINE__, ::cg::detail::cat(__VA_ARGS__))

// User-facing errors (bad file, bad flag) carry no file:line: they are not bugs.
#define CG_USER_CHECK(cond, ...)                                              \
  do {                                                                        \
    if (!(cond)) throw ::cg::Error(::cg::detail::cat(__VA_ARGS__));           \
  } while (0)
