// The builder behind deeplite._C.Plan (bindings_plan.cpp, bindings_plan_optim.cpp): a captured
// training step built op by op from the buffers of a trace. Each adder checks its buffers the way
// the eager binding does and raises Unsupported for anything it does not cover (deeplite.jit then
// keeps that kernel in Python); every op calls the same C++ kernel with the same arguments as the
// eager binding, so a replay gives the eager step's results bit for bit.
#pragma once

#include <pybind11/stl.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "bindings.h"
#include "plan.h"

namespace deeplite::cpu::bind {


// The buffer h as a C-contiguous array of T (no copy: a plan never copies), else Unsupported.
template <typename T>
inline T* Buffer(py::handle h, bool writeable = false) {
  if (!py::isinstance<py::array_t<T>>(h)) throw Unsupported();
  auto a = py::reinterpret_borrow<py::array>(h);
  if (!(a.flags() & py::array::c_style) || (writeable && !a.writeable())) throw Unsupported();
  return static_cast<T*>(const_cast<void*>(a.data()));
}

inline Shape ShapeOfHandle(py::handle h) { return ShapeOf(py::reinterpret_borrow<py::array>(h)); }

// A GEMM operand read in place: row-major or a transposed view, as the eager binding's AsMatrix.
template <typename T>
inline Matrix<T> Operand(py::handle h) {
  if (!py::isinstance<py::array_t<T>>(h)) throw Unsupported();
  auto a = py::reinterpret_borrow<py::array>(h);
  if (a.ndim() != 2) throw Unsupported();
  const Index rows = a.shape(0), cols = a.shape(1);
  const Index s0 = a.strides(0) / Index(sizeof(T)), s1 = a.strides(1) / Index(sizeof(T));
  const bool whole = a.strides(0) % Index(sizeof(T)) == 0 && a.strides(1) % Index(sizeof(T)) == 0;
  const T* data = static_cast<const T*>(a.data());
  if (whole && (s1 == 1 || cols == 1) && (rows == 1 || s0 >= cols)) {
    return {data, rows, cols, rows == 1 ? cols : s0, false};
  }
  if (whole && (s0 == 1 || rows == 1) && (cols == 1 || s1 >= rows)) {
    return {data, rows, cols, cols == 1 ? rows : s1, true};
  }
  throw Unsupported();  // eager copies such an operand; the plan leaves it to Python
}

// Calls f(T{}) with T the float type of h (float32 or float64), else Unsupported.
template <typename F>
inline void ForFloat(py::handle h, F&& f) {
  Dispatch(h, [&](auto tag) -> py::object {
    f(tag);
    return py::none();
  });
}

// The Python object deeplite._C.Plan.
class PyPlan {
 public:
  // `scalars`: the float64 block the caller refreshes before each run (learning rates, steps).
  explicit PyPlan(py::array_t<double, py::array::c_style> scalars)
      : scalars_(scalars), block_(scalars.mutable_data()) {}

  void LinearAct(py::handle x, py::handle w, py::handle b, const std::string& act, double slope,
                 py::handle out);

  void LinearActGrad(py::handle x, py::handle w, py::handle y, py::handle gy,
                     const std::string& act, double slope, py::handle gx, py::handle gw,
                     py::handle gb);

  void Act(py::handle x, int code, double slope, py::handle out);

  void ActGradient(py::handle y, py::handle gy, const std::string& act, double slope,
                   py::handle out);

  void SigmoidBce(py::handle z, py::handle y, const std::string& reduction, py::handle loss,
                  py::handle dz);

  void SoftmaxCe(py::handle z, py::handle labels, const std::string& reduction, py::handle loss,
                 py::handle dz);

  void CheckLabels(py::handle labels, Index classes);

  // out = a op b where one operand's shape is a trailing part of the other's (or a 0-d array).
  void BinaryOp(int op, py::handle a, py::handle b, py::handle out);

  // out (bool) = a op b, op a comparison code (eq ... ge), a and b of one dtype.
  void CompareOp(int op, py::handle a, py::handle b, py::handle out);

  // out (int64, rows) = np.argmax(x, axis=1) of a 2-D float x.
  void Argmax(py::handle x, int axis, py::handle out);

  // out (a 0-d int64 array) = the number of True in the bool array a.
  void CountNonzero(py::handle a, py::handle out);

  void Fill(py::handle out, double value);

  void Copy(py::handle src, py::handle dst);

  // Optimizer steps: hyperparameters fixed at trace time, the learning rate (and step counts)
  // read from the scalar block at scalars[lr_slot] (and scalars[step_slots[i]]).
  void SgdStep(py::sequence params, py::sequence grads, py::object bufs, bool first, int lr_slot,
               double momentum, double dampening, double weight_decay, bool nesterov,
               bool maximize);

