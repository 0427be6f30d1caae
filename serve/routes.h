// The server's routes, kept apart from its setup (server.cpp): the pages and
// static files, the JSON API over the runs, the run folders' files, and the
// playground's covers. Each handler answers errors as one sentence (HttpError).
#pragma once
#include <httplib.h>

#include <functional>
#include <string>

#include "serve/playground.h"
#include "serve/runs.h"

namespace cg::serve {

struct RouteContext {
  RunSet& runs;
  Playground& playground;
};

// Wraps a handler so an HttpError, cg::Error or other exception becomes its status
// (500 for the latter two) with the sentence as a text/plain body.
httplib::Server::Handler answer_errors(std::function<void(const httplib::Request&, httplib::Response&)> fn);
// Sets a one-sentence text/plain body with the status.
void send_sentence(httplib::Response& res, int status, const std::string& sentence);
// Sets a JSON body that is never cached.
void send_json(httplib::Response& res, const nlohmann::json& j);

// The run named in the request's first capture, or HttpError 404.
Run& run_of(const RouteContext& ctx, const httplib::Request& req);

void add_page_routes(httplib::Server& s, RouteContext& ctx);   // routes.cpp
void add_api_routes(httplib::Server& s, RouteContext& ctx);    // routes.cpp
void add_cover_routes(httplib::Server& s, RouteContext& ctx);  // routes_covers.cpp

}  // namespace cg::serve
