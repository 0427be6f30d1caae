// `covergan serve` over HTTP, as a browser or a script meets it: every route's status
// and Content-Type, the covers the playground makes, traversal attempts refused (plain,
// percent-encoded, double-encoded, absolute, symlinks leading out), bad parameters
// answered with 400 and one sentence, only GET and HEAD, the Host check on loopback
// and the token off it.
#include <doctest/doctest.h>

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "serve_util.h"

namespace fs = std::filesystem;
using servetest::http;
using servetest::Response;

namespace {

// The shared run served once for the whole binary.
servetest::ServeProcess& server() {
  static cgtest::TempDir logs("serve_http");
  static servetest::ServeProcess s({servetest::shared_run().root}, logs / "serve.log");
  return s;
}

Response get(const std::string& target, const std::vector<std::string>& headers = {}) {
  return http(server().port(), target, headers);
}

void check_route(const std::string& target, int status, const std::string& type_prefix) {
  const Response r = get(target);
  INFO(target << " -> " << r.status << " " << r.header("Content-Type") << ": " << r.body.substr(0, 200));
  CHECK(r.status == status);
  CHECK(r.header("Content-Type").rfind(type_prefix, 0) == 0);
  CHECK(r.header("X-Content-Type-Options") == "nosniff");
}

// A 400 (or 404) whose body is one sentence: a capital, a full stop, one line.
void check_sentence(const std::string& target, int status, const std::string& needle) {
  const Response r = get(target);
  INFO(target << " -> " << r.status << ": " << r.body);
  CHECK(r.status == status);
  CHECK(r.header("Content-Type").rfind("text/plain", 0) == 0);
  REQUIRE(r.body.size() > 3);
  CHECK(std::isupper(static_cast<unsigned char>(r.body[0])));
  CHECK(r.body.substr(r.body.size() - 2) == ".\n");
  CHECK(r.body.find('\n') == r.body.size() - 1);
  CHECK(r.body.find(needle) != std::string::npos);
}

std::string first_sample() {
  for (const auto& e : fs::directory_iterator(servetest::shared_run().root + "/samples"))
    return "samples/" + e.path().filename().string();
  return "";
}

}  // namespace

TEST_CASE("serve: every route answers with its status and content type") {
  const std::string id = servetest::shared_run().id;
  check_route("/", 200, "text/html");
  check_route("/run/" + id, 200, "text/html");
  check_route("/compare?runs=" + id, 200, "text/html");
  for (const char* f : {"chart.min.js", "common.js", "curves.js", "playground.js", "run.js", "index.js", "compare.js"})
    check_route(std::string("/static/") + f, 200, "text/javascript");
  check_route("/static/style.css", 200, "text/css");
  check_route("/favicon.ico", 200, "image/svg+xml");
  check_route("/api/runs", 200, "application/json");
  check_route("/api/runs/" + id, 200, "application/json");
  check_route("/api/runs/" + id + "/metrics", 200, "application/json");
  check_route("/api/runs/" + id + "/cover.png", 200, "image/png");
  check_route("/api/runs/" + id + "/sweep.png", 200, "image/png");
  check_route("/api/runs/" + id + "/strip.png", 200, "image/png");
  check_route("/files/" + id + "/config.json", 200, "application/json");
  check_route("/files/" + id + "/metrics.csv", 200, "text/csv");
  check_route("/files/" + id + "/" + first_sample(), 200, "image/png");
  check_route("/files/" + id + "/loss.png", 200, "image/png");
  check_route("/run/nope", 404, "text/plain");
  check_route("/api/runs/nope", 404, "text/plain");
  check_route("/static/nope.js", 404, "text/plain");
  check_route("/nothing/here", 404, "text/plain");
  check_route("/files/" + id + "/checkpoints/step_00000040.safetensors", 404, "text/plain");  // not a kind served

  // Chart.js is Debian's, served from the binary itself.
  CHECK(get("/static/chart.min.js").body.find("Chart.js v3") != std::string::npos);
  // The run's own HTML (the eval report) keeps its inline style and runs no script.
  fs::create_directories(servetest::shared_run().root + "/report");
  std::ofstream(servetest::shared_run().root + "/report/report.html") << "<html><style>p{}</style><p>report</p></html>";
  const Response report = get("/files/" + id + "/report/report.html");
  CHECK(report.status == 200);
  CHECK(report.header("Content-Security-Policy").find("default-src 'none'") == 0);
  CHECK(report.header("Content-Security-Policy").find("style-src 'self' 'unsafe-inline'") != std::string::npos);
  CHECK(report.header("Content-Security-Policy").find("script") == std::string::npos);
  CHECK(get("/api/runs/" + id).body.find("\"report\":\"report/report.html\"") != std::string::npos);
  fs::remove_all(servetest::shared_run().root + "/report");
  // Never compressed, whatever the client accepts (see server.cpp: Brotli would cost seconds).
  const Response js = get("/static/chart.min.js", {"Accept-Encoding: gzip, deflate, br"});
  CHECK(js.status == 200);
  CHECK(js.header("Content-Encoding").empty());
  CHECK(js.body.find("Chart.js v3") != std::string::npos);
  // HEAD: the headers alone; a cached static file: 304.
  const Response head = http(server().port(), "/static/style.css", {}, "HEAD");
  CHECK(head.status == 200);
  CHECK(head.body.empty());
  const std::string etag = get("/static/style.css").header("ETag");
  REQUIRE(!etag.empty());
  CHECK(get("/static/style.css", {"If-None-Match: " + etag}).status == 304);
}

