// The playground's worker thread and its model cache (see playground.h).
#include "serve/playground.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <future>

#include "base/check.h"
#include "engine/philox.h"
#include "gan/checkpoint.h"
#include "gan/sampler.h"
#include "serve/params.h"
#include "serve/png.h"

namespace cg::serve {
namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// A file's identity for the cache: a checkpoint rewritten under the same name is reloaded.
std::string file_key(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "";
  return path + "|" + std::to_string(st.st_ino) + "|" + std::to_string(st.st_size) + "|" +
         std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
}

int32_t genre_index(const std::vector<std::string>& genres, const std::string& text) {
  int64_t i = -1;
  if (parse_int64(text, i)) {
    if (i >= 0 && i < int64_t(genres.size())) return int32_t(i);
    throw HttpError(400, "The genre index " + text + " is out of range; this checkpoint has " +
                             std::to_string(genres.size()) + " genres (0 to " + std::to_string(genres.size() - 1) +
                             ").");
  }
  auto lower = [](std::string s) {
    for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  for (size_t k = 0; k < genres.size(); ++k)
    if (lower(genres[k]) == lower(text)) return int32_t(k);
  std::string known;
  for (const auto& g : genres) known += (known.empty() ? "" : ", ") + g;
  throw HttpError(400, "Unknown genre \"" + text.substr(0, 40) + "\"; this checkpoint knows " + known + ".");
}

// Overwrites every image's codes with the job's values (zeros when none were given).
void apply_codes(gan::Latents& l, const gan::ModelConfig& m, const std::vector<double>& codes) {
  if (codes.empty()) {
    gan::set_codes(l, std::vector<double>(size_t(m.n_codes), 0.0));
    return;
  }
  if (int(codes.size()) != m.n_codes)
    throw HttpError(400, "This model has " + std::to_string(m.n_codes) + " latent codes but codes gives " +
                             std::to_string(codes.size()) + " values.");
  gan::set_codes(l, codes);
}

// The latent layout of a job: one cover, a sweep (one per genre) or a strip.
gan::Latents latents_for(const CoverJob& job, const gan::ModelConfig& m, const std::vector<std::string>& genres) {
  Philox rng(job.seed);
  const int K = m.num_genres;
  if (job.kind == CoverJob::Kind::sweep) {
    if (K > 64) throw HttpError(400, "This model has " + std::to_string(K) + " genres; a sweep shows at most 64.");
    gan::Latents l = gan::genre_sweep(m, 1, rng);
    apply_codes(l, m, job.codes);
    return l;
  }
  const int32_t g = genre_index(genres, job.genre);
  gan::Latents base = gan::draw_latents_for(m, {g}, rng);
  apply_codes(base, m, job.codes);
  if (job.kind == CoverJob::Kind::cover) return base;
  const int n = job.steps;
  gan::Latents l = gan::draw_latents_for(m, std::vector<int32_t>(size_t(n), g), rng);  // shapes; overwritten below
  const int64_t zn = m.noise_dim(), C = m.n_codes;
  Philox rng_to(job.seed_to);
  const gan::Latents to = gan::draw_latents_for(m, {g}, rng_to);
  const int code = job.along == "code1" ? 0 : job.along == "code2" ? 1 : -1;
  if (code >= C) throw HttpError(400, "This model has " + std::to_string(C) + " latent codes, so no strip along " + job.along + ".");
  for (int i = 0; i < n; ++i) {
    const float t = float(i) / float(n - 1);
    for (int64_t k = 0; k < zn; ++k) {
      const float a = base.noise.data<float>()[k], b = to.noise.data<float>()[k];
      l.noise.data<float>()[i * zn + k] = code < 0 ? (1 - t) * a + t * b : a;
    }
    for (int64_t k = 0; k < C; ++k)
      l.codes.data<float>()[i * C + k] = k == code ? -1.0f + 2.0f * t : base.codes.data<float>()[k];
  }
  return l;
}

}  // namespace

struct Playground::Model {
  std::string key;
  int64_t step = 0;
  gan::TrainConfig cfg;
  std::unique_ptr<gan::Generator> G;
};

struct Playground::Task {
  std::function<void()> fn;
};

Playground::Playground(Device device, size_t max_pending, size_t max_models)
    : device_(device), max_pending_(max_pending), max_models_(std::max<size_t>(1, max_models)) {
  worker_ = std::thread([this] { loop(); });
}

Playground::~Playground() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

size_t Playground::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size() + running_;
}

void Playground::loop() {
  for (;;) {
    std::shared_ptr<Task> t;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left to answer
      t = queue_.front();
      queue_.pop_front();
      ++running_;
    }
    t->fn();  // never throws: each task hands its exception to its promise
    std::lock_guard<std::mutex> lock(mu_);
    --running_;
  }
}

void Playground::submit(std::shared_ptr<Task> t) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) throw HttpError(503, "The server is stopping.");
    if (queue_.size() + running_ >= max_pending_)
      throw HttpError(503, "The generator is busy with " + std::to_string(queue_.size() + running_) +
                               " requests; try again in a moment.");
    queue_.push_back(std::move(t));
  }
  cv_.notify_one();
}

void Playground::run_on_worker(std::function<void()> fn) {
  auto done = std::make_shared<std::promise<void>>();
  auto fut = done->get_future();
  submit(std::make_shared<Task>(Task{[fn = std::move(fn), done] {
    try {
      fn();
      done->set_value();
    } catch (...) {
      done->set_exception(std::current_exception());
    }
  }}));
  fut.get();
}

CoverResult Playground::make(const CoverJob& job) {
  auto result = std::make_shared<std::promise<CoverResult>>();
  auto fut = result->get_future();
  submit(std::make_shared<Task>(Task{[this, job, result] {
    try {
      result->set_value(run_job(job));
    } catch (...) {
      result->set_exception(std::current_exception());
    }
  }}));
  return fut.get();
}

Playground::Model& Playground::model_for(const std::string& path, bool& loaded) {
  const std::string key = file_key(path);
  if (key.empty()) throw HttpError(404, "The checkpoint is gone (rotated away by the training); reload the page.");
  for (auto it = models_.begin(); it != models_.end(); ++it)
    if ((*it)->key == key) {
      models_.splice(models_.begin(), models_, it);  // most recently used first
      loaded = false;
      return *models_.front();
    }
  auto m = std::make_unique<Model>();
  try {
    const gan::Checkpoint ck = gan::Checkpoint::load(path);
    m->cfg = ck.config();
    m->step = ck.state().step;
    m->G = std::make_unique<gan::Generator>(m->cfg.model, device_);
    ck.restore(*m->G);
  } catch (const Error& e) {
    throw HttpError(500, e.what());
  }
  m->key = key;
  loaded = true;
  models_.push_front(std::move(m));
  while (models_.size() > max_models_) models_.pop_back();
  return *models_.front();
}

CoverResult Playground::run_job(const CoverJob& job) {
  const auto t0 = Clock::now();
  CoverResult r;
  Model& m = model_for(job.checkpoint, r.loaded);
  const gan::Latents l = latents_for(job, m.cfg.model, m.cfg.genres);
  const auto t1 = Clock::now();
  const Tensor images = gan::generate(*m.G, l, gan::BnMode::eval);
  r.forward_ms = ms_since(t1);
  r.png = covers_png(images, job.scale);
  r.step = m.step;
  r.total_ms = ms_since(t0);
  return r;
}

}  // namespace cg::serve
