// Bindings of the training kernels: fused losses and the optimizer steps over lists of parameters.
// An optimizer step validates every tensor first and only then updates: a parameter it does not
// cover (dtype, layout) leaves all of them untouched for the reference to update.
#include <cstdint>
#include <functional>
#include <type_traits>

#include "bindings.h"

namespace deeplite::cpu::bind {

namespace {

// A 0-d array (reduced loss) or an array of `shape` (reduction "none").
template <typename T>
py::array_t<T> LossArray(int reduction, const Shape& shape) {
  return py::array_t<T>(reduction == dlmath::kNone ? shape : Shape{});
}

py::object SigmoidBcePy(py::handle z, py::handle y, const std::string& reduction) {
  const int code = ReductionCode(reduction);
  return Dispatch(z, [&](auto tag) -> py::object {
    using T = decltype(tag);
    Array<T> logits = Contiguous<T>(z), targets = Contiguous<T>(y);
    if (ShapeOf(logits) != ShapeOf(targets)) throw Unsupported();
    py::array_t<T> loss = LossArray<T>(code, ShapeOf(logits)), dz(ShapeOf(logits));
    {
      py::gil_scoped_release release;
      SigmoidBce<T>(logits.data(), targets.data(), logits.size(), code, loss.mutable_data(),
                    dz.mutable_data());
    }
    return py::make_tuple(loss, dz);
  });
}

// Labels as int64 in [0, cols): negative ones count from the end, as NumPy indexing does.
py::array_t<std::int64_t> CheckedLabels(py::handle labels, Index rows, Index cols) {
  if (!py::isinstance<py::array>(labels)) throw Unsupported();
  const char kind = py::reinterpret_borrow<py::array>(labels).dtype().kind();
  if (kind != 'i' && kind != 'u') throw Unsupported();
  py::array_t<std::int64_t> out = Array<std::int64_t>::ensure(labels);
  if (out.ndim() != 1 || out.shape(0) != rows) throw Unsupported();
  for (Index r = 0; r < rows; ++r) {
    const std::int64_t label = out.at(r);
    if (label < -cols || label >= cols) {
      throw py::index_error("softmax_ce: label " + std::to_string(label) + " out of range for " +
                            std::to_string(cols) + " classes");
    }
    if (label < 0) {
      if (out.ptr() == labels.ptr()) out = py::array_t<std::int64_t>(out.request());
      out.mutable_at(r) = label + cols;
    }
  }
  return out;
}

py::object SoftmaxCePy(py::handle z, py::handle labels, const std::string& reduction) {
  const int code = ReductionCode(reduction);
  return Dispatch(z, [&](auto tag) -> py::object {
    using T = decltype(tag);
    Array<T> logits = Contiguous<T>(z);
    if (logits.ndim() != 2) throw Unsupported();
    const Index rows = logits.shape(0), cols = logits.shape(1);
    py::array_t<std::int64_t> classes = CheckedLabels(labels, rows, cols);
    py::array_t<T> loss = LossArray<T>(code, Shape{rows}), dz(ShapeOf(logits));
    {
      py::gil_scoped_release release;
      SoftmaxCe<T>(logits.data(), classes.data(), rows, cols, code, loss.mutable_data(),
                   dz.mutable_data());
    }
    return py::make_tuple(loss, dz);
  });
}

// ---- optimizer steps ----

// Collects one update per parameter, validating all of them, then runs them without the GIL.
class StepPlan {
 public:
  // Parameter i's buffers, all of the parameter's dtype and shape, C-contiguous and writeable.
  template <typename T>
  T* State(py::handle list, std::size_t i, const py::array& param) {
    if (list.is_none()) return nullptr;
    py::handle item = list[py::int_(i)];
    auto a = py::reinterpret_borrow<py::array>(item);
    if (!py::isinstance<py::array_t<T>>(item) || ShapeOf(a) != ShapeOf(param) ||
        !(a.flags() & py::array::c_style) || !a.writeable()) {
      throw Unsupported();
    }
    return static_cast<T*>(a.mutable_data());
  }

