// deeplite._C.Plan's optimizer steps: hyperparameters fixed at trace time, the learning rate
// (and step counts) read from the scalar block at scalars[lr_slot] (and scalars[step_slots[i]]).
#include "bindings_plan.h"

namespace deeplite::cpu::bind {

namespace {

// An optimizer's configuration with this step's learning rate.
template <typename Config>
Config WithLr(Config config, double lr) {
  config.lr = lr;
  return config;
}

}  // namespace

void PyPlan::SgdStep(py::sequence params, py::sequence grads, py::object bufs, bool first,
                     int lr_slot, double momentum, double dampening, double weight_decay,
                     bool nesterov, bool maximize) {
  CheckSlot(lr_slot);
  const SgdConfig base{0, momentum, dampening, weight_decay, nesterov, maximize, first};
  py::object buffers = momentum != 0 ? bufs : py::none();
  ForEachParam(params, [&](auto tag, std::size_t i) -> Plan::Op {
    using T = decltype(tag);
    const Update<T> u = ParamAndGrad<T>(params, grads, i);
    T* buf = State<T>(buffers, i, params[i]);
    return [=](const double* s) {
      deeplite::cpu::SgdStep<T>(u.p, u.g, buf, u.n, WithLr(base, s[lr_slot]));
    };
  });
}

void PyPlan::AdamStep(py::sequence params, py::sequence grads, py::sequence exp_avgs,
                      py::sequence exp_avg_sqs, py::object max_exp_avg_sqs,
                      std::vector<int> step_slots, int lr_slot, double beta1, double beta2,
                      double eps, double weight_decay, bool decoupled, bool amsgrad,
                      bool maximize) {
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
      deeplite::cpu::AdamStep<T>(u.p, u.g, m, v, vmax, u.n, s[step_slot], WithLr(base, s[lr_slot]));
    };
  });
}

void PyPlan::RmspropStep(py::sequence params, py::sequence grads, py::sequence square_avgs,
                         py::object grad_avgs, py::object bufs, int lr_slot, double alpha,
                         double eps, double weight_decay, double momentum, bool centered,
                         bool maximize) {
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
      deeplite::cpu::RmspropStep<T>(u.p, u.g, square, average, buf, u.n, WithLr(base, s[lr_slot]));
    };
  });
}

void PyPlan::AdagradStep(py::sequence params, py::sequence grads, py::sequence state_sums,
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
      deeplite::cpu::AdagradStep<T>(u.p, u.g, sums, u.n, s[step_slot], WithLr(base, s[lr_slot]));
    };
  });
}

}  // namespace deeplite::cpu::bind
