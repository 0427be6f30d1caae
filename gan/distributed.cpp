// Data-parallel training (see distributed.h). The iteration is train_step's, with the
// collectives in between: a small all-reduce of the loss terms (so every rank sees the
// same global values and the same NaN check) and one of each network's flat gradient
// buffer (ReduceOp::mean: the sum of per-rank gradients of per-rank mean losses, over N,
// is the gradient of the global mean loss; for N a power of two the division is exact).
#include "gan/distributed.h"

#include <zlib.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>

#include "base/nvtx.h"
#include "base/profile.h"
#include "engine/io_util.h"
#include "engine/safetensors.h"
#include "gan/profile.h"
#include "kernels/cpu/threads.h"
#include "layers/batchnorm2d_sync.h"

namespace cg::gan {

std::pair<int, int> batch_slice(int B, int rank, int ranks) {
  if (ranks > 1)
    CG_USER_CHECK(B % ranks == 0 && B >= 2 * ranks, "The global batch of ", B, " does not split evenly over ", ranks,
                  " ranks with at least 2 images each; pass a --batch that is a multiple of ", ranks, " (at least ",
                  2 * ranks, ").");
  CG_CHECK(rank >= 0 && rank < ranks, "batch_slice: rank ", rank, " of ", ranks);
  return {B / ranks * rank, B / ranks * (rank + 1)};
}

// The training stream's layout (kernels/common/latents.h), the one a single-process run
// draws on the device (gan/iteration.h): a run moves between one process and several on
// the same latents. The whole global batch is drawn on the host in f32; f64 runs widen it.
void draw_latent_rows(Philox& rng, const ModelConfig& cfg, int64_t B, int64_t lo, int64_t hi, Device dev, DType dt,
                      StepBatch& b) {
  CG_CHECK(0 <= lo && lo < hi && hi <= B, "draw_latent_rows: rows [", lo, ", ", hi, ") of ", B);
  StepBatch all;
  IterationState st(Device::cpu, rng.seed(), rng.offset());
  gan::draw_latents(st, cfg, B, all);
  rng.set_offset(rng.offset() + latent_words(cfg, B));
  b.dropout_key = dropout_key(rng.seed(), rng.offset());  // as the one-process runner keys it
  const int64_t R = hi - lo;
  const auto rows = [&](const Tensor& t, int64_t width, DType to) {
    Tensor r = t.slice_view(lo * width, t.ndim() > 1 ? Shape{R, width} : Shape{R}).clone();
    return (r.dtype() == to ? r : r.to(to)).to(dev);
  };
  b.z = rows(all.z, cfg.z_dim, dt);
  b.fake_labels = rows(all.fake_labels, 1, DType::i32);
  b.codes = cfg.n_codes > 0 ? rows(all.codes, cfg.n_codes, dt) : Tensor();
}

DataParallel::DataParallel() : comm_(Comm::world()) {}

std::pair<int, int> DataParallel::slice(int B) const { return batch_slice(B, comm_.rank(), comm_.size()); }

void DataParallel::draw_latents(Philox& rng, const ModelConfig& cfg, int64_t B, Device dev, DType dt,
                                StepBatch& b) const {
  const auto [lo, hi] = slice(int(B));
  draw_latent_rows(rng, cfg, B, lo, hi, dev, dt, b);
}

namespace {

void check_finite(std::initializer_list<std::pair<const char*, double>> terms) {
  for (const auto& [name, v] : terms)
    if (!std::isfinite(v)) throw NonFiniteLoss(name, v);
}

// The mean over the ranks of the values the pointers name, in place.
void mean_over_ranks(Comm& comm, std::initializer_list<double*> values, double* or_flag = nullptr) {
  std::vector<double> v;
  for (double* p : values) v.push_back(*p);
  if (or_flag) v.push_back(*or_flag * comm.size());  // the mean of this is > 0 when any rank set it
  comm.allreduce(v, ReduceOp::mean, "allreduce step.stats");
  size_t i = 0;
  for (double* p : values) *p = v[i++];
  if (or_flag) *or_flag = v[i];
}

}  // namespace

StepStats DataParallel::train_step(Generator& G, Discriminator& D, Adam& opt_g, Adam& opt_d, const StepBatch& b,
                                   const LossConfig& lc, bool sync_bn, bool* stop) {
  if (!distributed()) return gan::train_step(G, D, opt_g, opt_d, b, lc);
  NVTX_RANGE("train_step");
  SyncBatchNormScope scope(sync_bn ? &comm_ : nullptr);
  StepStats st;
  GForward gf = g_forward(G, b);  // once: the G step backpropagates through the same forward
  d_backward(D, b, gf.fake, lc, st);
  mean_over_ranks(comm_, {&st.d_total, &st.d_src_real, &st.d_src_fake, &st.d_cls_real, &st.d_cls_fake, &st.d_code,
                          &st.d_real, &st.d_fake, &st.acc_real, &st.acc_fake});
  check_finite({{"d_src_real", st.d_src_real},
                {"d_src_fake", st.d_src_fake},
                {"d_cls_real", st.d_cls_real},
                {"d_cls_fake", st.d_cls_fake},
                {"d_code", st.d_code},
                {"d_total", st.d_total}});
  comm_.allreduce(D.params().flat_grad(), ReduceOp::mean, "allreduce D.grad");
  opt_d.step();
  g_backward(G, D, b, gf, lc, st);
  double flag = stop && *stop ? 1.0 : 0.0;
  mean_over_ranks(comm_, {&st.g_total, &st.g_src, &st.g_cls, &st.g_code, &st.g_spectral}, &flag);
  if (stop) *stop = flag > 0;
  check_finite({{"g_src", st.g_src},
                {"g_cls", st.g_cls},
                {"g_code", st.g_code},
                {"g_spectral", st.g_spectral},
                {"g_total", st.g_total}});
  comm_.allreduce(G.params().flat_grad(), ReduceOp::mean, "allreduce G.grad");
  opt_g.step();
  return st;
}

namespace {

// CRC32 of a tensor's bytes (copied to the host first when it lives on the GPU).
uint32_t crc_of(const Tensor& t) {
  const Tensor h = t.to(Device::cpu);
  uLong c = crc32(0L, Z_NULL, 0);
  const auto* p = static_cast<const Bytef*>(h.raw());
  for (size_t off = 0, n = h.nbytes(); off < n; off += size_t(1) << 30)
    c = crc32(c, p + off, uInt(std::min<size_t>(n - off, size_t(1) << 30)));
  return uint32_t(c);
}

}  // namespace

void DataParallel::settle_for_checkpoint(Generator& G, Discriminator& D, Adam& opt_g, Adam& opt_d, bool sync_bn) {
  if (!distributed()) return;
  if (!sync_bn) {  // each rank's running statistics saw only its slice: keep their mean
    comm_.allreduce(G.params().flat_buffers(), ReduceOp::mean, "allreduce bn.running");
    comm_.allreduce(D.params().flat_buffers(), ReduceOp::mean, "allreduce bn.running");
  }
  std::ostringstream os;
  os << std::hex << crc_of(G.params().flat()) << ' ' << crc_of(D.params().flat()) << ' ' << crc_of(opt_g.m()) << ' '
     << crc_of(opt_g.v()) << ' ' << crc_of(opt_d.m()) << ' ' << crc_of(opt_d.v());
  const std::vector<std::string> all = comm_.allgather(os.str(), "allgather weight checksums");
  for (int r = 1; r < comm_.size(); ++r)
    if (all[size_t(r)] != all[0])
      throw AgreedError(detail::cat("The ranks' weights have drifted apart: ", comm_.describe(r), " holds weights or "
                                    "Adam moments that differ from rank 0's (checksums ", all[size_t(r)], " against ",
                                    all[0], "), so the all-reduce did not give every rank the same sum; no "
                                    "checkpoint was written."));
}

namespace {

// "mine against theirs"; for two JSON objects only the keys that differ.
std::string differences(const std::string& mine, const std::string& theirs) {
  if (mine.empty() || mine[0] != '{') return mine + " against " + theirs;
  const nlohmann::json a = nlohmann::json::parse(mine, nullptr, false), b = nlohmann::json::parse(theirs, nullptr, false);
  if (!a.is_object() || !b.is_object()) return mine + " against " + theirs;
  std::string out;
  for (const auto& [k, v] : a.items()) {
    const std::string other = b.contains(k) ? b[k].dump() : std::string("unset");
    if (v.dump() != other) out += (out.empty() ? "" : ", ") + k + " " + v.dump() + " against " + other;
  }
  for (const auto& [k, v] : b.items())
    if (!a.contains(k)) out += (out.empty() ? "" : ", ") + k + " unset against " + v.dump();
  return out;
}

}  // namespace

void DataParallel::check_same(const std::vector<std::pair<std::string, std::string>>& items) {
  if (!distributed()) return;
  std::string mine;
  for (const auto& [what, value] : items) mine += what + '\x1f' + value + '\x1e';
  const std::vector<std::string> all = comm_.allgather(mine, "allgather start-up check");
  for (int r = 1; r < comm_.size(); ++r) {
    if (all[size_t(r)] == all[0]) continue;
    // The first item that differs; the lists have the same items in the same order.
    std::vector<std::string> a, b;
    auto split = [](const std::string& s, std::vector<std::string>& out) {
      std::string cur;
      for (char ch : s)
        if (ch == '\x1e') out.push_back(cur), cur.clear();
        else cur += ch;
    };
    split(all[0], a), split(all[size_t(r)], b);
    for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
      if (a[i] == b[i]) continue;
      const size_t ka = a[i].find('\x1f'), kb = b[i].find('\x1f');
      std::string who = comm_.describe(r);
      who[0] = 'R';
      throw AgreedError(detail::cat(who, " has a different ", a[i].substr(0, ka), " than rank 0 (",
                                    differences(b[i].substr(kb + 1), a[i].substr(ka + 1)),
                                    "); every rank must train the same model on the same data with the same build, "
                                    "so the job stops before training."));
    }
    throw AgreedError(detail::cat("The ranks disagree at start-up (", comm_.describe(r), " reports ",
                                  all[size_t(r)].size(), " bytes of settings against ", all[0].size(), ")."));
  }
}