TEST_CASE("serve: the API describes the run and its metrics without a torn row") {
  const std::string id = servetest::shared_run().id;
  const auto runs = nlohmann::json::parse(get("/api/runs").body);
  REQUIRE(runs["runs"].size() == 1);
  CHECK(runs["runs"][0]["id"] == id);
  CHECK(runs["runs"][0]["rows"] == 40);
  CHECK(runs["runs"][0]["last"]["step"] == 40);

  const auto s = nlohmann::json::parse(get("/api/runs/" + id).body);
  CHECK(s["config"]["genres"] == nlohmann::json({"red", "blue"}));
  REQUIRE(s["checkpoints"].size() == 2);
  CHECK(s["checkpoints"][0]["step"] == 20);
  CHECK(s["checkpoints"][1]["step"] == 40);
  CHECK(s["samples"].size() == 2);
  CHECK(s["extras"]["report"].is_null());  // the page then says "not available"
  CHECK(s["extras"]["profile"].is_null());

  const auto m = nlohmann::json::parse(get("/api/runs/" + id + "/metrics?from=10&stride=4&columns=step,d_loss").body);
  CHECK(m["total"] == 40);
  CHECK(m["columns"].size() == 2);
  // Rows 12, 16, ... 36 (0-based), i.e. steps 13, 17, ... 37.
  REQUIRE(m["columns"]["step"].size() == 7);
  CHECK(m["columns"]["step"][0] == 13);
  CHECK(m["columns"]["step"][6] == 37);
  CHECK(m["columns"]["d_loss"].size() == 7);
}

TEST_CASE("serve: covers come from the engine and hold together") {
  const std::string base = "/api/runs/" + servetest::shared_run().id;
  const Response a = get(base + "/cover.png?genre=red&codes=0.5,-0.5&seed=7");
  REQUIRE(a.status == 200);
  CHECK(a.header("X-Covergan-Step") == "40");  // the newest checkpoint by default
  CHECK(a.header("Server-Timing").find("forward;dur=") != std::string::npos);
  const servetest::Picture pa = servetest::decode(a.body);
  CHECK(pa.width == 16);
  CHECK(pa.height == 16);
  // The same request again: the same cover, bit for bit. Another code: another cover.
  CHECK(get(base + "/cover.png?genre=0&codes=0.5,-0.5&seed=7").body == a.body);
  const servetest::Picture pb = servetest::decode(get(base + "/cover.png?genre=red&codes=-1,-0.5&seed=7").body);
  REQUIRE(pb.rgb.size() == pa.rgb.size());
  CHECK(pb.rgb != pa.rgb);
  CHECK(servetest::decode(get(base + "/cover.png?step=20&genre=red&codes=0.5,-0.5&seed=7").body).rgb != pa.rgb);

  // Eval-mode BatchNorm: the sweep's tiles are the single covers of each genre.
  const servetest::Picture sweep = servetest::decode(get(base + "/sweep.png?codes=0.5,-0.5&seed=7").body);
  REQUIRE(sweep.width == 2 * 16 + 2);
  REQUIRE(sweep.height == 16);
  for (int g = 0; g < 2; ++g) {
    const servetest::Picture one =
        servetest::decode(get(base + "/cover.png?genre=" + std::to_string(g) + "&codes=0.5,-0.5&seed=7").body);
    int worst = 0;
    for (int y = 0; y < 16; ++y)
      for (int x = 0; x < 16 * 3; ++x)
        worst = std::max(worst, std::abs(int(one.rgb[size_t(y * 48 + x)]) -
                                         int(sweep.rgb[size_t(y * sweep.width * 3 + g * 18 * 3 + x)])));
    CHECK(worst <= 1);  // a GEMM of another batch size may round the last bit differently
  }

  const Response strip = get(base + "/strip.png?genre=blue&steps=5&along=code1&seed=3&scale=2");
  const servetest::Picture ps = servetest::decode(strip.body);
  CHECK(ps.width == 2 * (5 * 16 + 4 * 2));
  CHECK(ps.height == 32);
  const Response dl = get(base + "/cover.png?scale=4&download=1&seed=9");
  CHECK(dl.header("Content-Disposition").find("attachment; filename=\"run-step40-cover-seed9.png\"") == 0);
  CHECK(servetest::decode(dl.body).width == 64);
}

