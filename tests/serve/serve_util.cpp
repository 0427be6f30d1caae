// Helpers for the server's tests (see serve_util.h).
#include "serve_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "data/image.h"
#include "gan/gan_util.h"
#include "support/paths.h"
#include "support/regex.h"

namespace servetest {
namespace {

int connect_to(int port, int timeout_s) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval tv{timeout_s, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::string Response::header(const std::string& name) const {
  const auto it = headers.find(lower(name));
  return it == headers.end() ? std::string() : it->second;
}

Response http(int port, const std::string& target, const std::vector<std::string>& extra_headers,
              const std::string& method, int timeout_s, const std::string& body) {
  Response r;
  const int fd = connect_to(port, timeout_s);
  if (fd < 0) return r;
  std::string req = method + " " + target + " HTTP/1.1\r\n";
  bool host_given = false;
  for (const auto& h : extra_headers) host_given = host_given || lower(h).rfind("host:", 0) == 0;
  if (!host_given) req += "Host: 127.0.0.1:" + std::to_string(port) + "\r\n";
  for (const auto& h : extra_headers) req += h + "\r\n";
  if (!body.empty()) req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  req += "Connection: close\r\n\r\n" + body;
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != ssize_t(req.size())) {
    ::close(fd);
    return r;
  }
  // Read to the end of the answer: its Content-Length, the last chunk, or the close
  // (chromedriver keeps the connection open whatever the request says).
  std::string raw;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    raw.append(buf, size_t(n));
    const size_t head_end = raw.find("\r\n\r\n");
    if (head_end == std::string::npos) continue;
    const std::string head = lower(raw.substr(0, head_end));
    const size_t cl = head.find("\r\ncontent-length:");
    if (cl != std::string::npos && raw.size() >= head_end + 4 + std::stoul(head.substr(cl + 17))) break;
    if (head.find("transfer-encoding: chunked") != std::string::npos && raw.size() >= 5 &&
        raw.compare(raw.size() - 5, 5, "0\r\n\r\n") == 0)
      break;
    if (method == "HEAD" || head.rfind("http/1.1 304", 0) == 0 || head.rfind("http/1.1 204", 0) == 0) break;
  }
  ::close(fd);
  const size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos || raw.compare(0, 9, "HTTP/1.1 ") != 0) return r;
  r.status = std::atoi(raw.c_str() + 9);
  std::istringstream head(raw.substr(0, end));
  std::string line;
  std::getline(head, line);
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string v = line.substr(colon + 1);
    while (!v.empty() && v[0] == ' ') v.erase(0, 1);
    r.headers[lower(line.substr(0, colon))] = v;
  }
  r.body = raw.substr(end + 4);
  if (lower(r.header("Transfer-Encoding")) == "chunked") {  // chromedriver may answer in chunks
    std::string plain;
    size_t at = 0;
    while (at < r.body.size()) {
      const size_t eol = r.body.find("\r\n", at);
      if (eol == std::string::npos) break;
      const size_t n = std::stoul(r.body.substr(at, eol - at), nullptr, 16);
      if (n == 0) break;
      plain += r.body.substr(eol + 2, n);
      at = eol + 2 + n + 2;
    }
    r.body = plain;
  }
  return r;
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  ::close(fd);
  return ok ? ntohs(a.sin_port) : 0;
}

bool port_open(int port) {
  const int fd = connect_to(port, 2);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

Process::Process(const std::vector<std::string>& argv, const std::string& log) : log_(log) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execv(args[0], args.data());
    ::_exit(127);
  }
}

Process::~Process() {
  if (pid_ > 0 && status_ == -1) {
    ::kill(pid_, SIGKILL);
    wait(10);
  }
}

void Process::signal(int sig) const {
  if (pid_ > 0 && status_ == -1) ::kill(pid_, sig);
}

int Process::wait(double timeout_s) {
  if (status_ != -1) return status_;
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  for (;;) {
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
      return status_;
    }
    if (std::chrono::steady_clock::now() > until) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string Process::log() const { return slurp(log_); }

std::string covergan_bin() {
  const char* env = std::getenv("COVERGAN_BIN");
  return env && *env ? env : cgtest::binary_dir() + "/covergan";
}

namespace {
std::vector<std::string> serve_argv(const std::vector<std::string>& args) {
  std::vector<std::string> v{covergan_bin(), "serve"};
  v.insert(v.end(), args.begin(), args.end());
  bool port = false;
  for (const auto& a : args) port = port || a == "--port";
  if (!port) v.insert(v.end(), {"--port", "0"});
  return v;
}
}  // namespace

ServeProcess::ServeProcess(const std::vector<std::string>& args, const std::string& log)
    : proc_(serve_argv(args), log) {
  static const std::regex addr(R"((http://[^ \n]*:(\d+)/[^ \n]*))");
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < until) {
    std::smatch m;
    const std::string text = proc_.log();
    if (std::regex_search(text, m, addr)) {
      url_ = m[1];
      port_ = std::stoi(m[2]);
      return;
    }
    if (proc_.wait(0) != -1) break;  // it ended: the log says why
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("covergan serve did not start: " + proc_.log());
}

TinyData::TinyData() { gantest::write_striped_dataset(data, 48, 16, {"red", "blue"}, 1); }

std::vector<std::string> TinyData::train_args(const std::string& out, const std::vector<std::string>& extra) const {
  std::vector<std::string> v{covergan_bin(), "train", "--data", data, "--out", out, "--device", "cpu", "--batch", "8",
                             "--base-channels", "4", "--seed", "3"};
  v.insert(v.end(), extra.begin(), extra.end());
  return v;
}

const SharedRun& shared_run() {
  static cgtest::TempDir dir("serve_run");
  static TinyData data;
  static SharedRun run;
  static std::once_flag once;
  std::call_once(once, [] {
    run.root = dir / "run";
    run.id = "run";
    Process train(data.train_args(run.root, {"--steps", "40", "--checkpoint-every", "20", "--sample-every", "20",
                                             "--keep", "5", "-q"}),
                  dir / "train.log");
    if (train.wait(300) != 0) throw std::runtime_error("the shared training failed: " + train.log());
  });
  return run;
}

Picture decode(const std::string& png) {
  Picture p;
  try {
    const auto img = cg::data::decode_png(reinterpret_cast<const uint8_t*>(png.data()), png.size());
    p.width = img.width;
    p.height = img.height;
    p.rgb = img.rgb;
  } catch (const std::exception&) {
  }
  return p;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace servetest