  // Parameter i's bfloat16 shadow (autocast's cached cast): null when list or item is None; else
  // a C-contiguous, writeable 2-byte array of the float32 parameter's shape, or a ValueError.
  template <typename T>
  std::uint16_t* Shadow(py::handle list, std::size_t i, const py::array& param) {
    if (list.is_none()) return nullptr;
    py::handle item = list[py::int_(i)];
    if (item.is_none()) return nullptr;
    auto a = py::reinterpret_borrow<py::array>(item);
    if (!std::is_same_v<T, float> || !py::isinstance<py::array>(item) || a.itemsize() != 2 ||
        ShapeOf(a) != ShapeOf(param) || !(a.flags() & py::array::c_style) || !a.writeable()) {
      throw py::value_error("optimizer step: a bfloat16 shadow must be a writeable C-contiguous "
                            "2-byte array shaped as its float32 parameter");
    }
    return static_cast<std::uint16_t*>(a.mutable_data());
  }

  // The gradient, copied only if it is not C-contiguous.
  template <typename T>
  const T* Grad(py::handle grad, const py::array& param) {
    Array<T> g = Contiguous<T>(grad);
    if (ShapeOf(g) != ShapeOf(param)) throw Unsupported();
    keep_.push_back(g);
    return g.data();
  }

  // Calls add(T{}, param, i) for each parameter; add validates and returns the update to run.
  template <typename Add>
  void Build(py::handle params, Add&& add) {
    const std::size_t count = py::len(params);
    for (std::size_t i = 0; i < count; ++i) {
      py::handle p = params[py::int_(i)];
      auto param = py::reinterpret_borrow<py::array>(p);
      Dispatch(p, [&](auto tag) -> py::object {
        if (!(param.flags() & py::array::c_style) || !param.writeable()) throw Unsupported();
        updates_.push_back(add(tag, param, i));
        return py::none();
      });
    }
  }

  void Run() {
    py::gil_scoped_release release;
    for (auto& update : updates_) update();
  }

