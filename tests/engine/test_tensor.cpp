// Tensor: shapes, construction, views that share storage, copies and conversions,
// and the errors: each names the op and the shapes; mixed devices and f64 on cuda
// are refused.
#include <memory>

#include "engine/tensor.h"
#include "layers/linear.h"
#include "support/check.h"

using namespace cg;

TEST_CASE("shapes: dimensions, numel, printing, equality, limits") {
  Shape s{2, 3, 4, 5};
  CHECK(s.ndim == 4);
  CHECK(s.numel() == 120);
  CHECK(s.str() == "(2,3,4,5)");
  CHECK(s[2] == 4);
  CHECK(Shape{}.numel() == 1);
  CHECK(Shape{}.str() == "()");
  CHECK(Shape{3, 0}.numel() == 0);
  CHECK(Shape{2, 3} == Shape::of({2, 3}));
  CHECK(Shape{2, 3} != Shape{3, 2});
  CHECK(Shape{6} != Shape{6, 1});
  CHECK_THROWS_WITH_AS((Shape{1, 2, 3, 4, 5}), doctest::Contains("at most 4 dimensions, got 5"), cg::Error);
  CHECK_THROWS_WITH_AS(Shape::of({2, -1}), doctest::Contains("negative dimension -1"), cg::Error);
  CHECK_THROWS_AS(s[4], std::out_of_range);
}

TEST_CASE("construction: empty, zeros, full, from, labels, describe") {
  Tensor z = Tensor::zeros(Shape{2, 3});
  CHECK(z.defined());
  CHECK(z.dtype() == DType::f32);
  CHECK(z.device() == Device::cpu);
  CHECK(z.nbytes() == 24);
  CHECK(z.to_vector() == std::vector<double>(6, 0.0));
  CHECK(Tensor::full(Shape{3}, 2.5, DType::f64).to_vector() == std::vector<double>{2.5, 2.5, 2.5});
  CHECK(Tensor::full(Shape{2}, 7, DType::u8).to_vector() == std::vector<double>{7, 7});
  Tensor f = Tensor::from({1, 2, 3, 4}, Shape{2, 2}, DType::i32);
  CHECK(f.data<int32_t>()[3] == 4);
  CHECK(Tensor::from_labels({4, 0, 2}).to_vector() == std::vector<double>{4, 0, 2});
  CHECK(f.describe() == "i32 (2,2) on cpu");
  f.set_name("labels");
  CHECK(f.describe() == "'labels' i32 (2,2) on cpu");
  CHECK(Tensor().describe() == "undefined tensor");
  CHECK(Tensor::from({5}, Shape{1}).item() == 5.0);
  CHECK_THROWS_WITH_AS(Tensor::from({1, 2, 3}, Shape{2, 2}), doctest::Contains("3 values for shape (2,2)"), cg::Error);
  CHECK_THROWS_WITH_AS(z.item(), doctest::Contains("item() needs a one-element tensor, got f32 (2,3) on cpu"),
                       cg::Error);
  CHECK_THROWS_WITH_AS(z.data<double>(), doctest::Contains("data<f64>() on f32 (2,3) on cpu"), cg::Error);
  CHECK_THROWS_WITH_AS(Tensor().shape(), doctest::Contains("shape() on an undefined tensor"), cg::Error);
}

TEST_CASE("views share storage, and view, slice_view and detach drop the gradient link") {
  Tensor t = Tensor::from({0, 1, 2, 3, 4, 5}, Shape{2, 3});
  t.set_requires_grad(true);
  Tensor v = t.view(Shape{3, 2});
  CHECK(v.shape() == Shape{3, 2});
  CHECK_FALSE(v.requires_grad());
  v.data<float>()[5] = 50.f;
  CHECK(t.data<float>()[5] == 50.f);
  Tensor s = t.slice_view(2, Shape{2, 2});
  CHECK(s.to_vector() == std::vector<double>{2, 3, 4, 50});
  Tensor ss = s.slice_view(1, Shape{2});  // slices compose
  CHECK(ss.to_vector() == std::vector<double>{3, 4});
  Tensor d = t.detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.raw() == t.raw());
  CHECK_THROWS_WITH_AS(t.view(Shape{4}), doctest::Contains("view: cannot view f32 (2,3) on cpu as (4)"), cg::Error);
  CHECK_THROWS_WITH_AS(t.slice_view(4, Shape{3}), doctest::Contains("slice_view: [4, +3) out of range"), cg::Error);
}