TEST_CASE("serve: nothing outside the run folder is served") {
  const auto& run = servetest::shared_run();
  const fs::path outside = fs::path(run.root).parent_path();
  const std::string secret = "TOP-SECRET-" + std::to_string(::getpid());
  std::ofstream(outside / "secret.txt") << secret;
  std::ofstream(fs::path(run.root) / ".hidden.txt") << secret;
  std::error_code ec;
  fs::create_symlink(outside / "secret.txt", fs::path(run.root) / "link_out.txt", ec);
  fs::create_symlink(outside, fs::path(run.root) / "dir_out", ec);
  fs::create_symlink(fs::path(run.root) / "config.json", fs::path(run.root) / "link_in.json", ec);
  const std::string f = "/files/" + run.id + "/";
  for (const std::string& t : std::vector<std::string>{f + "../secret.txt", f + "../../../../../etc/passwd", f + "%2e%2e/secret.txt",
                               f + "%2E%2E%2Fsecret.txt", f + "..%2fsecret.txt", f + "%252e%252e/secret.txt",
                               f + "/etc/passwd", f + "%2Fetc%2Fpasswd", f + "samples/..%5c..%5csecret.txt",
                               f + "samples/../../secret.txt", f + "./config.json", f + ".hidden.txt",
                               f + "secret.txt%00.png", f + "link_out.txt", f + "dir_out/secret.txt",
                               "/files/%2e%2e/secret.txt", "/files/" + run.id + "%2f..%2fsecret.txt",
                               "/static/..%2f..%2fsecret.txt", std::string("/static/%2e%2e")}) {
    const Response r = get(t);
    INFO(t << " -> " << r.status << ": " << r.body);
    CHECK((r.status == 400 || r.status == 403 || r.status == 404));
    CHECK(r.body.find(secret) == std::string::npos);
    CHECK(r.body.find("root:") == std::string::npos);
  }
  CHECK(get(f + "link_out.txt").status == 403);   // refused for where it leads
  CHECK(get(f + "dir_out/secret.txt").status == 403);
  CHECK(get(f + "link_in.json").status == 200);   // a symlink that stays inside is fine
  fs::remove(fs::path(run.root) / "link_out.txt");
  fs::remove(fs::path(run.root) / "dir_out");
  fs::remove(fs::path(run.root) / "link_in.json");
  fs::remove(fs::path(run.root) / ".hidden.txt");
}

TEST_CASE("serve: bad parameters are answered with 400 and one sentence") {
  const std::string c = "/api/runs/" + servetest::shared_run().id + "/";
  check_sentence(c + "cover.png?seed=abc", 400, "seed");
  check_sentence(c + "cover.png?seed=-1", 400, "seed");
  check_sentence(c + "cover.png?seed=1e99", 400, "seed");
  check_sentence(c + "cover.png?codes=2,0", 400, "codes");
  check_sentence(c + "cover.png?codes=a,b", 400, "codes");
  check_sentence(c + "cover.png?codes=0.5", 400, "2 latent codes");
  check_sentence(c + "cover.png?genre=jazz", 400, "red, blue");
  check_sentence(c + "cover.png?genre=7", 400, "out of range");
  check_sentence(c + "cover.png?scale=0", 400, "scale");
  check_sentence(c + "cover.png?scale=100", 400, "scale");
  check_sentence(c + "cover.png?step=abc", 400, "step");
  check_sentence(c + "cover.png?download=2", 400, "download");
  check_sentence(c + "cover.png?colour=red", 400, "Unknown parameter");
  check_sentence(c + "cover.png?seed=1&seed=2", 400, "twice");
  check_sentence(c + "strip.png?along=sideways", 400, "along");
  check_sentence(c + "strip.png?steps=1", 400, "steps");
  check_sentence(c + "strip.png?steps=1000", 400, "steps");
  check_sentence(c + "strip.png?to=-5", 400, "to");
  check_sentence(c + "metrics?from=-1", 400, "from");
  check_sentence(c + "metrics?stride=0", 400, "stride");
  check_sentence(c + "metrics?columns=d_loss,bad!name", 400, "columns");
  check_sentence("/compare", 400, "runs");
  check_sentence("/compare?runs=..%2fx", 400, "runs");
  check_sentence(c + "cover.png?step=12345", 404, "20, 40");
  // Every answer is small: a bad request never makes the server echo a long input.
  CHECK(get(c + "cover.png?genre=" + std::string(5000, 'x')).body.size() < 300);
}

