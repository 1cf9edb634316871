// The Python module deeplite._C: activations, GEMM, binary ops and reductions (the fused losses
// and optimizer steps are bound in bindings_train.cpp). The GIL is released around every kernel.
#include <algorithm>
#include <cstdint>

#include "bindings.h"

namespace py = pybind11;
using namespace deeplite::cpu;
using namespace deeplite::cpu::bind;
using namespace pybind11::literals;

namespace {

// ---- activations ----

py::object ActForwardPy(py::handle x, int act, double slope) {
  return Dispatch(x, [&](auto tag) -> py::object {
    using T = decltype(tag);
    Array<T> in = Contiguous<T>(x);
    py::array_t<T> out(ShapeOf(in));
    py::gil_scoped_release release;
    ActForward<T>(in.data(), out.mutable_data(), in.size(), act, T(slope));
    return out;
  });
}

py::object ActGradPy(py::handle y, py::handle gy, const std::string& act, double slope) {
  const int code = ActCode(act);
  return Dispatch(y, [&](auto tag) -> py::object {
    using T = decltype(tag);
    Array<T> out_y = Contiguous<T>(y), grad = Contiguous<T>(gy);
    if (ShapeOf(out_y) != ShapeOf(grad)) throw Unsupported();
    py::array_t<T> out(ShapeOf(grad));
    py::gil_scoped_release release;
    ActGrad<T>(out_y.data(), grad.data(), out.mutable_data(), out.size(), code, T(slope));
    return out;
  });
}

// ---- GEMM and the fused linear layer ----

// a as a BLAS operand when its strides allow (row-major or a transposed view), else a copy.
template <typename T>
Matrix<T> AsMatrix(py::handle h, std::vector<py::object>& keep) {
  auto a = py::reinterpret_borrow<py::array>(h);
  const Index rows = a.shape(0), cols = a.shape(1);
  const Index s0 = a.strides(0) / Index(sizeof(T)), s1 = a.strides(1) / Index(sizeof(T));
  const bool whole = a.strides(0) % Index(sizeof(T)) == 0 && a.strides(1) % Index(sizeof(T)) == 0;
  if (whole && (s1 == 1 || cols == 1) && (rows == 1 || s0 >= cols)) {
    return {static_cast<const T*>(a.data()), rows, cols, rows == 1 ? cols : s0, false};
  }
  if (whole && (s0 == 1 || rows == 1) && (cols == 1 || s1 >= rows)) {
    return {static_cast<const T*>(a.data()), rows, cols, cols == 1 ? rows : s1, true};
  }
  Array<T> copy = Array<T>::ensure(h);
  keep.push_back(copy);
  return {copy.data(), rows, cols, cols, false};
}

py::object LinearActPy(py::handle x, py::handle w, py::handle b, const std::string& act,
                       double slope) {
  const int code = ActCode(act);
  return Dispatch(x, [&](auto tag) -> py::object {
    using T = decltype(tag);
    if (!py::isinstance<py::array_t<T>>(w)) throw Unsupported();
    auto xa = py::reinterpret_borrow<py::array>(x), wa = py::reinterpret_borrow<py::array>(w);
    // 2-D, aligned and non-empty only: NumPy handles batches, errors and empty products.
    if (xa.ndim() != 2 || wa.ndim() != 2 || xa.shape(1) != wa.shape(0) || xa.size() == 0 ||
        wa.size() == 0) {
      throw Unsupported();
    }
    const Index n = wa.shape(1);
    const T* bias = nullptr;
    Array<T> bias_array;
    if (!b.is_none()) {
      bias_array = Contiguous<T>(b);
      if (bias_array.ndim() != 1 || bias_array.shape(0) != n) throw Unsupported();
      bias = bias_array.data();
    }
    std::vector<py::object> keep;
    const Matrix<T> a = AsMatrix<T>(x, keep), bm = AsMatrix<T>(w, keep);
    py::array_t<T> out(Shape{xa.shape(0), n});
    py::gil_scoped_release release;
    LinearAct<T>(a, bm, bias, code, T(slope), out.mutable_data());
    return out;
  });
}

// (gx, gw, gb) of y = act(x @ w + b); None where not needed.
py::object LinearActGradPy(py::handle x, py::handle w, py::handle y, py::handle gy,
                           const std::string& act, double slope, bool need_x, bool need_w,
                           bool need_b) {
  const int code = ActCode(act);
  return Dispatch(gy, [&](auto tag) -> py::object {
    using T = decltype(tag);
    Array<T> grad = Contiguous<T>(gy);
    Array<T> out_y = code != dlmath::kIdentity ? Contiguous<T>(y) : grad;
    if (!py::isinstance<py::array_t<T>>(x) || !py::isinstance<py::array_t<T>>(w)) throw Unsupported();
    auto xa = py::reinterpret_borrow<py::array>(x), wa = py::reinterpret_borrow<py::array>(w);
    if (xa.ndim() != 2 || wa.ndim() != 2 || grad.ndim() != 2 || xa.shape(1) != wa.shape(0) ||
        grad.shape(0) != xa.shape(0) || grad.shape(1) != wa.shape(1) ||
        ShapeOf(out_y) != ShapeOf(grad) || xa.size() == 0 || wa.size() == 0) {
      throw Unsupported();
    }
    std::vector<py::object> keep;
    const Matrix<T> xm = AsMatrix<T>(x, keep), wm = AsMatrix<T>(w, keep);
    auto make = [](bool need, Shape shape) -> py::object {
      return need ? py::object(py::array_t<T>(shape)) : py::object(py::none());
    };
    py::object gx = make(need_x, ShapeOf(xa)), gw = make(need_w, ShapeOf(wa));
    py::object gb = make(need_b, Shape{wa.shape(1)});
    py::array_t<T> pre(code != dlmath::kIdentity ? ShapeOf(grad) : Shape{0});
    auto data = [](const py::object& a) {
      return a.is_none() ? nullptr : static_cast<T*>(py::reinterpret_borrow<py::array>(a).mutable_data());
    };
    T *gx_data = data(gx), *gw_data = data(gw), *gb_data = data(gb);
    {
      py::gil_scoped_release release;
      LinearActGrad<T>(xm, wm, out_y.data(), grad.data(), code, T(slope), pre.mutable_data(),
                       gx_data, gw_data, gb_data);
    }
    return py::make_tuple(gx, gw, gb);
  });
}

// ---- broadcasting binary ops ----

py::object BinaryPy(int op, py::handle a, py::handle b) {
  return Dispatch(a, [&](auto tag) -> py::object {
    using T = decltype(tag);
    auto aa = py::reinterpret_borrow<py::array>(a), ba = py::reinterpret_borrow<py::array>(b);
    if (!py::isinstance<py::array_t<T>>(b)) throw Unsupported();
    // The operand of higher rank (or size) sets the shape; the other must match its trailing shape.
    const bool a_full = aa.ndim() > ba.ndim() || (aa.ndim() == ba.ndim() && aa.size() >= ba.size());
    const py::array& full = a_full ? aa : ba;
    const py::array& small = a_full ? ba : aa;
    Shape full_shape = ShapeOf(full), small_shape = ShapeOf(small);
    small_shape.erase(small_shape.begin(),
                      std::find_if(small_shape.begin(), small_shape.end(), [](auto d) { return d != 1; }));
    if (!std::equal(small_shape.rbegin(), small_shape.rend(), full_shape.rbegin()) ||
        small_shape.size() > full_shape.size() || small.size() == 0 ||
        !(full.flags() & py::array::c_style) || !(small.flags() & py::array::c_style)) {
      throw Unsupported();
    }
    py::array_t<T> out(full_shape);
    const T* full_data = static_cast<const T*>(full.data());
    const T* small_data = static_cast<const T*>(small.data());
    py::gil_scoped_release release;
    Binary<T>(op, full_data, small_data, out.mutable_data(), out.size(), small.size(), !a_full);
    return out;
  });
}

// ---- reductions and softmax ----

py::object ReducePy(py::handle a, int axis, bool keepdims, bool is_max) {
  return Dispatch(a, [&](auto tag) -> py::object {
    using T = decltype(tag);
    Array<T> in = Contiguous<T>(a);
    const int ndim = static_cast<int>(in.ndim());
    if (axis < 0) axis += ndim;
    if (axis < 0 || axis >= ndim || in.size() == 0) throw Unsupported();
    Shape shape = ShapeOf(in);
    const Index length = shape[axis], inner = in.strides(axis) / Index(sizeof(T));
    const Index outer = in.size() / (length * inner);
    if (keepdims) {
      shape[axis] = 1;
    } else {
      shape.erase(shape.begin() + axis);
    }
    py::array_t<T> out(shape);
    py::gil_scoped_release release;
    (is_max ? MaxAxis<T> : SumAxis<T>)(in.data(), out.mutable_data(), outer, length, inner);
    return out;
  });
}

py::object SoftmaxPy(py::handle x, int axis, bool log) {
  return Dispatch(x, [&](auto tag) -> py::object {
    using T = decltype(tag);
    Array<T> in = Contiguous<T>(x);
    const int ndim = static_cast<int>(in.ndim());
    if (ndim == 0 || (axis != -1 && axis != ndim - 1) || in.size() == 0) throw Unsupported();
    py::array_t<T> out(ShapeOf(in));
    const Index cols = in.shape(ndim - 1);
    py::gil_scoped_release release;
    SoftmaxRows<T>(in.data(), out.mutable_data(), in.size() / cols, cols, log);
    return out;
  });
}

}  // namespace