TEST_CASE("copies and conversions") {
  Tensor a = Tensor::from({1.25, -2, 3}, Shape{3});
  Tensor c = a.clone();
  c.data<float>()[0] = 9.f;
  CHECK(a.data<float>()[0] == 1.25f);
  CHECK(a.to(Device::cpu).same(a));  // already there: the same handle
  Tensor d = a.to(DType::f64);
  CHECK(d.dtype() == DType::f64);
  CHECK(d.to_vector() == a.to_vector());
  Tensor e = Tensor::zeros(Shape{3});
  e.copy_(a);
  CHECK(e.to_vector() == a.to_vector());
  e.add_(a, 2.0);
  CHECK(e.to_vector() == std::vector<double>{3.75, -6, 9});
  e.fill_(0.5);
  CHECK(e.to_vector() == std::vector<double>{0.5, 0.5, 0.5});
  e.zero_();
  CHECK(e.to_vector() == std::vector<double>{0, 0, 0});
  CHECK_THROWS_WITH_AS(e.copy_(d), doctest::Contains("copy_: f64 (3) on cpu into f32 (3) on cpu"), cg::Error);
  CHECK_THROWS_WITH_AS(e.add_(Tensor::zeros(Shape{4})), doctest::Contains("add_: cannot add f32 (4) on cpu into f32 (3)"),
                       cg::Error);
  Tensor i = Tensor::zeros(Shape{2}, DType::i32);
  CHECK_THROWS_WITH_AS(i.add_(i), doctest::Contains("add_: float tensors only"), cg::Error);
}

TEST_CASE("op errors name the op and the shapes") {
  Tensor x = Tensor::zeros(Shape{2, 3});
  CHECK_THROWS_WITH_AS(check_shape("conv2d", "bias", x, Shape{3}),
                       doctest::Contains("conv2d: bias has shape (2,3), expected (3)"), cg::Error);
  CHECK_THROWS_WITH_AS(check_ndim("conv2d", "input", x, 4),
                       doctest::Contains("conv2d: input must have 4 dimensions, got (2,3)"), cg::Error);
  const Tensor y = Tensor::zeros(Shape{2}, DType::f64);
  CHECK_THROWS_WITH_AS(check_same_dtype("linear", {&x, &y}),
                       doctest::Contains("linear: inputs of different dtypes: f32 (2,3) on cpu and f64 (2) on cpu"),
                       cg::Error);
  CHECK_THROWS_WITH_AS(check_float_dtype("tanh", Tensor::zeros(Shape{2}, DType::u8)),
                       doctest::Contains("tanh: needs f32 or f64, got u8 (2) on cpu"), cg::Error);
  CHECK_THROWS_WITH_AS(linear(nullptr, x, Tensor::zeros(Shape{4, 5}), Tensor()),
                       doctest::Contains("linear: input (2,3) does not match weight (4,5)"), cg::Error);
}

TEST_CASE("mixed devices are an error naming both tensors") {
  // A zero-element cuda tensor needs no GPU memory, so this runs on any machine.
  Tensor w = Tensor::unallocated(Shape{0, 3});
  w.bind_storage(std::make_shared<Storage>(0, Device::cuda), 0, DType::f32);
  CHECK(w.device() == Device::cuda);
  Tensor x = Tensor::zeros(Shape{2, 3});
  CHECK_THROWS_WITH_AS(linear(nullptr, x, w, Tensor()),
                       doctest::Contains("linear: inputs on different devices: f32 (2,3) on cpu and f32 (0,3) on cuda"),
                       cg::Error);
}

TEST_CASE("f64 on cuda is refused, and cuda without a GPU says so") {
  CHECK_THROWS_WITH_AS(Tensor::empty(Shape{2, 2}, DType::f64, Device::cuda),
                       doctest::Contains("f64 tensors live on the CPU only (asked for f64 (2,2) on cuda)"), cg::Error);
  if (!cuda_available()) {
    CHECK_THROWS_AS(Tensor::zeros(Shape{2}, DType::f32, Device::cuda), cg::Error);
    CHECK_THROWS_AS(resolve_device("cuda", false), cg::Error);
    CHECK(resolve_device("auto", false) == Device::cpu);
  }
  CHECK(resolve_device("cpu") == Device::cpu);
  CHECK_THROWS_WITH_AS(resolve_device("tpu"), doctest::Contains("unknown device 'tpu'"), cg::Error);
}
