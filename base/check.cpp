// The out-of-line part of the check macros: formats "message (file:line)".
#include "base/check.h"

namespace cg {

void fail_at(const char* file, int line, const std::string& msg) {
  std::string f = file;
  auto pos = f.rfind("covergan/");
  if (pos == std::string::npos) pos = f.rfind("main/");
  if (pos != std::string::npos) f = f.substr(f.find('/', pos) + 1);
  throw Error(msg + " (" + f + ":" + std::to_string(line) + ")");
}

}  // namespace cg
