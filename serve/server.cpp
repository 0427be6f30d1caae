// The server's setup: run folders, the playground, security checks before any
// route (method, Host, token), the HTTP worker pool, binding and stopping.
#include "serve/server.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

#include "base/check.h"
#include "engine/device.h"
#include "serve/routes.h"

namespace cg::serve {
namespace {

constexpr const char* kCookie = "covergan_token";

// 128 random bits as hex, from the kernel.
std::string make_token() {
  unsigned char b[16] = {};
  const int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  const bool ok = fd >= 0 && ::read(fd, b, sizeof b) == ssize_t(sizeof b);
  if (fd >= 0) ::close(fd);
  CG_USER_CHECK(ok, "Cannot read /dev/urandom to make the access token.");
  std::string hex;
  for (unsigned char c : b) {
    char h[3];
    std::snprintf(h, sizeof h, "%02x", c);
    hex += h;
  }
  return hex;
}

// Compares without an early exit, so timing tells nothing about how much matched.
bool same_secret(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char d = 0;
  for (size_t i = 0; i < a.size(); ++i) d |= static_cast<unsigned char>(a[i] ^ b[i]);
  return d == 0;
}

std::string cookie_value(const httplib::Request& req, const std::string& name) {
  const std::string all = req.get_header_value("Cookie");
  size_t pos = 0;
  while (pos < all.size()) {
    size_t end = all.find(';', pos);
    if (end == std::string::npos) end = all.size();
    std::string item = all.substr(pos, end - pos);
    while (!item.empty() && item[0] == ' ') item.erase(0, 1);
    if (item.rfind(name + "=", 0) == 0) return item.substr(name.size() + 1);
    pos = end + 1;
  }
  return "";
}

// The Host header without its port ("[::1]:8080" -> "[::1]").
std::string host_name(const std::string& host) {
  if (!host.empty() && host[0] == '[') return host.substr(0, host.find(']') + 1);
  return host.substr(0, host.find(':'));
}

}  // namespace

bool is_loopback(const std::string& host) {
  if (host == "localhost" || host == "::1" || host == "[::1]") return true;
  in_addr a{};
  return ::inet_pton(AF_INET, host.c_str(), &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

struct Server::Impl {
  ServeOptions opt;
  RunSet runs;
  Playground playground;
  RouteContext ctx{runs, playground};
  httplib::Server http;
  std::string token;  // "" when bound to loopback
  int port = 0;

  explicit Impl(const ServeOptions& o)
      : opt(o), runs(o.runs), playground(resolve_device(o.device, false), o.max_pending_covers) {}

  // Before any route: GET/HEAD only, a Host naming this machine (a web page elsewhere
  // cannot reach the server by DNS rebinding), and the token when one is needed.
  httplib::Server::HandlerResponse check(const httplib::Request& req, httplib::Response& res) {
    if (req.method != "GET" && req.method != "HEAD") {
      res.set_header("Allow", "GET, HEAD");
      send_sentence(res, 405, "covergan serve is read-only: it answers GET and HEAD only.");
      return httplib::Server::HandlerResponse::Handled;
    }
    const std::string length = req.get_header_value("Content-Length");
    if ((!length.empty() && length != "0") || req.has_header("Transfer-Encoding")) {
      send_sentence(res, 413, "covergan serve takes no request bodies.");
      return httplib::Server::HandlerResponse::Handled;
    }
    // No compression: cpp-httplib 0.11 compresses every text answer with Brotli at its
    // slowest setting when the client accepts it (seconds of CPU for Chart.js or a long
    // run's metrics on a busy 2-core machine, taken from the training being watched).
    // The request object is not const (httplib owns it); its handlers only see it so.
    const_cast<httplib::Request&>(req).headers.erase("Accept-Encoding");
    if (token.empty()) {
      const std::string h = host_name(req.get_header_value("Host"));
      if (!h.empty() && h != "localhost" && h != "127.0.0.1" && h != "[::1]" && h != opt.bind) {
        send_sentence(res, 403, "This server answers requests for localhost only (Host: " + h.substr(0, 60) + ").");
        return httplib::Server::HandlerResponse::Handled;
      }
      return httplib::Server::HandlerResponse::Unhandled;
    }
    const std::string auth = req.get_header_value("Authorization");
    const bool by_cookie = same_secret(cookie_value(req, kCookie), token);
    const bool by_header = auth.rfind("Bearer ", 0) == 0 && same_secret(auth.substr(7), token);
    const bool by_query = req.has_param("token") && same_secret(req.get_param_value("token"), token);
    if (!by_cookie && !by_header && !by_query) {
      send_sentence(res, 401, "This server needs the token it printed at start: open the address it printed "
                              "(ending in ?token=...).");
      return httplib::Server::HandlerResponse::Handled;
    }
    // The page's own requests then carry the token as a cookie that scripts cannot read.
    if (by_query && !by_cookie)
      res.set_header("Set-Cookie", std::string(kCookie) + "=" + token + "; Path=/; HttpOnly; SameSite=Strict");
    return httplib::Server::HandlerResponse::Unhandled;
  }

  void setup() {
    const size_t n = opt.threads;
    http.new_task_queue = [n] { return new httplib::ThreadPool(n); };
    http.set_payload_max_length(4096);  // no route takes a body
    // SO_REUSEADDR (a restart binds at once) but not httplib's default SO_REUSEPORT, with
    // which a second server on the same port would quietly share its connections.
    http.set_socket_options([](int sock) {
      const int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    http.set_read_timeout(5, 0);
    http.set_write_timeout(10, 0);
    // One request per connection: cpp-httplib 0.11 waits for a kept-alive connection's
    // next request by waking every ~11 ms, which for a page polling every 2 s cost more
    // CPU than the polls themselves; a new connection on loopback costs a few syscalls.
    http.set_keep_alive_max_count(1);
    http.set_default_headers({{"X-Content-Type-Options", "nosniff"},
                              {"Referrer-Policy", "no-referrer"},
                              {"X-Frame-Options", "SAMEORIGIN"},
                              {"Content-Security-Policy",
                               "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; "
                               "script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
                               "frame-ancestors 'self'"}});
    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) { return check(req, res); });
    http.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
      if (res.status == 404)
        send_sentence(res, 404, "Nothing here at " + req.path.substr(0, 80) + "; the index of runs is at /.");
      else
        send_sentence(res, res.status, "The request could not be answered (HTTP " + std::to_string(res.status) + ").");
      return httplib::Server::HandlerResponse::Handled;
    }));
    if (opt.access_log)
      http.set_logger([](const httplib::Request& req, const httplib::Response& res) {
        std::printf("%s %s %d %zu\n", req.method.c_str(), req.path.c_str(), res.status, res.body.size());
        std::fflush(stdout);
      });
    add_page_routes(http, ctx);
    add_api_routes(http, ctx);
    add_cover_routes(http, ctx);
  }
};

