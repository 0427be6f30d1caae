// The profiler's outputs (see profile.h): the layer table, the phase and kernel tables,
// the CSV of both and the Chrome trace. Rates are per scope: FLOPs and bytes over the
// time spent in it, and the share of each measured ceiling.
#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <sstream>

#include "base/profile.h"

namespace cg::prof {

namespace {

struct Rates {
  double gflops = 0, gbytes = 0, intensity = 0, pct_flops = 0, pct_bytes = 0;
};

Rates rates(double flops, double bytes, double s, const Ceilings& c) {
  Rates r;
  if (s > 0) r.gflops = flops / s / 1e9, r.gbytes = bytes / s / 1e9;
  if (bytes > 0) r.intensity = flops / bytes;
  if (c.flops > 0) r.pct_flops = 100.0 * r.gflops * 1e9 / c.flops;
  if (c.bytes > 0) r.pct_bytes = 100.0 * r.gbytes * 1e9 / c.bytes;
  return r;
}

// "12.3", or "-" where there is nothing to show.
std::string num(double v, int prec, bool show) {
  if (!show) return "-";
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}

std::string line(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string line(const char* fmt, ...) {
  char b[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(b, sizeof b, fmt, ap);
  va_end(ap);
  return b;
}

}  // namespace

std::string layer_table(int64_t iters, double iter_s, const Ceilings& c) {
  const double n = double(std::max<int64_t>(iters, 1));
  std::string out = line("%-26s %-34s %6s %8s %6s %8s %8s %7s %8s %7s %6s %6s\n", "layer pass", "shape", "calls",
                         "ms", "share", "GFLOP", "MB", "FLOP/B", "GFLOP/s", "GB/s", "%FMA", "%BW");
  double covered = 0;
  for (const Group& gr : groups()) {
    covered += gr.s;
    const Rates r = rates(gr.flops, gr.bytes, gr.s, c);
    const std::string name = gr.layer + " " + gr.pass;
    out += line("%-26s %-34s %6.1f %8.3f %5.1f%% %8s %8s %7s %8s %7s %6s %6s\n", name.c_str(),
                gr.shape.empty() ? "-" : gr.shape.c_str(), double(gr.calls) / n, gr.s / n * 1e3,
                iter_s > 0 ? 100.0 * gr.s / n / iter_s : 0.0, num(gr.flops / n / 1e9, 3, gr.flops > 0).c_str(),
                num(gr.bytes / n / 1e6, 1, gr.bytes > 0).c_str(), num(r.intensity, 1, gr.bytes > 0).c_str(),
                num(r.gflops, 1, gr.flops > 0).c_str(), num(r.gbytes, 1, gr.bytes > 0).c_str(),
                num(r.pct_flops, 0, gr.flops > 0 && c.flops > 0).c_str(),
                num(r.pct_bytes, 0, gr.bytes > 0 && c.bytes > 0).c_str());
  }
  out += line("%-26s %-34s %6s %8.3f %5.1f%%\n", "(outside any layer)", "", "",
              std::max(0.0, iter_s - covered / n) * 1e3,
              iter_s > 0 ? std::max(0.0, 100.0 * (1 - covered / n / iter_s)) : 0.0);
  return out;
}

std::string kernel_table(int64_t iters, double iter_s, const Ceilings& c) {
  const double n = double(std::max<int64_t>(iters, 1));
  const std::vector<Row> all = rows();
  std::string out = "program phases (inclusive time)\n";
  out += line("  %-34s %7s %10s %7s\n", "phase", "calls", "ms", "share");
  for (const Row& r : all)
    if (r.kind == Kind::scope)
      out += line("  %-34s %7.1f %10.3f %6.1f%%\n", r.name.c_str(), double(r.calls) / n, r.total_s / n * 1e3,
                  iter_s > 0 ? 100.0 * r.total_s / n / iter_s : 0.0);
  out += "\nkernels (self time: nested kernels subtracted)\n";
  out += line("  %-34s %7s %10s %7s %10s %8s %7s %6s %6s\n", "kernel", "calls", "self ms", "share", "total ms",
              "GFLOP/s", "GB/s", "%FMA", "%BW");
  for (const Row& r : all) {
    if (r.kind != Kind::kernel) continue;
    const Rates x = rates(r.flops, r.bytes, r.self_s, c);
    out += line("  %-34s %7.1f %10.3f %6.1f%% %10.3f %8s %7s %6s %6s\n", r.name.c_str(), double(r.calls) / n,
                r.self_s / n * 1e3, iter_s > 0 ? 100.0 * r.self_s / n / iter_s : 0.0, r.total_s / n * 1e3,
                num(x.gflops, 1, r.flops > 0).c_str(), num(x.gbytes, 1, r.bytes > 0).c_str(),
                num(x.pct_flops, 0, r.flops > 0 && c.flops > 0).c_str(),
                num(x.pct_bytes, 0, r.bytes > 0 && c.bytes > 0).c_str());
  }
  return out;
}

namespace {
// A CSV field: quoted when it holds a comma or a quote.
std::string field(const std::string& s) {
  if (s.find_first_of(",\"") == std::string::npos) return s;
  std::string q = "\"";
  for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return q + "\"";
}
}  // namespace

std::string csv(int64_t iters, double iter_s, const Ceilings& c) {
  const double n = double(std::max<int64_t>(iters, 1));
  std::ostringstream os;
  os.precision(6);
  os << "kind,name,pass,shape,calls_per_iter,ms_per_iter,total_ms_per_iter,share,gflop_per_iter,mbyte_per_iter,"
        "flop_per_byte,gflop_per_s,gbyte_per_s,pct_fma_peak,pct_mem_bw\n";
  auto put = [&](const char* kind, const std::string& name, const std::string& pass, const std::string& shape,
                 int64_t calls, double s, double total_s, double flops, double bytes) {
    const Rates r = rates(flops, bytes, s, c);
    os << kind << ',' << field(name) << ',' << pass << ',' << field(shape) << ',' << double(calls) / n << ','
       << s / n * 1e3 << ',' << total_s / n * 1e3 << ',' << (iter_s > 0 ? s / n / iter_s : 0.0) << ','
       << flops / n / 1e9 << ',' << bytes / n / 1e6 << ',' << r.intensity << ',' << r.gflops << ',' << r.gbytes
       << ',' << r.pct_flops << ',' << r.pct_bytes << '\n';
  };
  for (const Group& gr : groups()) put("layer", gr.layer, gr.pass, gr.shape, gr.calls, gr.s, gr.s, gr.flops, gr.bytes);
  for (const Row& r : rows())
    put(kind_name(r.kind), r.name, "", "", r.calls, r.kind == Kind::scope ? r.total_s : r.self_s, r.total_s,
        r.flops, r.bytes);
  return os.str();
}

}  // namespace cg::prof
