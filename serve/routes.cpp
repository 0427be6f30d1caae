// Pages, static files, the JSON API and the run folders' files (see routes.h).
#include "serve/routes.h"

#include <cstdio>
#include <functional>

#include "base/check.h"
#include "serve/assets.h"
#include "serve/files.h"
#include "serve/params.h"

namespace cg::serve {
namespace {

// The most a file from a run folder may weigh: metrics.csv of a very long run fits.
constexpr size_t kMaxFileBytes = size_t(64) << 20;

// What the run folders' own HTML and SVG (the eval report, a tape graph) may do: show
// their pictures and styles, run no script, send nothing anywhere.
constexpr const char* kRunFilePolicy =
    "default-src 'none'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; font-src 'self'; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'";

std::string etag_of(std::string_view bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "\"%016zx\"", std::hash<std::string_view>{}(bytes));
  return buf;
}

// Answers 304 when the client holds this version already; true when it did.
bool not_modified(const httplib::Request& req, httplib::Response& res, const std::string& etag) {
  res.set_header("ETag", etag);
  res.set_header("Cache-Control", "no-cache");
  if (req.get_header_value("If-None-Match") != etag) return false;
  res.status = 304;
  return true;
}

const char* type_of_asset(std::string_view name) {
  auto ends = [&](std::string_view s) { return name.size() >= s.size() && name.substr(name.size() - s.size()) == s; };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  return "application/octet-stream";
}

void send_asset(const httplib::Request& req, httplib::Response& res, const std::string& name) {
  const EmbeddedFile* f = find_embedded(name);
  if (!f) throw HttpError(404, "There is no page file named " + name + ".");
  if (not_modified(req, res, etag_of(f->bytes))) return;
  res.set_content(f->bytes.data(), f->bytes.size(), type_of_asset(f->name));
}

void serve_run_file(const RouteContext& ctx, const httplib::Request& req, httplib::Response& res) {
  Run& run = run_of(ctx, req);
  const std::string rel = req.matches[2];
  check_relative_path(rel);
  const std::string type = content_type_for(rel);
  if (type.empty())
    throw HttpError(404, "Files like " + rel +
                             " are not served; only pictures, reports, CSV, JSON and text files of a run are.");
  FileBytes f = read_run_file(run.real, rel, kMaxFileBytes);
  char etag[64];
  std::snprintf(etag, sizeof etag, "\"%lld-%zu\"", static_cast<long long>(f.mtime_ns), f.bytes.size());
  if (not_modified(req, res, etag)) return;
  if (type.rfind("text/html", 0) == 0 || type == "image/svg+xml") {
    res.headers.erase("Content-Security-Policy");  // in place of the pages' own policy, not beside it
    res.set_header("Content-Security-Policy", kRunFilePolicy);
  }
  res.set_content(std::move(f.bytes), type.c_str());
}

// GET /api/runs/ID/metrics?from=0&stride=1&columns=a,b
void serve_metrics(const RouteContext& ctx, const httplib::Request& req, httplib::Response& res) {
  Run& run = run_of(ctx, req);
  const Params p(req.params, {"from", "stride", "columns"});
  const int64_t from = p.integer("from", 0, 0, int64_t(1) << 40);
  const int64_t stride = p.integer("stride", 1, 1, 1 << 20);
  const auto columns = p.names("columns", 64);
  res.set_header("Cache-Control", "no-store");
  res.set_content(run.metrics.slice(from, stride, columns), "application/json");
}

}  // namespace

void send_sentence(httplib::Response& res, int status, const std::string& sentence) {
  res.status = status;
  res.set_content(sentence + "\n", "text/plain; charset=utf-8");
}

void send_json(httplib::Response& res, const nlohmann::json& j) {
  res.set_header("Cache-Control", "no-store");
  // Replace: a label or path in the JSON must never make the dump throw.
  res.set_content(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json");
}

httplib::Server::Handler answer_errors(std::function<void(const httplib::Request&, httplib::Response&)> fn) {
  return [fn = std::move(fn)](const httplib::Request& req, httplib::Response& res) {
    try {
      fn(req, res);
    } catch (const HttpError& e) {
      send_sentence(res, e.status, e.what());
    } catch (const Error& e) {
      send_sentence(res, 500, e.what());
    } catch (const std::bad_alloc&) {
      send_sentence(res, 503, "The server ran out of memory for this request.");
    } catch (const std::exception& e) {
      send_sentence(res, 500, std::string("Internal error: ") + e.what());
    }
  };
}

Run& run_of(const RouteContext& ctx, const httplib::Request& req) {
  const std::string id = req.matches[1];
  Run* r = ctx.runs.find(id);
  if (!r) {
    std::string known;
    for (const auto& x : ctx.runs.all()) known += (known.empty() ? "" : ", ") + x->id;
    throw HttpError(404, "No run named \"" + id.substr(0, 60) + "\" here; this server shows " + known + ".");
  }
  return *r;
}

void add_page_routes(httplib::Server& s, RouteContext& ctx) {
  s.Get("/", answer_errors([](const httplib::Request& req, httplib::Response& res) {
    Params(req.params, {});
    send_asset(req, res, "index.html");
  }));
  s.Get("/index.html", [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/"); });
  s.Get(R"(/run/([^/]+))", answer_errors([&ctx](const httplib::Request& req, httplib::Response& res) {
    run_of(ctx, req);
    Params(req.params, {});
    send_asset(req, res, "run.html");
  }));
  s.Get("/compare", answer_errors([&ctx](const httplib::Request& req, httplib::Response& res) {
    const Params p(req.params, {"runs"});
    const auto ids = p.names("runs", 16);
    if (ids.empty()) throw HttpError(400, "Name the runs to compare: /compare?runs=ID1,ID2.");
    for (const auto& id : ids)
      if (!ctx.runs.find(id)) throw HttpError(404, "No run named \"" + id + "\" here.");
    send_asset(req, res, "compare.html");
  }));
  s.Get(R"(/static/([^/]+))", answer_errors([](const httplib::Request& req, httplib::Response& res) {
    Params(req.params, {});
    send_asset(req, res, req.matches[1]);
  }));
  s.Get("/favicon.ico", answer_errors([](const httplib::Request& req, httplib::Response& res) {
    send_asset(req, res, "favicon.svg");
  }));
  s.Get(R"(/files/([^/]+)/(.+))", answer_errors([&ctx](const httplib::Request& req, httplib::Response& res) {
    Params(req.params, {});
    serve_run_file(ctx, req, res);
  }));
}

void add_api_routes(httplib::Server& s, RouteContext& ctx) {
  s.Get("/api/runs", answer_errors([&ctx](const httplib::Request& req, httplib::Response& res) {
    Params(req.params, {});
    nlohmann::json list = nlohmann::json::array();
    for (const auto& r : ctx.runs.all()) list.push_back(run_brief(*r));
    send_json(res, {{"runs", list}});
  }));
  s.Get(R"(/api/runs/([^/]+))", answer_errors([&ctx](const httplib::Request& req, httplib::Response& res) {
    Params(req.params, {});
    send_json(res, run_summary(run_of(ctx, req)));
  }));
  s.Get(R"(/api/runs/([^/]+)/metrics)", answer_errors([&ctx](const httplib::Request& req, httplib::Response& res) {
    serve_metrics(ctx, req, res);
  }));
}

}  // namespace cg::serve