Server::Server(const ServeOptions& opt) : impl_(std::make_unique<Impl>(opt)) {
  CG_USER_CHECK(opt.port >= 0 && opt.port <= 65535, "--port must lie in 0..65535, got ", opt.port, ".");
  if (!is_loopback(opt.bind)) impl_->token = make_token();
  impl_->setup();
  if (opt.port == 0) {
    impl_->port = impl_->http.bind_to_any_port(opt.bind);
    CG_USER_CHECK(impl_->port > 0, "Cannot listen on ", opt.bind, " (any port).");
  } else {
    CG_USER_CHECK(impl_->http.bind_to_port(opt.bind, opt.port), "Cannot listen on ", opt.bind, ":", opt.port,
                  ": the port is in use or the address is not this machine's; pass another --port (0 picks a free "
                  "one) or --bind.");
    impl_->port = opt.port;
  }
}

Server::~Server() = default;

int Server::port() const { return impl_->port; }
bool Server::needs_token() const { return !impl_->token.empty(); }
const std::string& Server::token() const { return impl_->token; }

std::string Server::url() const {
  std::string host = impl_->opt.bind;
  if (host == "0.0.0.0" || host == "::") host = "127.0.0.1";  // any address: this machine's own works
  if (host.find(':') != std::string::npos && host[0] != '[') host = "[" + host + "]";
  std::string u = "http://" + host + ":" + std::to_string(impl_->port) + "/";
  if (needs_token()) u += "?token=" + impl_->token;
  return u;
}

std::vector<std::string> Server::run_ids() const {
  std::vector<std::string> ids;
  for (const auto& r : impl_->runs.all()) ids.push_back(r->id);
  return ids;
}

void Server::run() { impl_->http.listen_after_bind(); }
void Server::stop() { impl_->http.stop(); }

}  // namespace cg::serve
