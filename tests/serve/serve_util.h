// Helpers for the server's tests: a plain HTTP/1.1 client over a socket (it sends the
// request target byte for byte, so traversal attempts arrive as written), a
// `covergan serve` process started in the background and stopped with SIGINT, a
// training in the background, and a small trained run folder made once per binary.
#pragma once
#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "support/temp_dir.h"

namespace servetest {

struct Response {
  int status = 0;                              // 0: no answer (refused, timed out)
  std::map<std::string, std::string> headers;  // names lower-case
  std::string body;
  std::string header(const std::string& name) const;
};

// GET (or another method) target from 127.0.0.1:port; extra_headers are whole lines
// ("Cookie: a=b"), Host is 127.0.0.1:port unless one is given.
Response http(int port, const std::string& target, const std::vector<std::string>& extra_headers = {},
              const std::string& method = "GET", int timeout_s = 60, const std::string& body = "");
// A free TCP port on 127.0.0.1 right now (for programs that need one named, as chromedriver).
int free_port();
// Whether something accepts connections on 127.0.0.1:port.
bool port_open(int port);

// A background process with its output in a log file.
class Process {
 public:
  // argv[0] is the program; output (stdout and stderr) goes to log.
  Process(const std::vector<std::string>& argv, const std::string& log);
  ~Process();  // kills it (SIGKILL) when still running
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  pid_t pid() const { return pid_; }
  void signal(int sig) const;
  // Waits up to timeout_s; the exit code, 128 + the signal, or -1 when still running.
  int wait(double timeout_s);
  std::string log() const;

 private:
  pid_t pid_ = -1;
  std::string log_;
  int status_ = -1;
};

std::string covergan_bin();

// `covergan serve args...` on a free port; waits until it prints its address.
class ServeProcess {
 public:
  ServeProcess(const std::vector<std::string>& args, const std::string& log);
  int port() const { return port_; }
  const std::string& url() const { return url_; }  // as printed (with ?token=... when needed)
  Process& proc() { return proc_; }

 private:
  Process proc_;
  int port_ = 0;
  std::string url_;
};

// A labeled 16x16 two-genre set (red, blue) and a tiny model's training command.
struct TinyData {
  cgtest::TempDir dir{"serve_data"};
  std::string data = dir / "data.cgd";
  TinyData();
  // `covergan train` arguments for a run into out (16x16, base 4, batch 8).
  std::vector<std::string> train_args(const std::string& out, const std::vector<std::string>& extra) const;
};

// A finished short training (40 iterations, checkpoints at 20 and 40, sample grids at
// 20 and 40), made once per test binary and shared read-only.
struct SharedRun {
  std::string root;  // the run folder
  std::string id;    // its id on the server ("run")
};
const SharedRun& shared_run();

// Decoded PNG: width, height and RGB bytes; width 0 when the bytes are no PNG.
struct Picture {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;
};
Picture decode(const std::string& png);

std::string slurp(const std::string& path);

}  // namespace servetest