  void AdamStep(py::sequence params, py::sequence grads, py::sequence exp_avgs,
                py::sequence exp_avg_sqs, py::object max_exp_avg_sqs, std::vector<int> step_slots,
                int lr_slot, double beta1, double beta2, double eps, double weight_decay,
                bool decoupled, bool amsgrad, bool maximize);

  void RmspropStep(py::sequence params, py::sequence grads, py::sequence square_avgs,
                   py::object grad_avgs, py::object bufs, int lr_slot, double alpha, double eps,
                   double weight_decay, double momentum, bool centered, bool maximize);

  void AdagradStep(py::sequence params, py::sequence grads, py::sequence state_sums,
                   std::vector<int> step_slots, int lr_slot, double lr_decay,
                   double weight_decay, double eps, bool maximize);

  // out = a dropout mask (random.cpp's DropoutMask) whose key and counter words are read from
  // the scalar block at run time: key_slots = (seed low, seed high), counter_slots = (first
  // block low, high), each word an integer below 2^32 (exact in a double). bindings_random.cpp.
  void DropoutMask(py::handle out, double p, std::vector<int> key_slots,
                   std::vector<int> counter_slots);

  // The step's input buffers: run(sources) copies each source into them first.
  void BindInputs(py::sequence buffers);

  // Copies `sources` (None: nothing) into the bound inputs, then runs every op without the GIL.
  // A source of another dtype, shape or layout raises Unsupported before anything runs.
  void Run(py::object sources);

  std::size_t Size() const { return plan_.Size(); }

 private:
  void Keep(std::initializer_list<py::handle> handles) {
    for (py::handle h : handles) keep_.push_back(py::reinterpret_borrow<py::object>(h));
  }

  void CheckSlot(int slot) const {
    if (slot < 0 || slot >= scalars_.size()) {
      throw py::index_error("Plan: scalar slot out of range");
    }
  }

  // Number of elements of a, which must have b's shape.
  static Index SameShape(py::handle a, py::handle b) {
    if (ShapeOfHandle(a) != ShapeOfHandle(b)) throw Unsupported();
    return py::reinterpret_borrow<py::array>(a).size();
  }

  // The operands of a broadcasting op, the one of `out`'s shape first: the other (`small`) has
  // a trailing part of that shape (or is 0-d) and repeats every `period` elements.
  struct Pair {
    const void* full;
    const void* small;
    Index n, period;
    bool small_first;
  };
  static Pair Operands(py::handle a, py::handle b, py::handle out, const void* a_data,
                       const void* b_data);

  // An op from one buffer into another of its shape and dtype: kernel(in, out, n).
  template <typename Kernel>
  void Elementwise(py::handle src, py::handle dst, Kernel kernel) {
    ForFloat(dst, [&](auto tag) {
      using T = decltype(tag);
      const T* in = Buffer<T>(src);
      T* out = Buffer<T>(dst, true);
      const Index n = SameShape(src, dst);
      Keep({src, dst});
      plan_.Add([=](const double*) { kernel(in, out, n); });
    });
  }

  // Parameter i and its gradient: the buffers an optimizer op updates and reads.
  template <typename T>
  struct Update {
    T* p;
    const T* g;
    Index n;
  };
  template <typename T>
  static Update<T> ParamAndGrad(py::sequence params, py::sequence grads, std::size_t i) {
    return {Buffer<T>(params[i], true), Buffer<T>(grads[i]), SameShape(params[i], grads[i])};
  }

  // Optimizer state i of `param` (null when the list is None), checked like the parameter.
  template <typename T>
  T* State(py::handle list, std::size_t i, py::handle param) {
    if (list.is_none()) return nullptr;
    py::handle item = list[py::int_(i)];
    SameShape(item, param);
    Keep({item});
    return Buffer<T>(item, true);
  }

  // Validates every parameter first (an Unsupported one leaves the plan unchanged), then adds
  // one op per parameter.
  template <typename Make>
  void ForEachParam(py::sequence params, Make&& make) {
    std::vector<Plan::Op> ops;
    const std::size_t count = py::len(params);
    for (std::size_t i = 0; i < count; ++i) {
      ForFloat(params[i], [&](auto tag) { ops.push_back(make(tag, i)); });
    }
    Keep({params});
    for (auto& op : ops) plan_.Add(std::move(op));
  }

  py::array_t<double, py::array::c_style> scalars_;
  double* block_;
  Plan plan_;
  std::vector<py::object> keep_;
  std::vector<py::array> inputs_;
};

}  // namespace deeplite::cpu::bind
