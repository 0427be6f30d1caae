// The playground's addresses: one cover, a genre sweep and an interpolation strip
// as PNG, made by the engine on request (serve/playground.h). Parameters are read
// strictly: a bad one is a 400 with a sentence before any work is queued.
#include <cstdio>

#include "serve/params.h"
#include "serve/routes.h"

namespace cg::serve {
namespace {

// Seeds travel through JavaScript numbers: keep them exact there.
constexpr int64_t kMaxSeed = (int64_t(1) << 53) - 1;

// The checkpoint the request names by its step (default: the newest), as an absolute path.
std::string checkpoint_for(const Run& run, const Params& p, int64_t& step) {
  const bool given = p.has("step");
  step = p.integer("step", -1, 0, int64_t(1) << 50);
  const auto cks = run_checkpoints(run);
  if (cks.empty())
    throw HttpError(404, "The run " + run.id + " has no checkpoint yet; covers come from checkpoints, which the "
                         "training writes every --checkpoint-every iterations.");
  if (!given) {
    step = cks.back().first;
    return run.real + "/" + cks.back().second;
  }
  for (const auto& [s, rel] : cks)
    if (s == step) return run.real + "/" + rel;
  std::string have;
  for (const auto& [s, rel] : cks) have += (have.empty() ? "" : ", ") + std::to_string(s);
  throw HttpError(404, "The run " + run.id + " has no checkpoint at step " + std::to_string(step) +
                           "; it has steps " + have + ".");
}

// The settings every kind shares: codes, seed, scale (the checkpoint comes last, in
// send_covers, so a malformed request is a 400 even where the run has no checkpoint).
CoverJob common_job(const Params& p, CoverJob::Kind kind) {
  CoverJob job;
  job.kind = kind;
  job.codes = p.numbers("codes", -1.0, 1.0, 16);
  job.seed = uint64_t(p.integer("seed", 0, 0, kMaxSeed));
  job.scale = int(p.integer("scale", 1, 1, 8));
  return job;
}

void send_covers(const Run& run, const Params& p, RouteContext& ctx, CoverJob job, const char* what,
                 httplib::Response& res) {
  const bool download = p.integer("download", 0, 0, 1) == 1;
  int64_t step = 0;
  job.checkpoint = checkpoint_for(run, p, step);
  const CoverResult r = ctx.playground.make(job);
  res.set_header("Cache-Control", "no-store");
  res.set_header("X-Covergan-Step", std::to_string(r.step));
  char timing[96];
  std::snprintf(timing, sizeof timing, "forward;dur=%.2f, total;dur=%.2f", r.forward_ms, r.total_ms);
  res.set_header("Server-Timing", timing);
  if (download) {
    char name[160];
    std::snprintf(name, sizeof name, "attachment; filename=\"%s-step%lld-%s-seed%llu.png\"", run.id.c_str(),
                  static_cast<long long>(r.step), what, static_cast<unsigned long long>(job.seed));
    res.set_header("Content-Disposition", name);
  }
  res.set_content(r.png, "image/png");
}

}  // namespace

void add_cover_routes(httplib::Server& s, RouteContext& ctx) {
  // GET /api/runs/ID/cover.png?step=&genre=&codes=a,b&seed=&scale=&download=
  s.Get(R"(/api/runs/([^/]+)/cover\.png)", answer_errors([&ctx](const httplib::Request& req, httplib::Response& res) {
    const Run& run = run_of(ctx, req);
    const Params p(req.params, {"step", "genre", "codes", "seed", "scale", "download"});
    CoverJob job = common_job(p, CoverJob::Kind::cover);
    job.genre = p.text("genre", "0", 64);
    send_covers(run, p, ctx, job, "cover", res);
  }));
  // GET /api/runs/ID/sweep.png?step=&codes=&seed=&scale=&download=: the cover in every genre.
  s.Get(R"(/api/runs/([^/]+)/sweep\.png)", answer_errors([&ctx](const httplib::Request& req, httplib::Response& res) {
    const Run& run = run_of(ctx, req);
    const Params p(req.params, {"step", "codes", "seed", "scale", "download"});
    const CoverJob job = common_job(p, CoverJob::Kind::sweep);
    send_covers(run, p, ctx, job, "sweep", res);
  }));
  // GET /api/runs/ID/strip.png?...&along=noise|code1|code2&to=SEED&steps=N
  s.Get(R"(/api/runs/([^/]+)/strip\.png)", answer_errors([&ctx](const httplib::Request& req, httplib::Response& res) {
    const Run& run = run_of(ctx, req);
    const Params p(req.params, {"step", "genre", "codes", "seed", "scale", "download", "along", "to", "steps"});
    CoverJob job = common_job(p, CoverJob::Kind::strip);
    job.genre = p.text("genre", "0", 64);
    job.along = p.text("along", "noise", 8);
    if (job.along != "noise" && job.along != "code1" && job.along != "code2")
      throw HttpError(400, "The parameter along must be noise, code1 or code2.");
    job.seed_to = uint64_t(p.integer("to", int64_t(job.seed) + 1, 0, kMaxSeed));
    job.steps = int(p.integer("steps", 8, 2, 16));
    send_covers(run, p, ctx, job, "strip", res);
  }));
}

}  // namespace cg::serve
