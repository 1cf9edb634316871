// Helpers shared by the binding files (bindings*.cpp), the only files that include pybind11.
// Arrays cross the boundary through the buffer protocol without copies when they are float32 or
// float64 and C-contiguous (GEMM operands may also be transposed views); other layouts are copied
// once. Anything a native kernel does not cover raises deeplite._C.Unsupported, on which
// cpu_backend runs the NumPy reference instead.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <utility>
#include <vector>

#include "dl_math.h"
#include "kernels.h"

namespace deeplite::cpu::bind {

namespace py = pybind11;

// Raised (as deeplite._C.Unsupported) for inputs the native kernels leave to the reference.
struct Unsupported : std::exception {
  const char* what() const noexcept override { return "not covered by the native kernel"; }
};

template <typename T>
using Array = py::array_t<T, py::array::c_style | py::array::forcecast>;
using Shape = std::vector<py::ssize_t>;

// Calls f(T{}) with T the float type of array h; Unsupported for any other dtype or object.
template <typename F>
py::object Dispatch(py::handle h, F&& f) {
  if (py::isinstance<py::array_t<float>>(h)) return f(float{});
  if (py::isinstance<py::array_t<double>>(h)) return f(double{});
  throw Unsupported();
}

// h as a C-contiguous array of T: the same buffer when it already is one, else one copy.
template <typename T>
Array<T> Contiguous(py::handle h) {
  if (!py::isinstance<py::array_t<T>>(h)) throw Unsupported();
  return Array<T>::ensure(h);
}

inline Shape ShapeOf(const py::array& a) { return Shape(a.shape(), a.shape() + a.ndim()); }

// The names of dl_math.h's codes, indexed by code, in the order of contract.ACTIVATIONS and
// contract.REDUCTIONS; exported as _C.ACTIVATIONS and _C.REDUCTIONS, which a test compares.
// names[code] = name for each (code, name) pair: one enum's names, indexed by code.
inline std::vector<std::string> NamesByCode(
    std::initializer_list<std::pair<int, const char*>> pairs) {
  std::vector<std::string> names(pairs.size());
  for (const auto& [code, name] : pairs) names.at(code) = name;
  return names;
}
inline const std::vector<std::string>& ActivationNames() {
  static const std::vector<std::string> names = NamesByCode(
      {{dlmath::kIdentity, "identity"}, {dlmath::kRelu, "relu"}, {dlmath::kLeakyRelu, "leaky_relu"},
       {dlmath::kSigmoid, "sigmoid"}, {dlmath::kTanh, "tanh"}, {dlmath::kSoftplus, "softplus"}});
  return names;
}
inline const std::vector<std::string>& ReductionNames() {
  static const std::vector<std::string> names =
      NamesByCode({{dlmath::kNone, "none"}, {dlmath::kMean, "mean"}, {dlmath::kSum, "sum"}});
  return names;
}

inline int Code(const std::string& name, const std::vector<std::string>& names) {
  for (std::size_t code = 0; code < names.size(); ++code) {
    if (names[code] == name) return static_cast<int>(code);
  }
  throw Unsupported();  // the reference raises the proper ValueError
}

inline int ActCode(const std::string& name) { return Code(name, ActivationNames()); }
inline int ReductionCode(const std::string& name) { return Code(name, ReductionNames()); }

}  // namespace deeplite::cpu::bind
