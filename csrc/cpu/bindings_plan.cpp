// deeplite._C.Plan's layer, loss, elementwise and bookkeeping ops, its run, and its binding
// (the optimizer steps are in bindings_plan_optim.cpp; the class is in bindings_plan.h).
#include "bindings_plan.h"

namespace deeplite::cpu::bind {

void PyPlan::LinearAct(py::handle x, py::handle w, py::handle b, const std::string& act,
                       double slope, py::handle out) {
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

void PyPlan::LinearActGrad(py::handle x, py::handle w, py::handle y, py::handle gy,
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

void PyPlan::Act(py::handle x, int code, double slope, py::handle out) {
  Elementwise(x, out, [code, slope](auto* in, auto* y, Index n) {
    using T = std::remove_pointer_t<decltype(y)>;
    ActForward<T>(in, y, n, code, T(slope));
  });
}

void PyPlan::ActGradient(py::handle y, py::handle gy, const std::string& act, double slope,
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

void PyPlan::SigmoidBce(py::handle z, py::handle y, const std::string& reduction, py::handle loss,
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

void PyPlan::SoftmaxCe(py::handle z, py::handle labels, const std::string& reduction,
                       py::handle loss, py::handle dz) {
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

void PyPlan::CheckLabels(py::handle labels, Index classes) {
  const std::int64_t* data = Buffer<std::int64_t>(labels);
  const Index n = py::reinterpret_borrow<py::array>(labels).size();
  Keep({labels});
  plan_.Add([=](const double*) { CheckLabelRange(data, n, classes); });
}

// out = a op b where one operand's shape is a trailing part of the other's (or a 0-d array).
void PyPlan::BinaryOp(int op, py::handle a, py::handle b, py::handle out) {
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
void PyPlan::CompareOp(int op, py::handle a, py::handle b, py::handle out) {
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
void PyPlan::Argmax(py::handle x, int axis, py::handle out) {
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
void PyPlan::CountNonzero(py::handle a, py::handle out) {
  const auto* in = reinterpret_cast<const std::uint8_t*>(Buffer<bool>(a));
  if (ShapeOfHandle(out) != Shape{}) throw Unsupported();
  std::int64_t* result = Buffer<std::int64_t>(out, true);
  const Index n = py::reinterpret_borrow<py::array>(a).size();
  Keep({a, out});
  plan_.Add([=](const double*) { CountTrue(in, n, result); });
}

void PyPlan::Fill(py::handle out, double value) {
  ForFloat(out, [&](auto tag) {
    using T = decltype(tag);
    T* data = Buffer<T>(out, true);
    const Index n = py::reinterpret_borrow<py::array>(out).size();
    Keep({out});
    plan_.Add([=](const double*) { std::fill(data, data + n, T(value)); });
  });
}

void PyPlan::Copy(py::handle src, py::handle dst) {
  Elementwise(src, dst, [](auto* in, auto* out, Index n) { std::copy(in, in + n, out); });
}

// The step's input buffers: run(sources) copies each source into them first.
void PyPlan::BindInputs(py::sequence buffers) {
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
void PyPlan::Run(py::object sources) {
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

PyPlan::Pair PyPlan::Operands(py::handle a, py::handle b, py::handle out, const void* a_data,
                              const void* b_data) {
  const Shape out_shape = ShapeOfHandle(out);
  const bool a_full = ShapeOfHandle(a) == out_shape;
  if (!a_full && ShapeOfHandle(b) != out_shape) throw Unsupported();
  Shape small = ShapeOfHandle(a_full ? b : a);
  const auto not_one = [](auto d) { return d != 1; };
  small.erase(small.begin(), std::find_if(small.begin(), small.end(), not_one));
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
      .def("dropout_mask", &PyPlan::DropoutMask, "out"_a, "p"_a, "key_slots"_a, "counter_slots"_a)
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
