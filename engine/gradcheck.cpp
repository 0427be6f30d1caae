// The finite-difference check (see gradcheck.h). Elements are perturbed on a host copy
// and written back, so the same loop checks CPU and CUDA ops, in f32 and f64.
#include "engine/gradcheck.h"

#include <cmath>
#include <random>
#include <sstream>

namespace cg {
namespace {

double weighted_sum(const Tensor& out, const std::vector<double>& R) {
  const auto v = out.to_vector();
  double s = 0;
  for (size_t i = 0; i < v.size(); ++i) s += v[i] * R[i];
  return s;
}

// Element i of x (a float tensor on any device) set to value.
void set_element(Tensor& x, Tensor& host, int64_t i, double value) {
  if (host.dtype() == DType::f64)
    host.data<double>()[i] = value;
  else
    host.data<float>()[i] = static_cast<float>(value);
  if (!host.same(x)) x.copy_(host);
}

double get_element(const Tensor& host, int64_t i) {
  return host.dtype() == DType::f64 ? host.data<double>()[i] : double(host.data<float>()[i]);
}

InputGradcheck check_input(const std::function<Tensor(Tape*)>& f, Tensor& x, const std::string& name,
                           const std::vector<double>& R, const GradcheckOptions& opt) {
  InputGradcheck res;
  res.name = name;
  res.shape = x.shape();
  const std::vector<double> analytic = x.grad().defined() ? x.grad().to_vector()
                                                          : std::vector<double>(size_t(x.numel()), 0.0);
  double gmax = 0;
  for (double g : analytic) gmax = std::max(gmax, std::fabs(g));
  Tensor host = x.is_cuda() ? x.to(Device::cpu) : x;  // a CPU tensor is perturbed in place
  for (int64_t i = 0; i < x.numel(); ++i) {
    const double saved = get_element(host, i);
    set_element(x, host, i, saved + opt.h);
    const double fp = weighted_sum(f(nullptr), R);
    set_element(x, host, i, saved - opt.h);
    const double fm = weighted_sum(f(nullptr), R);
    set_element(x, host, i, saved);
    // The step actually taken: in f32, saved + h rounds, and dividing by the rounded
    // step (not h) removes that error from the quotient.
    double step = 2 * opt.h;
    if (host.dtype() == DType::f32) step = double(float(saved + opt.h)) - double(float(saved - opt.h));
    const double numeric = (fp - fm) / step;
    const double a = analytic[size_t(i)];
    const double denom = std::max({std::fabs(a), std::fabs(numeric), opt.floor * gmax, 1e-12});
    double rel = std::fabs(a - numeric) / denom;
    if (std::isnan(rel)) rel = INFINITY;
    if (res.worst < 0 || rel > res.rel_err) {
      res.worst = i;
      res.rel_err = rel;
      res.analytic = a;
      res.numeric = numeric;
    }
  }
  return res;
}

}  // namespace

std::string InputGradcheck::str() const {
  std::ostringstream os;
  os.precision(6);
  os << name << " " << shape.str() << " element " << worst << ": analytic " << analytic << " numeric " << numeric;
  os.precision(2);
  os << " rel err " << std::scientific << rel_err;
  return os.str();
}

std::string GradcheckResult::where() const {
  return worst_input < 0 ? std::string("no input needs a gradient") : inputs[size_t(worst_input)].str();
}

GradcheckResult gradcheck(const std::function<Tensor(Tape*)>& f, std::vector<Tensor> inputs,
                          const std::vector<std::string>& names, const GradcheckOptions& opt) {
  CG_CHECK(names.empty() || names.size() == inputs.size(), "gradcheck: ", names.size(), " names for ",
           inputs.size(), " inputs");
  for (auto& t : inputs)
    if (t.requires_grad() && t.grad().defined()) t.grad().zero_();
  Tape tape;
  const Tensor out = f(&tape);
  std::mt19937 rng(opt.seed);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> R(static_cast<size_t>(out.numel()));
  for (double& r : R) r = u(rng);
  GradcheckResult res;
  bool any = false;
  for (const auto& t : inputs) any = any || t.requires_grad();
  if (!any) return res;
  CG_CHECK(out.requires_grad(), "gradcheck: the output does not depend on any input that needs a gradient "
           "(does the op record itself on the tape?)");
  tape.backward(out, Tensor::from(R, out.shape(), out.dtype(), out.device()));
  for (size_t k = 0; k < inputs.size(); ++k) {
    Tensor& x = inputs[k];
    if (!x.requires_grad()) continue;
    const std::string name = names.empty() || names[k].empty() ? "input " + std::to_string(k) : names[k];
    res.inputs.push_back(check_input(f, x, name, R, opt));
    const double rel = res.inputs.back().rel_err;
    if (res.worst_input < 0 || rel > res.max_rel_err) {
      res.max_rel_err = rel;
      res.worst_input = int(res.inputs.size() - 1);
    }
  }
  return res;
}

}  // namespace cg
