// Tensor storage, views, copies and the few elementwise helpers the tape needs
// (fill, add_). Arithmetic of real ops lives in kernels/, not here.
#include "engine/tensor.h"

#include <cstring>

#include "engine/dispatch.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cuda/elementwise.h"

namespace cg {

struct Tensor::Impl {
  std::shared_ptr<Storage> storage;
  size_t offset = 0;  // bytes into storage
  Shape shape;
  DType dtype = DType::f32;
  Device device = Device::cpu;
  bool requires_grad = false;
  Tensor grad;
  std::string name;
};

size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32: return 4;
    case DType::f64: return 8;
    case DType::i32: return 4;
    case DType::u8: return 1;
    case DType::bf16: return 2;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "f32";
    case DType::f64: return "f64";
    case DType::i32: return "i32";
    case DType::u8: return "u8";
    case DType::bf16: return "bf16";
  }
  return "?";
}

Shape::Shape(std::initializer_list<int64_t> dims) {
  CG_CHECK(dims.size() <= 4, "a tensor has at most 4 dimensions, got ", dims.size());
  for (int64_t v : dims) {
    CG_CHECK(v >= 0, "negative dimension ", v);
    d[static_cast<size_t>(ndim++)] = v;
  }
}

Shape Shape::of(const std::vector<int64_t>& dims) {
  CG_CHECK(dims.size() <= 4, "a tensor has at most 4 dimensions, got ", dims.size());
  Shape s;
  for (int64_t v : dims) {
    CG_CHECK(v >= 0, "negative dimension ", v);
    s.d[static_cast<size_t>(s.ndim++)] = v;
  }
  return s;
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < ndim; ++i) n *= d[static_cast<size_t>(i)];
  return n;
}

std::string Shape::str() const {
  std::string s = "(";
  for (int i = 0; i < ndim; ++i) s.append(i ? "," : "").append(std::to_string(d[static_cast<size_t>(i)]));
  return s + ")";
}

bool Shape::operator==(const Shape& o) const {
  if (ndim != o.ndim) return false;
  for (int i = 0; i < ndim; ++i)
    if (d[static_cast<size_t>(i)] != o.d[static_cast<size_t>(i)]) return false;
  return true;
}

Storage::Storage(size_t n, Device dev) : bytes(n), device(dev) {
  ptr = n ? device_alloc(dev, n) : nullptr;
}
Storage::~Storage() {
  if (ptr) device_free(device, ptr, bytes);
}

void Tensor::check_defined(const char* what) const {
  CG_CHECK(p_ != nullptr, what, " on an undefined tensor");
}

Tensor Tensor::empty(Shape shape, DType dtype, Device device) {
  CG_CHECK(!(dtype == DType::f64 && device == Device::cuda),
           "f64 tensors live on the CPU only (asked for f64 ", shape.str(), " on cuda)");
  Tensor t;
  t.p_ = std::make_shared<Impl>();
  t.p_->shape = shape;
  t.p_->dtype = dtype;
  t.p_->device = device;
  t.p_->storage = std::make_shared<Storage>(static_cast<size_t>(shape.numel()) * dtype_size(dtype), device);
  return t;
}

Tensor Tensor::zeros(Shape shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.zero_();
  return t;
}

Tensor Tensor::full(Shape shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.fill_(value);
  return t;
}

Tensor Tensor::from(const std::vector<double>& values, Shape shape, DType dtype, Device device) {
  CG_CHECK(static_cast<int64_t>(values.size()) == shape.numel(), "Tensor::from: ", values.size(),
           " values for shape ", shape.str());
  Tensor h = empty(shape, dtype, Device::cpu);
  for (size_t i = 0; i < values.size(); ++i) {
    switch (dtype) {
      case DType::f32: h.data<float>()[i] = static_cast<float>(values[i]); break;
      case DType::f64: h.data<double>()[i] = values[i]; break;
      case DType::i32: h.data<int32_t>()[i] = static_cast<int32_t>(values[i]); break;
      case DType::u8: h.data<uint8_t>()[i] = static_cast<uint8_t>(values[i]); break;
      case DType::bf16: h.data<bf16>()[i] = common::float_to_bf16(static_cast<float>(values[i])); break;
    }
  }
  return h.to(device);
}

Tensor Tensor::from_labels(const std::vector<int32_t>& labels, Device device) {
  Tensor h = empty(Shape{static_cast<int64_t>(labels.size())}, DType::i32, Device::cpu);
  if (!labels.empty()) std::memcpy(h.raw(), labels.data(), labels.size() * sizeof(int32_t));
  return h.to(device);
}