 private:
  std::vector<std::function<void()>> updates_;
  std::vector<py::object> keep_;
};

template <typename T>
T* Data(py::array a) {
  return static_cast<T*>(a.mutable_data());
}

// The steps with a shadows list (None entries allowed) also write each listed parameter's bfloat16
// copy; they return True when they did (the Python fallback for unsupported inputs does not), else
// None as every in-place kernel.
py::object ShadowsWritten(const py::object& shadows) {
  return shadows.is_none() ? py::object(py::none()) : py::object(py::bool_(true));
}

py::object SgdStepPy(py::sequence params, py::sequence grads, py::object bufs, bool first, double lr,
               double momentum, double dampening, double weight_decay, bool nesterov,
               bool maximize, py::object shadows) {
  const SgdConfig config{lr, momentum, dampening, weight_decay, nesterov, maximize, first};
  py::object buffers = momentum != 0 ? bufs : py::none();
  StepPlan plan;
  plan.Build(params, [&](auto tag, const py::array& p, std::size_t i) -> std::function<void()> {
    using T = decltype(tag);
    T* param = Data<T>(p);
    const T* grad = plan.Grad<T>(grads[i], p);
    T* buf = plan.State<T>(buffers, i, p);
    std::uint16_t* shadow = plan.Shadow<T>(shadows, i, p);
    const Index n = p.size();
    return [=] { SgdStep<T>(param, grad, buf, n, config, shadow); };
  });
  plan.Run();
  return ShadowsWritten(shadows);
}

py::object AdamStepPy(py::sequence params, py::sequence grads, py::sequence exp_avgs, py::sequence exp_avg_sqs,
                py::object max_exp_avg_sqs, py::sequence steps, double lr, double beta1, double beta2,
                double eps, double weight_decay, bool decoupled, bool amsgrad, bool maximize,
                py::object shadows) {
  const AdamConfig config{lr, beta1, beta2, eps, weight_decay, decoupled, amsgrad, maximize};
  py::object maxima = amsgrad ? max_exp_avg_sqs : py::none();
  StepPlan plan;
  plan.Build(params, [&](auto tag, const py::array& p, std::size_t i) -> std::function<void()> {
    using T = decltype(tag);
    T* param = Data<T>(p);
    const T* grad = plan.Grad<T>(grads[i], p);
    T* m = plan.State<T>(exp_avgs, i, p);
    T* v = plan.State<T>(exp_avg_sqs, i, p);
    T* vmax = plan.State<T>(maxima, i, p);
    std::uint16_t* shadow = plan.Shadow<T>(shadows, i, p);
    const double step = steps[i].cast<double>();
    const Index n = p.size();
    return [=] { AdamStep<T>(param, grad, m, v, vmax, n, step, config, shadow); };
  });
  plan.Run();
  return ShadowsWritten(shadows);
}

void RmspropStepPy(py::sequence params, py::sequence grads, py::sequence square_avgs, py::object grad_avgs,
                   py::object bufs, double lr, double alpha, double eps, double weight_decay,
                   double momentum, bool centered, bool maximize) {
  const RmspropConfig config{lr, alpha, eps, weight_decay, momentum, centered, maximize};
  py::object averages = centered ? grad_avgs : py::none();
  py::object buffers = momentum > 0 ? bufs : py::none();
  StepPlan plan;
  plan.Build(params, [&](auto tag, const py::array& p, std::size_t i) -> std::function<void()> {
    using T = decltype(tag);
    T* param = Data<T>(p);
    const T* grad = plan.Grad<T>(grads[i], p);
    T* square = plan.State<T>(square_avgs, i, p);
    T* average = plan.State<T>(averages, i, p);
    T* buf = plan.State<T>(buffers, i, p);
    const Index n = p.size();
    return [=] { RmspropStep<T>(param, grad, square, average, buf, n, config); };
  });
  plan.Run();
}

void AdagradStepPy(py::sequence params, py::sequence grads, py::sequence state_sums, py::sequence steps,
                   double lr, double lr_decay, double weight_decay, double eps, bool maximize) {
  const AdagradConfig config{lr, lr_decay, weight_decay, eps, maximize};
  StepPlan plan;
  plan.Build(params, [&](auto tag, const py::array& p, std::size_t i) -> std::function<void()> {
    using T = decltype(tag);
    T* param = Data<T>(p);
    const T* grad = plan.Grad<T>(grads[i], p);
    T* state_sum = plan.State<T>(state_sums, i, p);
    const double step = steps[i].cast<double>();
    const Index n = p.size();
    return [=] { AdagradStep<T>(param, grad, state_sum, n, step, config); };
  });
  plan.Run();
}

}  // namespace

void BindTraining(py::module_& m) {
  using namespace pybind11::literals;
  // Argument names as in deeplite/backends/contract.py, so keyword calls work too.
  m.def("sigmoid_bce", &SigmoidBcePy, "z"_a, "y"_a, "reduction"_a);
  m.def("softmax_ce", &SoftmaxCePy, "z"_a, "labels"_a, "reduction"_a);
  m.def("sgd_step", &SgdStepPy, "params"_a, "grads"_a, "bufs"_a.none(true), "first"_a, "lr"_a,
        "momentum"_a, "dampening"_a, "weight_decay"_a, "nesterov"_a, "maximize"_a,
        "shadows"_a = py::none());
  m.def("adam_step", &AdamStepPy, "params"_a, "grads"_a, "exp_avgs"_a, "exp_avg_sqs"_a,
        "max_exp_avg_sqs"_a.none(true), "steps"_a, "lr"_a, "beta1"_a, "beta2"_a, "eps"_a,
        "weight_decay"_a, "decoupled"_a, "amsgrad"_a, "maximize"_a, "shadows"_a = py::none());
  m.def("rmsprop_step", &RmspropStepPy, "params"_a, "grads"_a, "square_avgs"_a,
        "grad_avgs"_a.none(true), "bufs"_a.none(true), "lr"_a, "alpha"_a, "eps"_a,
        "weight_decay"_a, "momentum"_a, "centered"_a, "maximize"_a);
  m.def("adagrad_step", &AdagradStepPy, "params"_a, "grads"_a, "state_sums"_a, "steps"_a, "lr"_a,
        "lr_decay"_a, "weight_decay"_a, "eps"_a, "maximize"_a);
}

}  // namespace deeplite::cpu::bind
