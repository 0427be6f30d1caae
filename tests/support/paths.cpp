// Implementation of the path look-ups in paths.h.
#include "support/paths.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>

namespace cgtest {

namespace fs = std::filesystem;

namespace {
std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}
}  // namespace

std::string source_dir() { return env_or("COVERGAN_SOURCE_DIR", COVERGAN_SOURCE_DIR); }

std::string binary_dir() {
  if (const char* v = std::getenv("COVERGAN_BINARY_DIR"); v && *v) return v;
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec && fs::exists(self.parent_path() / "covergan", ec)) return self.parent_path().string();
  return COVERGAN_BINARY_DIR;
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

ShellResult run_shell(const std::string& cmd) {
  ShellResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, got);
  const int st = ::pclose(p);
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
  return r;
}

namespace {
bool imports(const std::string& py, const char* modules) {
  const std::string cmd = shell_quote(py) + " -c 'import " + modules + "' >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}
bool imports_torch(const std::string& py) { return imports(py, "torch, numpy"); }

// The first python3 along PATH (in order: a pyenv shim without the module may come first)
// that imports modules; "" when none does.
std::string python_on_path_with(const char* modules) {
  const char* path = std::getenv("PATH");
  const std::string dirs = path ? path : "";
  for (size_t at = 0; at <= dirs.size();) {
    const size_t end = std::min(dirs.find(':', at), dirs.size());
    const std::string cand = (end > at ? dirs.substr(at, end - at) : std::string(".")) + "/python3";
    if (::access(cand.c_str(), X_OK) == 0 && imports(cand, modules)) return cand;
    at = end + 1;
  }
  return "";
}
}  // namespace

const Python& python_with_pillow() {
  static const Python py = [] {
    Python p;
    if (const char* forced = std::getenv("COVERGAN_PYTHON"); forced && *forced && imports(forced, "PIL")) {
      p.path = forced;
      return p;
    }
    p.path = python_on_path_with("PIL");
    if (p.path.empty())
      p.reason = "no python3 on PATH imports PIL (install Debian's python3-pil, as scripts/deps.sh does)";
    return p;
  }();
  return py;
}

const Python& python_with_torch() {
  static const Python py = [] {
    Python p;
    if (const char* forced = std::getenv("COVERGAN_PYTHON"); forced && *forced) {
      if (imports_torch(forced))
        p.path = forced;
      else
        p.reason = std::string("COVERGAN_PYTHON=") + forced + " cannot import torch and numpy";
      return p;
    }
    p.path = python_on_path_with("torch, numpy");
    if (!p.path.empty()) return p;
    p.reason = "no python3 on PATH imports torch and numpy (install Debian's python3-torch and python3-numpy, "
               "as scripts/deps.sh does, or set COVERGAN_PYTHON)";
    return p;
  }();
  return py;
}

const Python& python_with(const std::string& modules) {
  static std::map<std::string, Python> found;
  auto it = found.find(modules);
  if (it != found.end()) return it->second;
  auto imports = [&](const std::string& py) {
    return std::system((shell_quote(py) + " -c " + shell_quote("import " + modules) + " >/dev/null 2>&1").c_str()) == 0;
  };
  Python p;
  if (const char* forced = std::getenv("COVERGAN_PYTHON"); forced && *forced) {
    if (imports(forced))
      p.path = forced;
    else
      p.reason = std::string("COVERGAN_PYTHON=") + forced + " cannot import " + modules;
    return found[modules] = p;
  }
  const char* path = std::getenv("PATH");
  const std::string dirs = path ? path : "";
  for (size_t at = 0; at <= dirs.size();) {
    const size_t end = std::min(dirs.find(':', at), dirs.size());
    const std::string cand = (end > at ? dirs.substr(at, end - at) : std::string(".")) + "/python3";
    if (::access(cand.c_str(), X_OK) == 0 && imports(cand)) {
      p.path = cand;
      return found[modules] = p;
    }
    at = end + 1;
  }
  p.reason = "no python3 on PATH imports " + modules + " (install Debian's python3-numpy and python3-scipy, as "
             "scripts/deps.sh does, or set COVERGAN_PYTHON)";
  return found[modules] = p;
}

bool torch_optional() {
  const char* v = std::getenv("COVERGAN_TORCH_OPTIONAL");
  return v && std::string(v) == "1" && !std::getenv("COVERGAN_PYTHON");
}

}  // namespace cgtest
