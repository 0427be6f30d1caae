// DiffAugment as tape ops (see diff_augment.h): the parameters are drawn on the host,
// saved in the record, and read by the backward functions; the maps are linear in x,
// so nothing else is saved.
#include "layers/diff_augment.h"

#include <sstream>

#include "engine/dispatch.h"
#include "kernels/cpu/diff_augment.h"
#include "kernels/cuda/diff_augment.h"

namespace cg {

std::string DiffAugPolicy::str() const {
  std::string s;
  for (const auto& [on, name] : {std::pair{color, "color"}, {translation, "translation"}, {cutout, "cutout"}}) {
    if (!on) continue;
    if (!s.empty()) s.push_back(',');
    s.append(name);
  }
  return s;
}

DiffAugPolicy parse_diffaug_policy(const std::string& text) {
  DiffAugPolicy p;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item == "color" || item == "colour")
      p.color = true;
    else if (item == "translation")
      p.translation = true;
    else if (item == "cutout")
      p.cutout = true;
    else
      CG_USER_CHECK(item.empty() && text.empty(), "The augmentation policy \"", text,
                    "\" is not a comma list of color, translation and cutout.");
  }
  return p;
}

DiffAugDraw draw_diffaug(Philox& rng, const DiffAugPolicy& policy, int64_t N, int64_t H, int64_t W, Device device,
                         DType dtype) {
  DiffAugDraw d;
  if (policy.color) {
    std::vector<double> v(size_t(N * 3));
    for (int64_t n = 0; n < N; ++n) {
      v[size_t(n * 3)] = rng.next_uniform() - 0.5;
      v[size_t(n * 3 + 1)] = rng.next_uniform() * 2.0;
      v[size_t(n * 3 + 2)] = rng.next_uniform() + 0.5;
    }
    d.color = Tensor::from(v, Shape{N, 3}, dtype, device);
  }
  if (policy.translation) {  // ratio 1/8, rounded as the reference: int(S * 0.125 + 0.5)
    const int64_t si = int64_t(double(H) * 0.125 + 0.5), sj = int64_t(double(W) * 0.125 + 0.5);
    std::vector<double> v(size_t(N * 2));
    for (int64_t n = 0; n < N; ++n) {
      v[size_t(n * 2)] = double(rng.next_below(2 * si + 1) - si);
      v[size_t(n * 2 + 1)] = double(rng.next_below(2 * sj + 1) - sj);
    }
    d.translation = Tensor::from(v, Shape{N, 2}, dtype, device);
  }
  if (policy.cutout) {  // a square of half the side centred anywhere, clipped at the border
    const int64_t ch = int64_t(double(H) * 0.5 + 0.5), cw = int64_t(double(W) * 0.5 + 0.5);
    std::vector<double> v(size_t(N * 4));
    for (int64_t n = 0; n < N; ++n) {
      const int64_t oi = rng.next_below(H + (1 - ch % 2)) - ch / 2, oj = rng.next_below(W + (1 - cw % 2)) - cw / 2;
      v[size_t(n * 4)] = double(std::max<int64_t>(oi, 0));
      v[size_t(n * 4 + 1)] = double(std::min(oi + ch, H));
      v[size_t(n * 4 + 2)] = double(std::max<int64_t>(oj, 0));
      v[size_t(n * 4 + 3)] = double(std::min(oj + cw, W));
    }
    d.cutout = Tensor::from(v, Shape{N, 4}, dtype, device);
  }
  return d;
}

namespace {

void check_args(const char* op, const Tensor& x, const Tensor& p, int64_t width) {
  CG_CHECK(x.defined() && x.ndim() == 4, op, ": needs images (N,C,H,W), got ",
           x.defined() ? x.shape().str() : std::string("undefined"));
  check_float_dtype(op, x);
  check_shape(op, "parameters", p, Shape{x.dim(0), width});
  check_same_device(op, {&x, &p});
  check_same_dtype(op, {&x, &p});
}

// inputs {x}; saved {p}.
void diffaug_color_backward(Record& r) {
  if (!r.needs_grad("x")) return;
  const Tensor& x = r.in("x");
  const Tensor& p = r.kept("p");
  Tensor& dx = r.grad_of("x");
  const Tensor dout = r.dout();
  CG_KERNEL(r.backward_name, x, diffaug_color_backward, dx.data<T>(), dout.data<T>(), p.data<T>(), x.dim(0),
            x.dim(1), x.dim(2) * x.dim(3));
}

void diffaug_translate_backward(Record& r) {
  if (!r.needs_grad("x")) return;
  const Tensor& x = r.in("x");
  const Tensor& p = r.kept("p");
  Tensor& dx = r.grad_of("x");
  const Tensor dout = r.dout();
  CG_KERNEL(r.backward_name, x, diffaug_translate_backward, dx.data<T>(), dout.data<T>(), p.data<T>(), x.dim(0),
            x.dim(1), x.dim(2), x.dim(3));
}

void diffaug_cutout_backward(Record& r) {
  if (!r.needs_grad("x")) return;
  const Tensor& x = r.in("x");
  const Tensor& p = r.kept("p");
  Tensor& dx = r.grad_of("x");
  const Tensor dout = r.dout();
  CG_KERNEL(r.backward_name, x, diffaug_cutout_backward, dx.data<T>(), dout.data<T>(), p.data<T>(), x.dim(0),
            x.dim(1), x.dim(2), x.dim(3));
}

}  // namespace

Tensor diffaug_color(Tape* tape, const Tensor& x, const Tensor& p) {
  check_args("diffaug_color", x, p, 3);
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  CG_KERNEL("diffaug_color", x, diffaug_color_forward, out.data<T>(), x.data<T>(), p.data<T>(), x.dim(0), x.dim(1),
            x.dim(2) * x.dim(3));
  TAPE_RECORD(tape, "diffaug_color", diffaug_color_backward, ({{"x", x}}), out, ({{"p", p}}), ({}));
  return out;
}

Tensor diffaug_translate(Tape* tape, const Tensor& x, const Tensor& p) {
  check_args("diffaug_translate", x, p, 2);
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  CG_KERNEL("diffaug_translate", x, diffaug_translate_forward, out.data<T>(), x.data<T>(), p.data<T>(), x.dim(0),
            x.dim(1), x.dim(2), x.dim(3));
  TAPE_RECORD(tape, "diffaug_translate", diffaug_translate_backward, ({{"x", x}}), out, ({{"p", p}}), ({}));
  return out;
}

Tensor diffaug_cutout(Tape* tape, const Tensor& x, const Tensor& p) {
  check_args("diffaug_cutout", x, p, 4);
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  CG_KERNEL("diffaug_cutout", x, diffaug_cutout_forward, out.data<T>(), x.data<T>(), p.data<T>(), x.dim(0),
            x.dim(1), x.dim(2), x.dim(3));
  TAPE_RECORD(tape, "diffaug_cutout", diffaug_cutout_backward, ({{"x", x}}), out, ({{"p", p}}), ({}));
  return out;
}

Tensor diff_augment(Tape* tape, const Tensor& x, const DiffAugDraw& d) {
  Tensor y = x;
  if (d.color.defined()) y = diffaug_color(tape, y, d.color);
  if (d.translation.defined()) y = diffaug_translate(tape, y, d.translation);
  if (d.cutout.defined()) y = diffaug_cutout(tape, y, d.cutout);
  return y;
}

}  // namespace cg
