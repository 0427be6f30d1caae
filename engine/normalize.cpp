// Image normalisation entry points (see normalize.h): checks, device dispatch.
#include "engine/normalize.h"

#include "engine/dispatch.h"
#include "kernels/cpu/normalize.h"
#include "kernels/cuda/normalize.h"

namespace cg {
namespace {

void check_u8_batch(const char* op, const Tensor& x, const std::vector<uint8_t>& flip) {
  CG_CHECK(x.defined(), op, ": the image batch is undefined");
  CG_CHECK(x.dtype() == DType::u8 && x.ndim() == 4, op, ": needs a u8 (B,H,W,C) batch, got ", x.describe());
  CG_CHECK(flip.empty() || static_cast<int64_t>(flip.size()) == x.dim(0), op, ": ", flip.size(),
           " flip flags for a batch of ", x.dim(0), " ", x.shape().str());
}

}  // namespace

Tensor images_u8_to_f32(const Tensor& x, const std::vector<uint8_t>& flip) {
  check_u8_batch("images_u8_to_f32", x, flip);
  const int64_t B = x.dim(0), H = x.dim(1), W = x.dim(2), C = x.dim(3);
  Tensor out = Tensor::empty(Shape{B, C, H, W}, DType::f32, x.device());
  if (x.is_cuda()) {
    on_cuda("images_u8_to_f32", x, [&]<class>() {
      Tensor f;
      if (!flip.empty()) {
        f = Tensor::empty(Shape{B}, DType::u8, Device::cuda);
        device_copy(f.raw(), Device::cuda, flip.data(), Device::cpu, flip.size());
      }
      cuda::images_u8_to_float(out.data<float>(), x.data<uint8_t>(), f.defined() ? f.data<uint8_t>() : nullptr, B,
                               H, W, C);
    });
  } else {
    cpu::images_u8_to_float(out.data<float>(), x.data<uint8_t>(), flip.empty() ? nullptr : flip.data(), B, H, W, C);
  }
  return out;
}

void images_u8_to_f32_into(Tensor& out, const uint8_t* px, const uint8_t* flips) {
  check_ndim("images_u8_to_f32", "output", out, 4);
  CG_CHECK(out.dtype() == DType::f32, "images_u8_to_f32: output must be f32, got ", out.describe());
  const int64_t B = out.dim(0), C = out.dim(1), H = out.dim(2), W = out.dim(3);
  CG_KERNEL("images_u8_to_f32", out, images_u8_to_float, out.data<T>(), px, flips, B, H, W, C);
}

Tensor images_u8_to_f64(const Tensor& x) {
  check_u8_batch("images_u8_to_f64", x, {});
  CG_CHECK(!x.is_cuda(), "images_u8_to_f64: f64 lives on the CPU only, got ", x.describe());
  const int64_t B = x.dim(0), H = x.dim(1), W = x.dim(2), C = x.dim(3);
  Tensor out = Tensor::empty(Shape{B, C, H, W}, DType::f64, Device::cpu);
  cpu::images_u8_to_float(out.data<double>(), x.data<uint8_t>(), nullptr, B, H, W, C);
  return out;
}

Tensor images_f32_to_u8(const Tensor& x) {
  CG_CHECK(x.defined(), "images_f32_to_u8: the image batch is undefined");
  check_ndim("images_f32_to_u8", "image batch", x, 4);
  check_float_dtype("images_f32_to_u8", x);
  const int64_t B = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  Tensor out = Tensor::empty(Shape{B, H, W, C}, DType::u8, x.device());
  CG_KERNEL("images_f32_to_u8", x, images_float_to_u8, out.data<uint8_t>(), x.data<T>(), B, C, H, W);
  return out;
}

}  // namespace cg
