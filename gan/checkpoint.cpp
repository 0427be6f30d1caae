// Checkpoint save/load and validation (see checkpoint.h).
#include "gan/checkpoint.h"

#include <set>

namespace cg::gan {
namespace {

int64_t meta_int(const std::map<std::string, std::string>& m, const std::string& path, const char* key) {
  auto it = m.find(key);
  CG_USER_CHECK(it != m.end(), "The checkpoint ", path, " lacks the metadata entry \"", key, "\".");
  try {
    size_t used = 0;
    const long long v = std::stoll(it->second, &used);
    if (used == it->second.size()) return v;
  } catch (const std::exception&) {
  }
  throw Error(detail::cat("The checkpoint ", path, " has a malformed metadata entry \"", key, "\" (", it->second,
                          ")."));
}

uint64_t meta_u64(const std::map<std::string, std::string>& m, const std::string& path, const char* key) {
  auto it = m.find(key);
  CG_USER_CHECK(it != m.end(), "The checkpoint ", path, " lacks the metadata entry \"", key, "\".");
  try {
    size_t used = 0;
    const unsigned long long v = std::stoull(it->second, &used);
    if (used == it->second.size() && it->second[0] != '-') return v;
  } catch (const std::exception&) {
  }
  throw Error(detail::cat("The checkpoint ", path, " has a malformed metadata entry \"", key, "\" (", it->second,
                          ")."));
}

// Throws one sentence when a floating-point tensor holds NaN or infinity (what: "The checkpoint X holds").
void check_finite(const std::string& what, const std::string& name, const Tensor& t, const std::string& advice) {
  int64_t first = 0;
  const int64_t bad = count_nonfinite(t, &first);
  CG_USER_CHECK(bad == 0, what, " ", bad, " non-finite value", bad == 1 ? "" : "s", " (NaN or infinity) in ", name,
                " (the first at element ", first, "); ", advice);
}

// PyTorch's BatchNorm counter: an I64 scalar that covergan has no use for.
bool ignorable(const std::string& name) {
  const std::string suf = ".num_batches_tracked";
  return name.size() > suf.size() && name.compare(name.size() - suf.size(), suf.size(), suf) == 0;
}

std::string join(const std::vector<std::string>& xs) {
  std::string s;
  for (const auto& x : xs) s += (s.empty() ? "" : ", ") + x;
  return s;
}

}  // namespace

void save_checkpoint(const std::string& path, const TrainConfig& cfg, Generator& G, Discriminator* D,
                     Adam* opt_g, Adam* opt_d, const TrainState& st, Generator* G_ema) {
  std::vector<std::pair<std::string, Tensor>> ts;
  auto add_store = [&](ParamStore& ps) {
    for (const Tensor& p : ps.params()) ts.emplace_back(p.name(), p);
    for (const Tensor& b : ps.buffers()) ts.emplace_back(b.name(), b);
  };
  add_store(G.params());
  if (D) add_store(D->params());
  if (G_ema) {  // "G.fc.weight" -> "G_ema.fc.weight"
    for (const Tensor& p : G_ema->params().params()) ts.emplace_back("G_ema." + p.name().substr(2), p);
    for (const Tensor& b : G_ema->params().buffers()) ts.emplace_back("G_ema." + b.name().substr(2), b);
  }
  if (opt_g && opt_d) {
    // Moments over the flat buffers (each parameter padded to ParamStore::kAlign elements,
    // in declaration order, the padding zero): restored only into the same model.
    Adam &g = *opt_g, &d = *opt_d;
    ts.emplace_back("optim.G.m", g.m());
    ts.emplace_back("optim.G.v", g.v());
    ts.emplace_back("optim.D.m", d.m());
    ts.emplace_back("optim.D.v", d.v());
  }
  std::map<std::string, std::string> meta{
      {"format", kCheckpointFormat},
      {"format_version", std::to_string(kCheckpointVersion)},
      {"config", to_json(cfg).dump()},
      {"genres", nlohmann::json(cfg.genres).dump()},
      {"step", std::to_string(st.step)},
      {"phase", st.phase},
      {"epoch", std::to_string(st.epoch)},
      {"batch_in_epoch", std::to_string(st.batch_in_epoch)},
      {"rng_seed", std::to_string(st.rng_seed)},
      {"rng_offset", std::to_string(st.rng_offset)},
      {"adam_G_steps", std::to_string(st.adam_g_steps)},
      {"adam_D_steps", std::to_string(st.adam_d_steps)},
      {"param_align", std::to_string(ParamStore::kAlign)},
  };
  for (const auto& [name, t] : ts)
    check_finite("Refusing to write the checkpoint " + path + ": training produced", name, t,
                 "the previous checkpoints are kept. Lower the learning rates or check the data.");
  save_safetensors(path, ts, meta);
}

Checkpoint Checkpoint::load(const std::string& path) { return from_safetensors(path, load_safetensors(path)); }

Checkpoint Checkpoint::from_safetensors(const std::string& path, SafeTensors file) {
  Checkpoint c;
  c.path_ = path;
  c.st_file_ = std::move(file);
  std::string unsupported;
  for (const auto& [name, what] : c.st_file_.unsupported)
    if (!ignorable(name)) unsupported += (unsupported.empty() ? "" : ", ") + name + " (" + what + ")";
  CG_USER_CHECK(unsupported.empty(), "The checkpoint ", path, " holds tensors in dtypes covergan does not read: ",
                unsupported, "; convert them to F32.");
  const auto& m = c.st_file_.metadata;
  auto fmt = m.find("format");
  CG_USER_CHECK(fmt != m.end() && fmt->second == kCheckpointFormat, "The file ", path,
                " is a safetensors file but not a covergan AC-GAN checkpoint (no covergan metadata).");
  const int64_t version = meta_int(m, path, "format_version");
  CG_USER_CHECK(version == kCheckpointVersion, "The checkpoint ", path, " has format version ", version,
                "; this build reads version ", kCheckpointVersion, ".");
  auto cfg_it = m.find("config");
  CG_USER_CHECK(cfg_it != m.end(), "The checkpoint ", path, " lacks its config.");
  try {
    const nlohmann::json cj = nlohmann::json::parse(cfg_it->second);
    c.cfg_ = train_config_from_json(cj);
    apply_legacy_defaults(c.cfg_, cj);
    c.cfg_.model.validate();
  } catch (const nlohmann::json::exception& e) {
    throw Error(detail::cat("The checkpoint ", path, " holds a config that is not valid JSON (", e.what(), ")."));
  } catch (const Error& e) {
    throw Error(detail::cat("The checkpoint ", path, " holds an invalid config: ", e.what()));
  }
  CG_USER_CHECK(int(c.cfg_.genres.size()) == c.cfg_.model.num_genres, "The checkpoint ", path, " names ",
                c.cfg_.genres.size(), " genres for a model of ", c.cfg_.model.num_genres, ".");
  TrainState& st = c.st_;
  st.step = meta_int(m, path, "step");
  st.phase = m.count("phase") ? m.at("phase") : "";
  CG_USER_CHECK(st.phase == "pretrain" || st.phase == "finetune", "The checkpoint ", path, " has an unknown phase \"",
                st.phase, "\".");
  st.epoch = meta_int(m, path, "epoch");
  st.batch_in_epoch = meta_int(m, path, "batch_in_epoch");
  st.rng_seed = meta_u64(m, path, "rng_seed");
  st.rng_offset = meta_u64(m, path, "rng_offset");
  st.adam_g_steps = meta_int(m, path, "adam_G_steps");
  st.adam_d_steps = meta_int(m, path, "adam_D_steps");
  CG_USER_CHECK(st.step >= 0 && st.epoch >= 0 && st.batch_in_epoch >= 0 && st.adam_g_steps >= 0 &&
                    st.adam_d_steps >= 0,
                "The checkpoint ", path, " has a negative training position.");
  CG_USER_CHECK(c.st_file_.tensors.count("G.fc.weight"), "The checkpoint ", path, " holds no generator weights.");
  {  // the model's size must match the stored weights before anyone allocates a model of that config
    const ModelConfig& mc = c.cfg_.model;
    const Tensor& fc = c.st_file_.tensors.at("G.fc.weight");
    CG_USER_CHECK(fc.ndim() == 2 && fc.dim(0) == mc.top_channels() * 16 && fc.dim(1) == mc.z_dim, "The checkpoint ",
                  path, " does not fit its own config: G.fc.weight is ", fc.shape().str(), " but base_channels ",
                  mc.base_channels, " at ", mc.image_size, "x", mc.image_size, " needs (", mc.top_channels() * 16,
                  ",", mc.z_dim, ").");
  }
  for (const auto& [name, t] : c.st_file_.tensors)
    check_finite("The checkpoint " + path + " holds", name, t,
                 "it cannot be used. Resume from or generate with an earlier checkpoint.");
  return c;
}

bool Checkpoint::has_discriminator() const { return st_file_.tensors.count("D.fc_src.weight") > 0; }
bool Checkpoint::has_optimizers() const { return st_file_.tensors.count("optim.G.m") > 0; }
bool Checkpoint::has_ema() const { return st_file_.tensors.count("G_ema.fc.weight") > 0; }

void Checkpoint::check_fits(const ModelConfig& cfg, const std::vector<std::string>& genres) const {
  const ModelConfig& mine = cfg_.model;
  CG_USER_CHECK(cfg_.genres == genres, "The checkpoint ", path_, " was trained on ", cfg_.genres.size(),
                " genres (", join(cfg_.genres), ") but this run has ", genres.size(), " (", join(genres), ").");
  CG_USER_CHECK(mine.image_size == cfg.image_size, "The checkpoint ", path_, " makes ", mine.image_size, "x",
                mine.image_size, " images but this run uses ", cfg.image_size, "x", cfg.image_size, ".");
  CG_USER_CHECK(mine.base_channels == cfg.base_channels && mine.z_dim == cfg.z_dim && mine.n_codes == cfg.n_codes,
                "The checkpoint ", path_, " has a different architecture (base_channels ", mine.base_channels,
                ", z_dim ", mine.z_dim, ", n_codes ", mine.n_codes, ") from this run's (", cfg.base_channels, ", ",
                cfg.z_dim, ", ", cfg.n_codes, ").");
}

void Checkpoint::restore_store(ParamStore& ps, const char* prefix, const char* stored_prefix) const {
  std::set<std::string> expected;
  const std::string pre = stored_prefix ? stored_prefix : prefix;
  auto copy_one = [&](const Tensor& dst) {
    const std::string name = pre + dst.name().substr(std::string(prefix).size());
    expected.insert(name);
    auto it = st_file_.tensors.find(name);
    CG_USER_CHECK(it != st_file_.tensors.end(), "The checkpoint ", path_, " does not fit this model: it lacks ",
                  name, ".");
    const Tensor& src = it->second;
    CG_USER_CHECK(src.shape() == dst.shape(), "The checkpoint ", path_, " does not fit this model: ", dst.name(),
                  " is ", src.shape().str(), " there but ", dst.shape().str(), " here.");
    CG_USER_CHECK(src.dtype() == DType::f32 || src.dtype() == DType::f64, "The checkpoint ", path_, " stores ",
                  dst.name(), " as ", dtype_name(src.dtype()), ", not as floating point.");
    Tensor d = dst;
    d.copy_(src.dtype() == dst.dtype() ? src : src.to(dst.dtype()));
  };
  for (const Tensor& p : ps.params()) copy_one(p);
  for (const Tensor& b : ps.buffers()) copy_one(b);
  for (const auto& [name, t] : st_file_.tensors)
    CG_USER_CHECK(name.rfind(pre, 0) != 0 || expected.count(name), "The checkpoint ", path_,
                  " does not fit this model: it holds ", name, ", which this model lacks.");
}

void Checkpoint::restore(Generator& G) const {
  check_fits(G.config(), cfg_.genres);
  restore_store(G.params(), "G.");
}

void Checkpoint::restore_ema(Generator& G) const {
  CG_USER_CHECK(has_ema(), "The checkpoint ", path_, " holds no weight average of G (train with --ema).");
  check_fits(G.config(), cfg_.genres);
  restore_store(G.params(), "G.", "G_ema.");
}

void Checkpoint::restore_for_sampling(Generator& G, bool use_ema) const {
  if (use_ema && has_ema())
    restore_ema(G);
  else
    restore(G);
}

void Checkpoint::restore(Discriminator& D) const {
  CG_USER_CHECK(has_discriminator(), "The checkpoint ", path_, " holds no discriminator.");
  check_fits(D.config(), cfg_.genres);
  restore_store(D.params(), "D.");
}

void Checkpoint::restore_optimizers(Adam& opt_g, Adam& opt_d) const {
  CG_USER_CHECK(has_optimizers(), "The checkpoint ", path_, " holds no optimiser state, so it cannot be resumed.");
  auto put = [&](const char* name, Tensor& dst) {
    const Tensor& src = st_file_.tensors.at(name);
    CG_USER_CHECK(src.shape() == dst.shape() && src.dtype() == dst.dtype(), "The checkpoint ", path_,
                  " does not fit this model: ", name, " is ", src.describe(), " but the optimiser holds ",
                  dst.describe(), ".");
    dst.copy_(src);
  };
  for (const char* n : {"optim.G.m", "optim.G.v", "optim.D.m", "optim.D.v"})
    CG_USER_CHECK(st_file_.tensors.count(n), "The checkpoint ", path_, " lacks ", n, ".");
  put("optim.G.m", opt_g.m());
  put("optim.G.v", opt_g.v());
  put("optim.D.m", opt_d.m());
  put("optim.D.v", opt_d.v());
  opt_g.set_steps(st_.adam_g_steps);
  opt_d.set_steps(st_.adam_d_steps);
}

}  // namespace cg::gan