const Shape& Tensor::shape() const { check_defined("shape()"); return p_->shape; }
DType Tensor::dtype() const { check_defined("dtype()"); return p_->dtype; }
Device Tensor::device() const { check_defined("device()"); return p_->device; }

void* Tensor::raw() {
  check_defined("raw()");
  CG_CHECK(p_->storage != nullptr, "tensor '", p_->name, "' has no storage yet (parameters are "
           "allocated by ParamStore::finalize)");
  return static_cast<char*>(p_->storage->ptr) + p_->offset;
}
const void* Tensor::raw() const { return const_cast<Tensor*>(this)->raw(); }

bool Tensor::requires_grad() const { return p_ && p_->requires_grad; }
void Tensor::set_requires_grad(bool on) { check_defined("set_requires_grad"); p_->requires_grad = on; }
Tensor Tensor::grad() const { check_defined("grad()"); return p_->grad; }
Tensor& Tensor::ensure_grad() {
  check_defined("ensure_grad()");
  if (!p_->grad.defined()) p_->grad = zeros(p_->shape, p_->dtype, p_->device);
  return p_->grad;
}
void Tensor::set_grad(const Tensor& g) {
  check_defined("set_grad()");
  if (g.defined()) check_shape("set_grad", "gradient", g, p_->shape);
  p_->grad = g;
}
const std::string& Tensor::name() const { check_defined("name()"); return p_->name; }
void Tensor::set_name(const std::string& n) { check_defined("set_name()"); p_->name = n; }

Tensor Tensor::view(Shape shape) const {
  check_defined("view()");
  CG_CHECK(shape.numel() == numel(), "view: cannot view ", describe(), " as ", shape.str());
  Tensor t;
  t.p_ = std::make_shared<Impl>(*p_);
  t.p_->shape = shape;
  t.p_->grad = Tensor();
  t.p_->requires_grad = false;
  return t;
}

Tensor Tensor::detach() const { return view(shape()); }

Tensor Tensor::slice_view(int64_t offset_elems, Shape shape) const {
  check_defined("slice_view()");
  CG_CHECK(offset_elems >= 0 && offset_elems + shape.numel() <= numel(), "slice_view: [",
           offset_elems, ", +", shape.numel(), ") out of range of ", describe());
  Tensor t = view(Shape{numel()});
  t.p_->offset += static_cast<size_t>(offset_elems) * dtype_size(dtype());
  t.p_->shape = shape;
  return t;
}

Tensor Tensor::unallocated(Shape shape, DType dtype) {
  Tensor t;
  t.p_ = std::make_shared<Impl>();
  t.p_->shape = shape;
  t.p_->dtype = dtype;
  return t;
}

const std::shared_ptr<Storage>& Tensor::storage() const {
  check_defined("storage()");
  return p_->storage;
}

void Tensor::bind_storage(std::shared_ptr<Storage> s, size_t offset_bytes, DType dtype) {
  check_defined("bind_storage()");
  p_->dtype = dtype;
  CG_CHECK(s && offset_bytes + nbytes() <= s->bytes, "bind_storage: storage too small for ", describe());
  p_->storage = std::move(s);
  p_->offset = offset_bytes;
  p_->device = p_->storage->device;
}

Tensor Tensor::to(Device device) const {
  check_defined("to(device)");
  if (device == p_->device) return *this;
  Tensor t = empty(p_->shape, p_->dtype, device);
  device_copy(t.raw(), device, raw(), p_->device, nbytes());
  return t;
}

Tensor Tensor::to(DType dtype) const {
  check_defined("to(dtype)");
  if (dtype == p_->dtype) return *this;
  CG_CHECK(p_->device == Device::cpu, "dtype conversion runs on the CPU; got ", describe());
  return from(to_vector(), p_->shape, dtype, Device::cpu);
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape(), dtype(), device());
  t.copy_(*this);
  return t;
}

void Tensor::copy_(const Tensor& src) {
  check_defined("copy_()");
  CG_CHECK(src.defined() && src.shape() == shape() && src.dtype() == dtype(), "copy_: ",
           src.defined() ? src.describe() : "undefined", " into ", describe());
  device_copy(raw(), device(), src.raw(), src.device(), nbytes());
}

void Tensor::zero_() {
  check_defined("zero_()");
  device_memset_zero(raw(), device(), nbytes());
}

