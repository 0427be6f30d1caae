// ParamStore: declaration, flat allocation and binding (see params.h).
#include "engine/params.h"

namespace cg {

Tensor ParamStore::param(const std::string& name, Shape shape) {
  CG_CHECK(!finalized_, "ParamStore: cannot declare '", name, "' after finalize()");
  CG_CHECK(!find(name).defined(), "ParamStore: '", name, "' declared twice");
  Tensor decl = Tensor::unallocated(shape);  // storage arrives at finalize()
  decl.set_name(name);
  decl.set_requires_grad(true);
  params_.push_back(decl);
  n_params_ += shape.numel();
  return decl;
}

Tensor ParamStore::buffer(const std::string& name, Shape shape) {
  CG_CHECK(!finalized_, "ParamStore: cannot declare '", name, "' after finalize()");
  CG_CHECK(!find(name).defined(), "ParamStore: '", name, "' declared twice");
  Tensor decl = Tensor::unallocated(shape);
  decl.set_name(name);
  buffers_.push_back(decl);
  n_buffers_ += shape.numel();
  return decl;
}

void ParamStore::finalize(Device device, DType dtype) {
  CG_CHECK(!finalized_, "ParamStore::finalize called twice");
  device_ = device;
  dtype_ = dtype;
  // Each tensor starts on a 64-element boundary (256 bytes in f32) so cuDNN and
  // cuBLAS see aligned weights; the padding is zero and stays zero under Adam.
  auto padded = [](int64_t n) { return (n + kAlign - 1) / kAlign * kAlign; };
  int64_t total_p = 0, total_b = 0;
  for (const Tensor& p : params_) total_p += padded(p.numel());
  for (const Tensor& b : buffers_) total_b += padded(b.numel());
  flat_ = Tensor::zeros(Shape{total_p}, dtype, device);
  flat_grad_ = Tensor::zeros(Shape{total_p}, dtype, device);
  flat_buf_ = Tensor::zeros(Shape{total_b}, dtype, device);
  flat_.set_name("flat_params");
  flat_grad_.set_name("flat_grads");
  const size_t es = dtype_size(dtype);
  int64_t off = 0;
  for (Tensor& p : params_) {
    const int64_t n = p.numel();
    // Rebind the declared handle: every holder of it now sees the flat slice.
    p.bind_storage(flat_.storage(), static_cast<size_t>(off) * es, dtype);
    p.set_grad(flat_grad_.slice_view(off, p.shape()));
    off += padded(n);
  }
  off = 0;
  for (Tensor& b : buffers_) {
    b.bind_storage(flat_buf_.storage(), static_cast<size_t>(off) * es, dtype);
    off += padded(b.numel());
  }
  finalized_ = true;
}

void ParamStore::zero_grad() {
  if (flat_grad_.defined() && !grad_zero_) flat_grad_.zero_();
  grad_zero_ = false;  // a backward writes them next
}

void ParamStore::set_requires_grad(bool on) {
  for (Tensor& p : params_) p.set_requires_grad(on);
}

Tensor ParamStore::find(const std::string& name) const {
  for (const Tensor& p : params_)
    if (p.name() == name) return p;
  for (const Tensor& b : buffers_)
    if (b.name() == name) return b;
  return Tensor();
}

}  // namespace cg