Checkpoint DataParallel::load_checkpoint(const std::string& path) {
  if (!distributed()) return Checkpoint::load(path);
  std::string bytes;
  comm_.agree(
      [&] {
        require_regular_file(path, "Cannot open the checkpoint");
        std::ifstream in(path, std::ios::binary);
        CG_USER_CHECK(in.good(), "Cannot open the checkpoint ", path, ".");
        std::ostringstream ss;
        ss << in.rdbuf();
        bytes = ss.str();
      },
      "reading a checkpoint", /*only_root=*/true);
  comm_.broadcast(bytes, "broadcast checkpoint");
  std::optional<Checkpoint> ck;
  comm_.agree(
      [&] {
        ck = Checkpoint::from_safetensors(
            path, parse_safetensors(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), path));
      },
      "parsing a checkpoint");
  return std::move(*ck);
}

std::string DataParallel::summary(Device d) const {
  const int threads = cpu::compute_threads();
  return detail::cat(comm_.size(), " ranks on ", comm_.nodes(), comm_.nodes() == 1 ? " node" : " nodes", " (",
                     comm_.local_size(), " on this one), ",
                     d == Device::cuda ? std::string("one GPU each")
                                       : detail::cat(threads, " CPU thread", threads == 1 ? "" : "s", " each"),
                     ", ", comm_.transport(d));
}

