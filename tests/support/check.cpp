// Implementation of the test helpers in check.h.
#include "support/check.h"

#include <cmath>
#include <sstream>

namespace cgtest {

std::string Compare::str() const {
  std::ostringstream os;
  os << (ok ? "ok" : "FAILED") << ", max |a-b| " << max_abs << ", nmse " << nmse;
  if (worst_index >= 0)
    os << ", worst element " << worst_index << ": " << a_at << " vs " << b_at << " (excess " << worst_excess << ")";
  return os.str();
}

double Compare::rel_l2() const { return std::sqrt(nmse); }

namespace {
Compare compare_impl(const std::vector<double>& a, const std::vector<double>& b, double atol, double rtol,
                     const std::vector<double>* slack) {
  Compare c;
  if (a.size() != b.size() || (slack && slack->size() != b.size())) {
    c.ok = false;
    c.worst_excess = INFINITY;
    return c;
  }
  double num = 0, den = 0;
  c.worst_excess = -INFINITY;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = std::fabs(a[i] - b[i]);
    const double allowed = atol + rtol * std::fabs(b[i]) + (slack ? (*slack)[i] : 0.0);
    const double excess = std::isfinite(d) ? d - allowed : INFINITY;
    if (excess > c.worst_excess || std::isnan(d)) {
      c.worst_excess = std::isnan(d) ? INFINITY : excess;
      c.worst_index = static_cast<int64_t>(i);
      c.a_at = a[i];
      c.b_at = b[i];
    }
    c.max_abs = std::max(c.max_abs, d);
    c.max_ref = std::max(c.max_ref, std::fabs(b[i]));
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += b[i] * b[i];
  }
  c.nmse = den > 0 ? num / den : num;
  c.ok = a.empty() || c.worst_excess <= 0;
  return c;
}
}  // namespace

Compare compare(const std::vector<double>& a, const std::vector<double>& b, double atol, double rtol) {
  return compare_impl(a, b, atol, rtol, nullptr);
}

Compare compare_scaled(const std::vector<double>& a, const std::vector<double>& b, double atol_of_max, double rtol,
                       const std::vector<double>* slack) {
  double amax = 0;
  for (double v : b) amax = std::max(amax, std::fabs(v));
  return compare_impl(a, b, atol_of_max * amax, rtol, slack);
}

Compare compare(const cg::Tensor& a, const cg::Tensor& b, double atol, double rtol) {
  if (a.shape() != b.shape()) {
    Compare c;
    c.ok = false;
    c.worst_excess = INFINITY;
    return c;
  }
  return compare(a.to_vector(), b.to_vector(), atol, rtol);
}

void check_gradients_doubled(const std::vector<cg::Tensor*>& tensors, const std::vector<std::vector<double>>& once) {
  REQUIRE(tensors.size() == once.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    std::vector<double> twice = once[i];
    for (double& v : twice) v *= 2;
    INFO("tensor ", i);
    CHECK_CLOSE_T(tensors[i]->grad().to_vector(), twice, 1e-12, 1e-12);
  }
}

cg::Tensor random_tensor(cg::Shape shape, std::mt19937& rng, double scale, cg::DType dt) {
  std::uniform_real_distribution<double> u(-scale, scale);
  std::vector<double> v(static_cast<size_t>(shape.numel()));
  for (double& x : v) x = u(rng);
  return cg::Tensor::from(v, shape, dt);
}

GradCheck gradcheck(const std::function<cg::Tensor(cg::Tape*)>& f, std::vector<cg::Tensor> inputs, double h,
                    uint32_t seed) {
  cg::GradcheckOptions opt;
  opt.h = h;
  opt.seed = seed;
  const cg::GradcheckResult r = cg::gradcheck(f, std::move(inputs), {}, opt);
  return GradCheck{r.max_rel_err, r.where()};
}

}  // namespace cgtest
