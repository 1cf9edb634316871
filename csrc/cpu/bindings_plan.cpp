// deeplite._C.Plan: a captured training step built op by op from the buffers of a trace, then run
// by one call with the GIL released. Each adder checks its buffers the way the eager binding does
// and raises Unsupported for anything it does not cover; deeplite.jit then keeps that kernel in
// Python. Every op calls the same C++ kernel with the same arguments as the eager binding, so a
// replay gives the eager step's results bit for bit.
#include <pybind11/stl.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <type_traits>

#include "bindings.h"
#include "plan.h"

namespace deeplite::cpu::bind {

namespace {

// The buffer h as a C-contiguous array of T (no copy: a plan never copies), else Unsupported.
template <typename T>
T* Buffer(py::handle h, bool writeable = false) {
  if (!py::isinstance<py::array_t<T>>(h)) throw Unsupported();
  auto a = py::reinterpret_borrow<py::array>(h);
  if (!(a.flags() & py::array::c_style) || (writeable && !a.writeable())) throw Unsupported();
  return static_cast<T*>(const_cast<void*>(a.data()));
}

inline Shape ShapeOfHandle(py::handle h) { return ShapeOf(py::reinterpret_borrow<py::array>(h)); }

// A GEMM operand read in place: row-major or a transposed view, as the eager binding's AsMatrix.
template <typename T>
Matrix<T> Operand(py::handle h) {
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
void ForFloat(py::handle h, F&& f) {
  Dispatch(h, [&](auto tag) -> py::object {
    f(tag);
    return py::none();
  });
}

class PyPlan {
 public:
  // `scalars`: the float64 block the caller refreshes before each run (learning rates, steps).
  explicit PyPlan(py::array_t<double, py::array::c_style> scalars)
      : scalars_(scalars), block_(scalars.mutable_data()) {}

  void LinearAct(py::handle x, py::handle w, py::handle b, const std::string& act, double slope,
                 py::handle out) {
    const int code = ActCode(act);
    ForFloat(x, [&](auto tag) {
      using T = decltype(tag);
      const Matrix<T> a = Operand<T>(x), m = Operand<T>(w);
      const T* bias = b.is_none() ? nullptr : Buffer<T>(b);
      T* y = Buffer<T>(out, true);
      if (a.cols != m.rows || ShapeOfHandle(out) != Shape{a.rows, m.cols}) throw Unsupported();
      if (bias && ShapeOfHandle(b) != Shape{m.cols}) throw Unsupported();
      Keep({x, w, b, out});
      plan_.Add([=](const double*) { deeplite::cpu::LinearAct<T>(a, m, bias, code, T(slope), y); });
    });
  }

  void LinearActGrad(py::handle x, py::handle w, py::handle y, py::handle gy,
                     const std::string& act, double slope, py::handle gx, py::handle gw,
                     py::handle gb) {
    const int code = ActCode(act);
    ForFloat(gy, [&](auto tag) {
      using T = decltype(tag);
      const Matrix<T> xm = Operand<T>(x), wm = Operand<T>(w);
      const T* grad = Buffer<T>(gy);
      const T* out_y = code != 0 ? Buffer<T>(y) : grad;
      const Shape grad_shape = ShapeOfHandle(gy);
      if (grad_shape != Shape{xm.rows, wm.cols} || (code != 0 && ShapeOfHandle(y) != grad_shape) ||
          xm.cols != wm.rows) {
        throw Unsupported();
      }
      auto output = [](py::handle h, const Shape& shape) -> T* {
        if (h.is_none()) return nullptr;
        if (ShapeOfHandle(h) != shape) throw Unsupported();
        return Buffer<T>(h, true);
      };
      T* gx_data = output(gx, Shape{xm.rows, xm.cols});
      T* gw_data = output(gw, Shape{wm.rows, wm.cols});
      T* gb_data = output(gb, Shape{wm.cols});
      // The activation's derivative times gy: scratch the eager binding allocates on each call.
      auto pre = std::make_shared<std::vector<T>>(code != 0 ? xm.rows * wm.cols : 0);
      Keep({x, w, y, gy, gx, gw, gb});
      plan_.Add([=](const double*) {
        deeplite::cpu::LinearActGrad<T>(xm, wm, out_y, grad, code, T(slope), pre->data(), gx_data,
                                        gw_data, gb_data);
      });
    });
  }

  void Act(py::handle x, int code, double slope, py::handle out) {
    Elementwise(x, out, [code, slope](auto* in, auto* y, Index n) {
      using T = std::remove_pointer_t<decltype(y)>;
      ActForward<T>(in, y, n, code, T(slope));
    });
  }

  void ActGradient(py::handle y, py::handle gy, const std::string& act, double slope,
                   py::handle out) {
    const int code = ActCode(act);
    ForFloat(y, [&](auto tag) {
      using T = decltype(tag);
      const T *out_y = Buffer<T>(y), *grad = Buffer<T>(gy);
      T* result = Buffer<T>(out, true);
      const Index n = SameShape(y, gy);
      SameShape(y, out);
      Keep({y, gy, out});
      plan_.Add([=](const double*) { ActGrad<T>(out_y, grad, result, n, code, T(slope)); });
    });
  }

  void SigmoidBce(py::handle z, py::handle y, const std::string& reduction, py::handle loss,
                  py::handle dz) {
    const int code = ReductionCode(reduction);
    ForFloat(z, [&](auto tag) {
      using T = decltype(tag);
      const T *logits = Buffer<T>(z), *targets = Buffer<T>(y);
      T *loss_data = Buffer<T>(loss, true), *dz_data = Buffer<T>(dz, true);
      const Index n = SameShape(z, y);
      SameShape(z, dz);
      if (ShapeOfHandle(loss) != (code == 0 ? ShapeOfHandle(z) : Shape{})) throw Unsupported();
      Keep({z, y, loss, dz});
      plan_.Add([=](const double*) {
        deeplite::cpu::SigmoidBce<T>(logits, targets, n, code, loss_data, dz_data);
      });
    });
  }

  void SoftmaxCe(py::handle z, py::handle labels, const std::string& reduction, py::handle loss,
                 py::handle dz) {
    const int code = ReductionCode(reduction);
    ForFloat(z, [&](auto tag) {
      using T = decltype(tag);
      const Shape shape = ShapeOfHandle(z);
      if (shape.size() != 2) throw Unsupported();
      const Index rows = shape[0], cols = shape[1];
      const T* logits = Buffer<T>(z);
      const std::int64_t* classes = Buffer<std::int64_t>(labels);
      if (ShapeOfHandle(labels) != Shape{rows} || ShapeOfHandle(dz) != shape ||
          ShapeOfHandle(loss) != (code == 0 ? Shape{rows} : Shape{})) {
        throw Unsupported();
      }
      T *loss_data = Buffer<T>(loss, true), *dz_data = Buffer<T>(dz, true);
      auto wrapped = std::make_shared<std::vector<std::int64_t>>(rows);
      Keep({z, labels, loss, dz});
      plan_.Add([=](const double*) {
        WrapLabels(classes, rows, cols, wrapped->data());
        deeplite::cpu::SoftmaxCe<T>(logits, wrapped->data(), rows, cols, code, loss_data, dz_data);
      });
    });
  }

  void CheckLabels(py::handle labels, Index classes) {
    const std::int64_t* data = Buffer<std::int64_t>(labels);
    const Index n = py::reinterpret_borrow<py::array>(labels).size();
    Keep({labels});
    plan_.Add([=](const double*) { CheckLabelRange(data, n, classes); });
  }

  // out = a op b where one operand's shape is a trailing part of the other's (or a 0-d array).
  void BinaryOp(int op, py::handle a, py::handle b, py::handle out) {
    ForFloat(out, [&](auto tag) {
      using T = decltype(tag);
      const Pair pair = Operands(a, b, out, Buffer<T>(a), Buffer<T>(b));
      T* result = Buffer<T>(out, true);
      const T *full = static_cast<const T*>(pair.full), *part = static_cast<const T*>(pair.small);
      Keep({a, b, out});
      plan_.Add([=](const double*) {
        Binary<T>(op, full, part, result, pair.n, pair.period, pair.small_first);
      });
    });
  }

  // out (bool) = a op b, op a comparison code (eq ... ge), a and b of one dtype.
  void CompareOp(int op, py::handle a, py::handle b, py::handle out) {
    if (op < 0 || op > 5 || !py::isinstance<py::array_t<bool>>(out)) throw Unsupported();
    auto add = [&](auto tag) {
      using Stored = decltype(tag);  // bool arrays are compared as their 0/1 bytes
      using T = std::conditional_t<std::is_same_v<Stored, bool>, std::uint8_t, Stored>;
      const Pair pair = Operands(a, b, out, Buffer<Stored>(a), Buffer<Stored>(b));
      auto* result = reinterpret_cast<std::uint8_t*>(Buffer<bool>(out, true));
      const T *full = static_cast<const T*>(pair.full), *part = static_cast<const T*>(pair.small);
      Keep({a, b, out});
      plan_.Add([=](const double*) {
        Compare<T>(op, full, part, result, pair.n, pair.period, pair.small_first);
      });
    };
    if (py::isinstance<py::array_t<float>>(a)) return add(float{});
    if (py::isinstance<py::array_t<double>>(a)) return add(double{});
    if (py::isinstance<py::array_t<std::int64_t>>(a)) return add(std::int64_t{});
    if (py::isinstance<py::array_t<bool>>(a)) return add(bool{});
    throw Unsupported();
  }

  // out (int64, rows) = np.argmax(x, axis=1) of a 2-D float x.
  void Argmax(py::handle x, int axis, py::handle out) {
    ForFloat(x, [&](auto tag) {
      using T = decltype(tag);
      const T* in = Buffer<T>(x);
      const Shape shape = ShapeOfHandle(x);
      if (shape.size() != 2 || (axis != 1 && axis != -1) || shape[1] == 0 ||
          ShapeOfHandle(out) != Shape{shape[0]}) {
        throw Unsupported();
      }
      std::int64_t* result = Buffer<std::int64_t>(out, true);
      const Index rows = shape[0], cols = shape[1];
      Keep({x, out});
      plan_.Add([=](const double*) { ArgmaxRows<T>(in, rows, cols, result); });
    });
  }

  // out (a 0-d int64 array) = the number of True in the bool array a.
  void CountNonzero(py::handle a, py::handle out) {
    const auto* in = reinterpret_cast<const std::uint8_t*>(Buffer<bool>(a));
    if (ShapeOfHandle(out) != Shape{}) throw Unsupported();
    std::int64_t* result = Buffer<std::int64_t>(out, true);
    const Index n = py::reinterpret_borrow<py::array>(a).size();
    Keep({a, out});
    plan_.Add([=](const double*) { CountTrue(in, n, result); });
  }

  void Fill(py::handle out, double value) {
    ForFloat(out, [&](auto tag) {
      using T = decltype(tag);
      T* data = Buffer<T>(out, true);
      const Index n = py::reinterpret_borrow<py::array>(out).size();
      Keep({out});
      plan_.Add([=](const double*) { std::fill(data, data + n, T(value)); });
    });
  }

  void Copy(py::handle src, py::handle dst) {
    Elementwise(src, dst, [](auto* in, auto* out, Index n) { std::copy(in, in + n, out); });
  }

  // Optimizer steps: hyperparameters fixed at trace time, the learning rate (and step counts)
  // read from the scalar block at scalars[lr_slot] (and scalars[step_slots[i]]).
  void SgdStep(py::sequence params, py::sequence grads, py::object bufs, bool first, int lr_slot,
               double momentum, double dampening, double weight_decay, bool nesterov,
               bool maximize) {
    CheckSlot(lr_slot);
    const SgdConfig base{0, momentum, dampening, weight_decay, nesterov, maximize, first};
    py::object buffers = momentum != 0 ? bufs : py::none();
    ForEachParam(params, [&](auto tag, std::size_t i) -> Plan::Op {
      using T = decltype(tag);
      const Update<T> u = ParamAndGrad<T>(params, grads, i);
      T* buf = State<T>(buffers, i, params[i]);
      return [=](const double* s) {
        SgdConfig config = base;
        config.lr = s[lr_slot];
        deeplite::cpu::SgdStep<T>(u.p, u.g, buf, u.n, config);
      };
    });
  }

  void AdamStep(py::sequence params, py::sequence grads, py::sequence exp_avgs,
                py::sequence exp_avg_sqs, py::object max_exp_avg_sqs, std::vector<int> step_slots,
                int lr_slot, double beta1, double beta2, double eps, double weight_decay,
                bool decoupled, bool amsgrad, bool maximize) {
    CheckSlot(lr_slot);
    for (int slot : step_slots) CheckSlot(slot);
    if (step_slots.size() != py::len(params)) throw Unsupported();
    const AdamConfig base{0, beta1, beta2, eps, weight_decay, decoupled, amsgrad, maximize};
    py::object maxima = amsgrad ? max_exp_avg_sqs : py::none();
    ForEachParam(params, [&](auto tag, std::size_t i) -> Plan::Op {
      using T = decltype(tag);
      const Update<T> u = ParamAndGrad<T>(params, grads, i);
      T* m = State<T>(exp_avgs, i, params[i]);
      T* v = State<T>(exp_avg_sqs, i, params[i]);
      T* vmax = State<T>(maxima, i, params[i]);
      const int step_slot = step_slots[i];
      return [=](const double* s) {
        AdamConfig config = base;
        config.lr = s[lr_slot];
        deeplite::cpu::AdamStep<T>(u.p, u.g, m, v, vmax, u.n, s[step_slot], config);
      };
    });
  }

  void RmspropStep(py::sequence params, py::sequence grads, py::sequence square_avgs,
                   py::object grad_avgs, py::object bufs, int lr_slot, double alpha, double eps,
                   double weight_decay, double momentum, bool centered, bool maximize) {
    CheckSlot(lr_slot);
    const RmspropConfig base{0, alpha, eps, weight_decay, momentum, centered, maximize};
    py::object averages = centered ? grad_avgs : py::none();
    py::object buffers = momentum > 0 ? bufs : py::none();
    ForEachParam(params, [&](auto tag, std::size_t i) -> Plan::Op {
      using T = decltype(tag);
      const Update<T> u = ParamAndGrad<T>(params, grads, i);
      T* square = State<T>(square_avgs, i, params[i]);
      T* average = State<T>(averages, i, params[i]);
      T* buf = State<T>(buffers, i, params[i]);
      return [=](const double* s) {
        RmspropConfig config = base;
        config.lr = s[lr_slot];
        deeplite::cpu::RmspropStep<T>(u.p, u.g, square, average, buf, u.n, config);
      };
    });
  }

  void AdagradStep(py::sequence params, py::sequence grads, py::sequence state_sums,
                   std::vector<int> step_slots, int lr_slot, double lr_decay,
                   double weight_decay, double eps, bool maximize) {
    CheckSlot(lr_slot);
    for (int slot : step_slots) CheckSlot(slot);
    if (step_slots.size() != py::len(params)) throw Unsupported();
    const AdagradConfig base{0, lr_decay, weight_decay, eps, maximize};
    ForEachParam(params, [&](auto tag, std::size_t i) -> Plan::Op {
      using T = decltype(tag);
      const Update<T> u = ParamAndGrad<T>(params, grads, i);
      T* sums = State<T>(state_sums, i, params[i]);
      const int step_slot = step_slots[i];
      return [=](const double* s) {
        AdagradConfig config = base;
        config.lr = s[lr_slot];
        deeplite::cpu::AdagradStep<T>(u.p, u.g, sums, u.n, s[step_slot], config);
      };
    });
  }

  // The step's input buffers: run(sources) copies each source into them first.
  void BindInputs(py::sequence buffers) {
    inputs_.clear();
    for (py::handle h : buffers) {
      auto a = py::reinterpret_borrow<py::array>(h);
      if (!(a.flags() & py::array::c_style) || !a.writeable()) throw Unsupported();
      Keep({h});
      inputs_.push_back(a);
    }
  }

  // Copies `sources` (None: nothing) into the bound inputs, then runs every op without the GIL.
  // A source of another dtype, shape or layout raises Unsupported before anything runs.
  void Run(py::object sources) {
    if (!sources.is_none()) {
      auto list = py::reinterpret_borrow<py::sequence>(sources);
      if (py::len(list) != inputs_.size()) throw Unsupported();
      std::vector<std::pair<const void*, std::size_t>> copies;
      for (std::size_t i = 0; i < inputs_.size(); ++i) {
        py::handle h = list[i];
        if (!py::isinstance<py::array>(h)) throw Unsupported();
        auto a = py::reinterpret_borrow<py::array>(h);
        const py::array& to = inputs_[i];
        if (!a.dtype().is(to.dtype()) || !(a.flags() & py::array::c_style) ||
            ShapeOf(a) != ShapeOf(to)) {
          throw Unsupported();
        }
        copies.emplace_back(a.data(), std::size_t(a.nbytes()));
      }
      for (std::size_t i = 0; i < copies.size(); ++i) {
        if (copies[i].first != inputs_[i].data()) {
          std::memcpy(inputs_[i].mutable_data(), copies[i].first, copies[i].second);
        }
      }
    }
    py::gil_scoped_release release;
    plan_.Run(block_);
  }

  std::size_t Size() const { return plan_.Size(); }

 private:
  void Keep(std::initializer_list<py::handle> handles) {
    for (py::handle h : handles) keep_.push_back(py::reinterpret_borrow<py::object>(h));
  }

  void CheckSlot(int slot) const {
    if (slot < 0 || slot >= scalars_.size()) throw py::index_error("Plan: scalar slot out of range");
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
                       const void* b_data) {
    const Shape out_shape = ShapeOfHandle(out);
    const bool a_full = ShapeOfHandle(a) == out_shape;
    if (!a_full && ShapeOfHandle(b) != out_shape) throw Unsupported();
    Shape small = ShapeOfHandle(a_full ? b : a);
    small.erase(small.begin(), std::find_if(small.begin(), small.end(), [](auto d) { return d != 1; }));
    if (small.size() > out_shape.size() ||
        !std::equal(small.rbegin(), small.rend(), out_shape.rbegin())) {
      throw Unsupported();
    }
    Index n = 1, period = 1;
    for (auto d : out_shape) n *= d;
    for (auto d : small) period *= d;
    if (n == 0) throw Unsupported();
    return {a_full ? a_data : b_data, a_full ? b_data : a_data, n, period, !a_full};
  }

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

}  // namespace

void BindPlan(py::module_& m) {
  using namespace pybind11::literals;
  py::class_<PyPlan>(m, "Plan", "A captured training step: kernels on fixed buffers (deeplite.jit)")
      .def(py::init<py::array_t<double, py::array::c_style>>(), "scalars"_a)
      .def("linear_act", &PyPlan::LinearAct, "x"_a, "w"_a, "b"_a.none(true), "act"_a, "slope"_a,
           "out"_a)
      .def("linear_act_grad", &PyPlan::LinearActGrad, "x"_a, "w"_a, "y"_a.none(true), "gy"_a,
           "act"_a, "slope"_a, "gx"_a.none(true), "gw"_a.none(true), "gb"_a.none(true))
      .def("act", &PyPlan::Act, "x"_a, "code"_a, "slope"_a, "out"_a)
      .def("act_grad", &PyPlan::ActGradient, "y"_a, "gy"_a, "act"_a, "slope"_a, "out"_a)
      .def("sigmoid_bce", &PyPlan::SigmoidBce, "z"_a, "y"_a, "reduction"_a, "loss"_a, "dz"_a)
      .def("softmax_ce", &PyPlan::SoftmaxCe, "z"_a, "labels"_a, "reduction"_a, "loss"_a, "dz"_a)
      .def("check_label_range", &PyPlan::CheckLabels, "labels"_a, "classes"_a)
      .def("binary", &PyPlan::BinaryOp, "op"_a, "a"_a, "b"_a, "out"_a)
      .def("compare", &PyPlan::CompareOp, "op"_a, "a"_a, "b"_a, "out"_a)
      .def("argmax", &PyPlan::Argmax, "x"_a, "axis"_a, "out"_a)
      .def("count_nonzero", &PyPlan::CountNonzero, "a"_a, "out"_a)
      .def("fill", &PyPlan::Fill, "out"_a, "value"_a)
      .def("copy", &PyPlan::Copy, "src"_a, "dst"_a)
      .def("sgd_step", &PyPlan::SgdStep, "params"_a, "grads"_a, "bufs"_a.none(true), "first"_a,
           "lr_slot"_a, "momentum"_a, "dampening"_a, "weight_decay"_a, "nesterov"_a, "maximize"_a)
      .def("adam_step", &PyPlan::AdamStep, "params"_a, "grads"_a, "exp_avgs"_a, "exp_avg_sqs"_a,
           "max_exp_avg_sqs"_a.none(true), "step_slots"_a, "lr_slot"_a, "beta1"_a, "beta2"_a,
           "eps"_a, "weight_decay"_a, "decoupled"_a, "amsgrad"_a, "maximize"_a)
      .def("rmsprop_step", &PyPlan::RmspropStep, "params"_a, "grads"_a, "square_avgs"_a,
           "grad_avgs"_a.none(true), "bufs"_a.none(true), "lr_slot"_a, "alpha"_a, "eps"_a,
           "weight_decay"_a, "momentum"_a, "centered"_a, "maximize"_a)
      .def("adagrad_step", &PyPlan::AdagradStep, "params"_a, "grads"_a, "state_sums"_a,
           "step_slots"_a, "lr_slot"_a, "lr_decay"_a, "weight_decay"_a, "eps"_a, "maximize"_a)
      .def("bind_inputs", &PyPlan::BindInputs, "buffers"_a)
      .def("run", &PyPlan::Run, "sources"_a = py::none(),
           "Copy sources into the bound inputs, then run every op in order without the GIL.")
      .def("__len__", &PyPlan::Size);
}

}  // namespace deeplite::cpu::bind