void Tensor::fill_(double value) {
  check_defined("fill_()");
  const int64_t n = numel();
  if (device() == Device::cpu) {
    switch (dtype()) {
      case DType::f32: cpu::fill(data<float>(), n, static_cast<float>(value)); return;
      case DType::f64: cpu::fill(data<double>(), n, value); return;
      case DType::i32: cpu::fill(data<int32_t>(), n, static_cast<int32_t>(value)); return;
      case DType::u8: cpu::fill(data<uint8_t>(), n, static_cast<uint8_t>(value)); return;
      case DType::bf16: {
        const bf16 v = common::float_to_bf16(static_cast<float>(value));
        for (int64_t i = 0; i < n; ++i) data<bf16>()[i] = v;
        return;
      }
    }
  }
  CG_CHECK(dtype() == DType::f32, "fill_ on cuda supports f32 only, got ", describe());
  on_cuda("fill_", *this, [&]<class>() { cuda::fill(data<float>(), n, static_cast<float>(value)); });
}

void Tensor::add_(const Tensor& src, double alpha) {
  check_defined("add_()");
  CG_CHECK(src.defined() && src.shape() == shape() && src.dtype() == dtype() &&
               src.device() == device(),
           "add_: cannot add ", src.defined() ? src.describe() : "undefined", " into ", describe());
  const int64_t n = numel();
  if (device() == Device::cpu) {
    if (dtype() == DType::f32) return cpu::axpy(data<float>(), src.data<float>(), n, static_cast<float>(alpha));
    if (dtype() == DType::f64) return cpu::axpy(data<double>(), src.data<double>(), n, alpha);
    CG_FAIL("add_: float tensors only, got ", describe());
  }
  CG_CHECK(dtype() == DType::f32, "add_ on cuda supports f32 only, got ", describe());
  on_cuda("add_", *this, [&]<class>() { cuda::axpy(data<float>(), src.data<float>(), n, static_cast<float>(alpha)); });
}

std::vector<double> Tensor::to_vector() const {
  Tensor h = to(Device::cpu);
  std::vector<double> out(static_cast<size_t>(numel()));
  for (size_t i = 0; i < out.size(); ++i) {
    switch (dtype()) {
      case DType::f32: out[i] = h.data<float>()[i]; break;
      case DType::f64: out[i] = h.data<double>()[i]; break;
      case DType::i32: out[i] = h.data<int32_t>()[i]; break;
      case DType::u8: out[i] = h.data<uint8_t>()[i]; break;
      case DType::bf16: out[i] = common::bf16_to_float(h.data<bf16>()[i]); break;
    }
  }
  return out;
}

double Tensor::item() const {
  CG_CHECK(numel() == 1, "item() needs a one-element tensor, got ", describe());
  return to_vector()[0];
}

std::string Tensor::describe() const {
  if (!p_) return "undefined tensor";
  std::string s = std::string(dtype_name(p_->dtype)) + " " + p_->shape.str() + " on " + device_name(p_->device);
  return p_->name.empty() ? s : "'" + p_->name + "' " + s;
}

void check_same_device(const char* op, std::initializer_list<const Tensor*> ts) {
  const Tensor* first = nullptr;
  for (const Tensor* t : ts) {
    if (!t || !t->defined()) continue;
    if (!first) { first = t; continue; }
    CG_CHECK(t->device() == first->device(), op, ": inputs on different devices: ", first->describe(),
             " and ", t->describe());
  }
}

void check_same_dtype(const char* op, std::initializer_list<const Tensor*> ts) {
  const Tensor* first = nullptr;
  for (const Tensor* t : ts) {
    if (!t || !t->defined()) continue;
    if (!first) { first = t; continue; }
    CG_CHECK(t->dtype() == first->dtype(), op, ": inputs of different dtypes: ", first->describe(),
             " and ", t->describe());
  }
}

void check_shape(const char* op, const char* what, const Tensor& t, const Shape& want) {
  CG_CHECK(t.defined(), op, ": ", what, " is undefined, expected shape ", want.str());
  CG_CHECK(t.shape() == want, op, ": ", what, " has shape ", t.shape().str(), ", expected ", want.str());
}

void check_ndim(const char* op, const char* what, const Tensor& t, int ndim) {
  CG_CHECK(t.defined(), op, ": ", what, " is undefined");
  CG_CHECK(t.ndim() == ndim, op, ": ", what, " must have ", ndim, " dimensions, got ", t.shape().str());
}

void check_float_dtype(const char* op, const Tensor& t) {
  CG_CHECK(t.dtype() == DType::f32 || t.dtype() == DType::f64, op, ": needs f32 or f64, got ", t.describe());
}

void check_float_or_bf16(const char* op, const Tensor& t) {
  CG_CHECK(t.dtype() == DType::f32 || t.dtype() == DType::f64 || (t.dtype() == DType::bf16 && t.is_cuda()), op,
           ": needs f32 or f64 (or bf16 on cuda), got ", t.describe());
}

}  // namespace cg
