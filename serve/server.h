// `covergan serve`: a small HTTP server (cpp-httplib) over one or more run folders.
// Pages: an index of the runs, one page per run (live curves, samples, checkpoints,
// config, the generator playground, extras) and curves of several runs overlaid.
// Safe by default: it binds to 127.0.0.1; bound anywhere else it asks every
// request for a token it makes at start. Read-only, GET and HEAD only, and it
// reads nothing outside the run folders (docs/SERVE.md).
#pragma once
#include <memory>
#include <string>
#include <vector>

namespace cg::serve {

struct ServeOptions {
  std::vector<std::string> runs;  // run folders
  std::string bind = "127.0.0.1";
  int port = 8080;                // 0: any free port
  std::string device = "auto";    // where the playground's generators run
  bool access_log = false;        // one line per request on stdout
  size_t threads = 32;            // HTTP worker threads
  size_t max_pending_covers = 16; // playground requests waiting or running
};

class Server {
 public:
  // Checks the run folders and binds the port; throws cg::Error (one sentence) when
  // a folder is missing or the address cannot be bound.
  explicit Server(const ServeOptions& opt);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int port() const;
  // Whether requests need the token (bound to an address other than loopback).
  bool needs_token() const;
  const std::string& token() const;
  // The address to open, with ?token=... when one is needed.
  std::string url() const;
  std::vector<std::string> run_ids() const;

  // Serves until stop() (from any thread, e.g. the one that caught Ctrl-C).
  void run();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Whether host (a --bind value) only reaches this machine: 127.x.x.x, ::1, localhost.
bool is_loopback(const std::string& host);

}  // namespace cg::serve
