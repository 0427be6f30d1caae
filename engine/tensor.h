// Tensor: a contiguous array of up to 4 dimensions (N,C,H,W) on a device.
// A Tensor is a cheap handle to shared state (storage, shape, gradient), so
// the tape and the layers that hold it see the same gradient buffer.
#pragma once
#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "base/check.h"
#include "engine/device.h"
#include "kernels/common/bf16.h"

namespace cg {

// f32 everywhere; f64 on the CPU for gradient checks; i32 for labels; u8 for pixels;
// bf16 for the activations of bf16 mixed precision (math on CUDA; made and read anywhere).
enum class DType : uint8_t { f32, f64, i32, u8, bf16 };
size_t dtype_size(DType t);
const char* dtype_name(DType t);

struct Shape {
  std::array<int64_t, 4> d{1, 1, 1, 1};
  int ndim = 0;

  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  static Shape of(const std::vector<int64_t>& dims);
  int64_t operator[](int i) const { return d.at(static_cast<size_t>(i)); }
  int64_t numel() const;
  std::string str() const;  // "(2,3,64,64)"
  bool operator==(const Shape& o) const;
  bool operator!=(const Shape& o) const { return !(*this == o); }
};

// Bytes on one device, returned to that device's allocator when the last user lets go.
struct Storage {
  void* ptr = nullptr;
  size_t bytes = 0;
  Device device = Device::cpu;
  Storage(size_t bytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};

class Tensor {
 public:
  Tensor() = default;  // undefined: a missing optional input (no bias), no gradient yet

  static Tensor empty(Shape shape, DType dtype = DType::f32, Device device = Device::cpu);
  static Tensor zeros(Shape shape, DType dtype = DType::f32, Device device = Device::cpu);
  static Tensor full(Shape shape, double value, DType dtype = DType::f32, Device device = Device::cpu);
  // Host values converted to dtype, then placed on device.
  static Tensor from(const std::vector<double>& values, Shape shape, DType dtype = DType::f32,
                     Device device = Device::cpu);
  static Tensor from_labels(const std::vector<int32_t>& labels, Device device = Device::cpu);

  bool defined() const { return p_ != nullptr; }
  const Shape& shape() const;
  int64_t dim(int i) const { return shape()[i]; }
  int ndim() const { return shape().ndim; }
  int64_t numel() const { return shape().numel(); }
  DType dtype() const;
  Device device() const;
  bool is_cuda() const { return device() == Device::cuda; }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype()); }

  void* raw();
  const void* raw() const;
  template <class T>
  T* data();
  template <class T>
  const T* data() const;

  // Autograd state. A parameter's gradient is a view into its model's flat gradient buffer.
  bool requires_grad() const;
  void set_requires_grad(bool on);
  Tensor grad() const;             // undefined until something accumulated into it
  Tensor& ensure_grad();           // zero-filled on first use
  void set_grad(const Tensor& g);  // bind to an existing buffer (the flat gradient)
  const std::string& name() const;
  void set_name(const std::string& n);

  // Same storage, new shape (same numel); no gradient link: use the reshape op for that.
  Tensor view(Shape shape) const;
  // Same storage, no gradient: a value to feed forward without backprop into its producer.
  Tensor detach() const;
  // A view of elements [offset, offset + shape.numel()) of this tensor's storage.
  Tensor slice_view(int64_t offset_elems, Shape shape) const;
  // A handle with a shape but no storage yet (a declared parameter).
  static Tensor unallocated(Shape shape, DType dtype = DType::f32);
  // Rebind this handle to a slice of s (a parameter store allocating its flat buffer).
  void bind_storage(std::shared_ptr<Storage> s, size_t offset_bytes, DType dtype);
  const std::shared_ptr<Storage>& storage() const;

  Tensor to(Device device) const;  // a copy (or *this when already there)
  Tensor to(DType dtype) const;    // a CPU copy converted between f32 and f64
  Tensor clone() const;
  void copy_(const Tensor& src);   // same shape and dtype, any devices
  void zero_();
  void fill_(double value);
  void add_(const Tensor& src, double alpha = 1.0);  // this += alpha * src, same device
  std::vector<double> to_vector() const;            // host copy as doubles
  double item() const;                              // the value of a one-element tensor

  std::string describe() const;  // "f32 (2,3,4,4) on cpu"
  bool same(const Tensor& o) const { return p_ == o.p_; }

 private:
  struct Impl;
  std::shared_ptr<Impl> p_;
  void check_defined(const char* what) const;
};

template <class T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() { return DType::f32; }
template <>
constexpr DType dtype_of<double>() { return DType::f64; }
template <>
constexpr DType dtype_of<int32_t>() { return DType::i32; }
template <>
constexpr DType dtype_of<uint8_t>() { return DType::u8; }
template <>
constexpr DType dtype_of<bf16>() { return DType::bf16; }

template <class T>
T* Tensor::data() {
  CG_CHECK(defined() && dtype() == dtype_of<T>(), "data<", dtype_name(dtype_of<T>()), ">() on ",
           defined() ? describe() : std::string("an undefined tensor"));
  return static_cast<T*>(raw());
}
template <class T>
const T* Tensor::data() const {
  CG_CHECK(defined() && dtype() == dtype_of<T>(), "data<", dtype_name(dtype_of<T>()), ">() on ",
           defined() ? describe() : std::string("an undefined tensor"));
  return static_cast<const T*>(raw());
}

// Precondition helpers for ops: each error names the op and the shapes involved.
void check_same_device(const char* op, std::initializer_list<const Tensor*> ts);
void check_same_dtype(const char* op, std::initializer_list<const Tensor*> ts);
void check_shape(const char* op, const char* what, const Tensor& t, const Shape& want);
void check_ndim(const char* op, const char* what, const Tensor& t, int ndim);
// f64 exists only on the CPU; i32/u8 are not float math types.
void check_float_dtype(const char* op, const Tensor& t);
// As check_float_dtype, and bf16 on CUDA too (the ops with a bf16 kernel).
void check_float_or_bf16(const char* op, const Tensor& t);

}  // namespace cg