std::string shared_settings(const TrainConfig& cfg, Device device) {
  nlohmann::json j = to_json(cfg);
  // Paths may differ between hosts; the labeled file's identity is compared as its own item.
  for (const char* key : {"data", "data_bytes", "data_fingerprint", "pretrain", "init"}) j.erase(key);
  j["device"] = device_name(device);
  return j.dump();
}

void profile_distributed(const ModelConfig& m, int64_t batch, Device device, int64_t iters, bool sync_bn,
                         const std::string& csv_path) {
  CG_USER_CHECK(iters > 0, "--profile needs a positive number of iterations, got ", iters, ".");
  DataParallel dp;
  const auto [lo, hi] = dp.slice(int(batch));
  if (device == Device::cuda) dp.comm().use_gpu();
  IterationRig rig(m, hi - lo, device, 1 + uint64_t(dp.comm().rank()));  // each rank its own random images
  auto step = [&] {
    bool stop = false;
    dp.draw_latents(rig.rng, rig.cfg, batch, device, DType::f32, rig.b);
    dp.train_step(*rig.G, *rig.D, *rig.opt_g, *rig.opt_d, rig.b, rig.lc, sync_bn, &stop);
  };
  if (dp.root())
    std::printf("covergan profile: %dx%d, base %d, global batch %lld (%d per rank), %s; %s%s; 1 warm-up + %lld "
                "iterations\n",
                m.image_size, m.image_size, m.base_channels, static_cast<long long>(batch), hi - lo,
                device_name(device), dp.summary(device).c_str(), sync_bn ? ", sync-bn" : "",
                static_cast<long long>(iters));
  step();
  device_synchronize(device);
  prof::start(device_sync_fn(device));
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < iters; ++i) step();
  device_synchronize(device);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  prof::stop();
  if (!dp.root()) return;
  const double it_s = secs / double(iters), flops = iteration_flops(m, batch);
  std::printf("iteration %.2f ms, %.1f images/s, %.1f GFLOP/s (%.3f GFLOP per iteration, all ranks)\n\n", it_s * 1e3,
              double(batch) / it_s, flops / it_s / 1e9, flops / 1e9);
  const prof::Ceilings none;  // not measured here: every rank would measure at once
  std::fputs(prof::layer_table(iters, it_s, none).c_str(), stdout);
  std::printf("\n");
  std::fputs(prof::kernel_table(iters, it_s, none).c_str(), stdout);
  if (!csv_path.empty()) {
    write_file_atomic(csv_path, prof::csv(iters, it_s, none), "the profile CSV");
    std::printf("\nprofile CSV: %s\n", csv_path.c_str());
  }
}

}  // namespace cg::gan
