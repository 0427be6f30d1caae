// Running the built covergan binary for the hardening tests: with a time limit (so a
// hang fails instead of blocking the suite), in a chosen working folder, or in the
// background to be killed. COVERGAN_BIN overrides the binary (e.g. to run these tests
// against an older build and watch them fail); else it is found as every test finds it
// (support/paths.h: $COVERGAN_BINARY_DIR, beside the test binary, the build folder).
#pragma once
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "support/paths.h"

namespace hardtest {

inline std::string covergan_bin() {
  const char* env = std::getenv("COVERGAN_BIN");
  return env && *env ? env : cgtest::binary_dir() + "/covergan";
}

struct Proc {
  int exit_code = -1;
  bool timed_out = false;
  std::string output;  // stdout and stderr together
};

// Runs `covergan args` (a shell word list) in cwd ("" = here), killed after timeout_s.
inline Proc run_cli(const std::string& args, const std::string& cwd = "", int timeout_s = 120,
                    const std::string& env = "") {
  std::string cmd = cwd.empty() ? "" : "cd '" + cwd + "' && ";
  cmd += env + " timeout -k 2 " + std::to_string(timeout_s) + " " + covergan_bin() + " " + args + " 2>&1";
  const cgtest::ShellResult s = cgtest::run_shell(cmd);
  Proc r;
  r.exit_code = s.exit_code;
  r.output = s.output;
  r.timed_out = r.exit_code == 124 || r.exit_code == 137;
  return r;
}

// Starts `covergan args` in the background, output to log; returns its pid (the binary
// itself, through exec, so a signal reaches it directly).
inline pid_t spawn_cli(const std::string& args, const std::string& log) {
  const std::string cmd = "exec " + covergan_bin() + " " + args + " > '" + log + "' 2>&1";
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

// While alive, covergan processes started from here keep a folder lock 'ms' after taking
// it (engine/folder_lock.h's COVERGAN_LOCK_HOLD_MS): two of them started together then
// overlap on any machine, where short runs on a fast one finished one after the other.
struct LockHold {
  explicit LockHold(int ms) { ::setenv("COVERGAN_LOCK_HOLD_MS", std::to_string(ms).c_str(), 1); }
  ~LockHold() { ::unsetenv("COVERGAN_LOCK_HOLD_MS"); }
  LockHold(const LockHold&) = delete;
  LockHold& operator=(const LockHold&) = delete;
};

// Waits for pid; its exit code, or 128 + the signal that ended it.
inline int wait_exit(pid_t pid) {
  int st = 0;
  if (::waitpid(pid, &st, 0) != pid) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

}  // namespace hardtest
