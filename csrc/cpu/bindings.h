// Helpers shared by the binding files (bindings*.cpp), the only files that include pybind11.
// Arrays cross the boundary through the buffer protocol without copies when they are float32 or
// float64 and C-contiguous (GEMM operands may also be transposed views); other layouts are copied
// once. Anything a native kernel does not cover raises deeplite._C.Unsupported, on which
// cpu_backend runs the NumPy reference instead.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

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

inline int Code(const std::string& name, std::initializer_list<const char*> names) {
  int code = 0;
  for (const char* candidate : names) {
    if (name == candidate) return code;
    ++code;
  }
  throw Unsupported();  // the reference raises the proper ValueError
}

// Codes as in dl_math.h and contract.ACTIVATIONS / contract.REDUCTIONS.
inline int ActCode(const std::string& name) {
  return Code(name, {"identity", "relu", "leaky_relu", "sigmoid", "tanh", "softplus"});
}
inline int ReductionCode(const std::string& name) { return Code(name, {"none", "mean", "sum"}); }

}  // namespace deeplite::cpu::bind