TEST_CASE("serve: only GET and HEAD are answered") {
  for (const char* m : {"POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
    const Response r = http(server().port(), "/api/runs", {"Content-Length: 0"}, m);
    INFO(m << " -> " << r.status << ": " << r.body);
    CHECK(r.status == 405);
    CHECK(r.header("Allow") == "GET, HEAD");
    CHECK(r.body.find("read-only") != std::string::npos);
  }
  // No route takes a body, and a request's line and headers are bounded.
  CHECK(http(server().port(), "/api/runs", {"Content-Length: 100000000"}, "GET").status == 413);
  CHECK(http(server().port(), "/api/runs", {"Transfer-Encoding: chunked"}, "GET").status == 413);
  const Response long_line = get("/api/runs?x=" + std::string(20000, 'a'));
  CHECK((long_line.status == 414 || long_line.status == 400 || long_line.status == 0));
  const Response long_header = get("/api/runs", {"X-Big: " + std::string(20000, 'a')});
  CHECK((long_header.status == 400 || long_header.status == 431 || long_header.status == 0));
}

TEST_CASE("serve: on loopback only requests for localhost are answered") {
  CHECK(get("/api/runs", {"Host: localhost:" + std::to_string(server().port())}).status == 200);
  CHECK(get("/api/runs", {"Host: [::1]:1"}).status == 200);
  const Response r = get("/api/runs", {"Host: evil.example:80"});
  CHECK(r.status == 403);
  CHECK(r.body.find("localhost") != std::string::npos);
}

TEST_CASE("serve: bound off loopback every request needs the printed token") {
  cgtest::TempDir logs("serve_token");
  servetest::ServeProcess s({servetest::shared_run().root, "--bind", "0.0.0.0"}, logs / "serve.log");
  const size_t at = s.url().find("?token=");
  REQUIRE(at != std::string::npos);
  const std::string token = s.url().substr(at + 7);
  CHECK(token.size() == 32);
  CHECK(s.proc().log().find("needs the token") != std::string::npos);
  const Response none = http(s.port(), "/api/runs");
  CHECK(none.status == 401);
  CHECK(none.body.find("token") != std::string::npos);
  CHECK(http(s.port(), "/files/run/config.json").status == 401);
  CHECK(http(s.port(), "/api/runs?token=" + std::string(32, '0')).status == 401);
  CHECK(http(s.port(), "/api/runs", {"Cookie: covergan_token=" + token.substr(1) + "x"}).status == 401);
  const Response by_query = http(s.port(), "/?token=" + token);
  CHECK(by_query.status == 200);
  CHECK(by_query.header("Set-Cookie").find("covergan_token=" + token) == 0);
  CHECK(by_query.header("Set-Cookie").find("HttpOnly") != std::string::npos);
  CHECK(http(s.port(), "/api/runs", {"Cookie: a=b; covergan_token=" + token}).status == 200);
  CHECK(http(s.port(), "/api/runs", {"Authorization: Bearer " + token}).status == 200);
  s.proc().signal(SIGINT);
  CHECK(s.proc().wait(30) == 0);
}

TEST_CASE("serve: a missing run folder or a busy port is one sentence and a non-zero exit") {
  cgtest::TempDir dir("serve_bad");
  servetest::Process missing({servetest::covergan_bin(), "serve", dir / "nope"}, dir / "a.log");
  CHECK(missing.wait(30) == 1);
  CHECK(missing.log().find("covergan: The run folder") != std::string::npos);
  CHECK(missing.log().find("does not exist") != std::string::npos);
  servetest::Process busy({servetest::covergan_bin(), "serve", servetest::shared_run().root, "--port",
                           std::to_string(server().port())},
                          dir / "b.log");
  CHECK(busy.wait(30) == 1);
  CHECK(busy.log().find("is in use") != std::string::npos);
}
