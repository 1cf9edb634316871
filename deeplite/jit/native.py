"""Lowering a recorded step to ``deeplite._C.Plan`` (cpu): consecutive kernels that the plan
covers become one native call, run without the GIL; the rest stay Python calls between them.

Each lowering passes the trace-time buffers to the plan, which checks them as the eager binding
does (``_C.Unsupported`` otherwise) and calls the same C++ kernel, so replay equals eager bit for
bit. A kernel is lowered only where eager ran the native kernel too (same float dtype, layouts the
binding takes without a copy).
"""
import numpy as np

from ..backends.contract import ACTIVATIONS

ACTIVATION_KERNELS = {"sigmoid": 3, "relu": 1, "softplus": 5, "tanh": 4}
BINARY_CODES = {"add": 0, "sub": 1, "mul": 2, "div": 3}  # csrc/cpu/kernels.h's BinaryOp
COMPARISONS = ("eq", "ne", "lt", "le", "gt", "ge")  # csrc/cpu/plan.h's Compare codes


class NativeLowering:
    """``lower(step)`` for ``compile_steps``: fills ``_C.Plan`` objects over one scalar block."""

    def __init__(self, _C, scalar_count: int):
        self._C = _C
        self.block = np.zeros(max(scalar_count, 1))  # per-replay scalars, as float64
        self.plan = None
        self.closed: list = []  # the finished plans, in order

    def __call__(self, step):
        """Add ``step`` to the current plan ({} or {output: buffer}), or None if not covered."""
        if step is None:
            plan, self.plan = self.plan, None
            if plan is None or not len(plan):
                return None
            self.closed.append(plan)
            return plan.run
        adder = getattr(self, "_" + step.name, None)
        if adder is None:
            return None
        if self.plan is None:
            self.plan = self._C.Plan(self.block)
        try:
            taken = adder(self.plan, step, *step.args, **step.kwargs)
        except (self._C.Unsupported, TypeError, ValueError):
            return None  # not covered: the step stays a Python call
        return None if taken is False else taken or {}

    # ---- one adder per kernel name, with the contract's argument order -------------------------
    @staticmethod
    def _linear_act(plan, step, x, w, b, act, slope):
        plan.linear_act(x, w, b, act, slope, step.result)

    @staticmethod
    def _linear_act_grad(plan, step, x, w, y, gy, act, slope, need_x, need_w, need_b):
        plan.linear_act_grad(x, w, y, gy, act, slope, *step.result)

    @staticmethod
    def _sigmoid_bce(plan, step, z, y, reduction):
        plan.sigmoid_bce(z, y, reduction, *step.result)

    @staticmethod
    def _softmax_ce(plan, step, z, labels, reduction):
        plan.softmax_ce(z, labels, reduction, *step.result)

    @staticmethod
    def _check_label_range(plan, step, labels, classes):
        plan.check_label_range(labels, classes)

    @staticmethod
    def _act_grad(plan, step, y, gy, act, slope):
        plan.act_grad(y, gy, act, slope, step.result)

    @staticmethod
    def _leaky_relu(plan, step, x, slope):
        plan.act(x, ACTIVATIONS.index("leaky_relu"), slope, step.result)

    @staticmethod
    def _full(plan, step, shape, value, dtype):
        if not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(value, bool):
            return False
        plan.fill(step.result, float(value))

    @staticmethod
    def _argmax(plan, step, x, axis):
        plan.argmax(x, axis, step.result)

    @staticmethod
    def _sum(plan, step, a, axis=None, keepdims=False):
        # Only the count of a bool array (an accuracy): a float sum is NumPy's pairwise sum.
        if type(a) is not np.ndarray or a.dtype != np.bool_ or axis is not None or keepdims:
            return False
        count = np.zeros((), np.int64)
        plan.count_nonzero(a, count)
        return {0: count}

    @staticmethod
    def _copy(plan, step, a):
        plan.copy(a, step.result)

    @staticmethod
    def _copyto(plan, step, dst, src):
        if type(src) is not np.ndarray or src.dtype != dst.dtype:
            return False
        plan.copy(src, dst)

    def _dropout_mask(self, plan, step, shape, dtype, p, key, counter):
        plan.dropout_mask(step.result, p, self._slot(step, 3), self._slot(step, 4))

    def _sgd_step(self, plan, step, params, grads, bufs, first, lr, *rest):
        plan.sgd_step(params, grads, bufs, first, self._slot(step, 4), *rest)

    def _adam_step(self, plan, step, params, grads, m, v, vmax, steps, lr, *rest):
        plan.adam_step(params, grads, m, v, vmax, self._slot(step, 5), self._slot(step, 6), *rest)

    def _rmsprop_step(self, plan, step, params, grads, squares, averages, bufs, lr, *rest):
        plan.rmsprop_step(params, grads, squares, averages, bufs, self._slot(step, 5), *rest)

    def _adagrad_step(self, plan, step, params, grads, sums, steps, lr, *rest):
        plan.adagrad_step(params, grads, sums, self._slot(step, 3), self._slot(step, 4), *rest)

    @staticmethod
    def _slot(step, position):
        slot = step.scalars.get(position)
        if slot is None:
            raise TypeError(f"{step.name} outside Optimizer.step or dropout: its scalars are "
                            f"constants")
        return slot


def _activation(code: int):
    def adder(plan, step, x):
        plan.act(x, code, 0.0, step.result)
    return staticmethod(adder)


def _binary(code: int):
    def adder(plan, step, a, b):
        out = step.result
        # Same dtype on both sides (no promotion), as the native binary kernel requires.
        if type(a) is not np.ndarray or type(b) is not np.ndarray or not (
                a.dtype == b.dtype == out.dtype):
            return False
        plan.binary(code, a, b, out)
    return staticmethod(adder)


def _comparison(code: int):
    def adder(plan, step, a, b):
        if type(a) is not np.ndarray or type(b) is not np.ndarray or a.dtype != b.dtype:
            return False
        plan.compare(code, a, b, step.result)
    return staticmethod(adder)


for _code, _name in enumerate(COMPARISONS):
    setattr(NativeLowering, "_" + _name, _comparison(_code))
for _name, _code in ACTIVATION_KERNELS.items():
    setattr(NativeLowering, "_" + _name, _activation(_code))
for _name, _code in BINARY_CODES.items():
    setattr(NativeLowering, "_" + _name, _binary(_code))