namespace deeplite::cpu::bind {
void BindTraining(py::module_& m);  // bindings_train.cpp
void BindPlan(py::module_& m);      // bindings_plan.cpp: deeplite.jit's captured steps
void BindRandom(py::module_& m);    // bindings_random.cpp: Philox and dropout masks
}  // namespace deeplite::cpu::bind

PYBIND11_MODULE(_C, m) {
  m.doc() = "deeplite's C++ CPU kernels (see deeplite.backends.cpu_backend)";
  py::register_exception<Unsupported>(m, "Unsupported", PyExc_TypeError);
  m.def("set_num_threads", &SetNumThreads, "Threads used by every kernel from now on.");
  m.def("num_threads", &NumThreads, "Threads used by every kernel.");
  m.def("set_sgemm", [](std::uintptr_t address, Index min_macs) {
    SetSgemm(reinterpret_cast<ExternalSgemm>(address), min_macs);
  }, "address"_a, "min_macs"_a = kExternalSgemmMinMacs,
        "Float GEMMs of at least min_macs multiply-adds call the dnnl_sgemm-like function at "
        "this address (0: OpenBLAS for all).");
  m.attr("SGEMM_MIN_MACS") = kExternalSgemmMinMacs;
  m.def("has_external_sgemm", &HasExternalSgemm, "Whether set_sgemm set a float GEMM.");
  m.def("set_small_gemm", &SetSmallGemm, "min_macs"_a = kSmallGemmMinMacs,
        "max_macs"_a = kSmallGemmMaxMacs,
        "Float GEMMs of min_macs (a transposed B: SMALL_GEMM_TRANSPOSED_MIN_MACS if smaller) "
        "to max_macs multiply-adds, 8 columns or more, that oneDNN does not serve run "
        "deeplite's AVX-512 kernel where the CPU has it (max_macs 0: none; for benchmarks).");
  m.attr("SMALL_GEMM_TRANSPOSED_MIN_MACS") = kSmallGemmTransposedMinMacs;
  m.attr("SMALL_GEMM_MIN_MACS") = kSmallGemmMinMacs;
  m.attr("SMALL_GEMM_MAX_MACS") = kSmallGemmMaxMacs;
  m.def("small_gemm_available", &SmallGemmAvailable,
        "Whether deeplite's AVX-512 kernel runs on this CPU (it has AVX-512).");
  m.def("small_gemm_serves", &SmallGemmServes, "m"_a, "n"_a, "k"_a, "b_trans"_a = false,
        "Whether deeplite's own kernel serves this float GEMM here.");
  // Argument names as in deeplite/backends/contract.py, so keyword calls work too.
  m.attr("ACTIVATIONS") = py::tuple(py::cast(ActivationNames()));
  m.attr("REDUCTIONS") = py::tuple(py::cast(ReductionNames()));
  m.def("sigmoid", [](py::handle x) { return ActForwardPy(x, dlmath::kSigmoid, 0); }, "x"_a);
  m.def("relu", [](py::handle x) { return ActForwardPy(x, dlmath::kRelu, 0); }, "x"_a);
  m.def("leaky_relu", [](py::handle x, double slope) {
    return ActForwardPy(x, dlmath::kLeakyRelu, slope);
  }, "x"_a, "slope"_a);
  m.def("softplus", [](py::handle x) { return ActForwardPy(x, dlmath::kSoftplus, 0); }, "x"_a);
  m.def("tanh", [](py::handle x) { return ActForwardPy(x, dlmath::kTanh, 0); }, "x"_a);
  m.def("act_grad", &ActGradPy, "y"_a, "gy"_a, "act"_a, "slope"_a);
  m.def("linear_act", &LinearActPy, "x"_a, "w"_a, "b"_a.none(true), "act"_a, "slope"_a);
  m.def("linear_act_grad", &LinearActGradPy, "x"_a, "w"_a, "y"_a.none(true), "gy"_a, "act"_a,
        "slope"_a, "need_x"_a, "need_w"_a, "need_b"_a);
  m.def("matmul", [](py::handle a, py::handle b) {
    return LinearActPy(a, b, py::none(), "identity", 0);
  }, "a"_a, "b"_a);
  m.def("binary", &BinaryPy, "op"_a, "a"_a, "b"_a);
  m.def("divide_by_shared", [](py::handle x, double d) {
    return Dispatch(x, [&](auto tag) -> py::object {
      using T = decltype(tag);
      Array<T> in = Contiguous<T>(x);
      py::array_t<T> out(ShapeOf(in));
      py::gil_scoped_release release;
      DivideByShared<T>(in.data(), out.mutable_data(), in.size(), T(d));
      return out;
    });
  }, "x"_a, "d"_a, "x / d (x >= 0) as adam_step divides by its bias correction; for tests.");
  m.def("sum", [](py::handle a, int axis, bool keepdims) { return ReducePy(a, axis, keepdims, false); },
        "a"_a, "axis"_a, "keepdims"_a);
  m.def("max", [](py::handle a, int axis, bool keepdims) { return ReducePy(a, axis, keepdims, true); },
        "a"_a, "axis"_a, "keepdims"_a);
  m.def("softmax", [](py::handle x, int axis) { return SoftmaxPy(x, axis, false); }, "x"_a, "axis"_a);
  m.def("log_softmax", [](py::handle x, int axis) { return SoftmaxPy(x, axis, true); }, "x"_a,
        "axis"_a);
  BindTraining(m);
  BindPlan(m);
  BindRandom(m);
}
