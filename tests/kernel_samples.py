"""The kernel table: for every kernel name in ``deeplite.backends.contract``, fresh sample arguments
and the NumPy expression it must equal. test_kernels.py runs each entry on every backend, the
numpy reference included (compared with these expressions, never with itself), and fails when a
contract kernel has no entry, so a new kernel cannot skip conformance.

Sizes include 1, 7, 1023 and 0, and views that are transposed, strided or broadcast.
"""
from dataclasses import dataclass
from typing import Callable, Tuple

import numpy as np

from deeplite.backends import contract

from kernel_references import (
    NP_ACT,
    NP_ACT_DERIVATIVE,
    np_adagrad_step,
    np_adam_step,
    np_copyto,
    np_dropout_mask,
    np_index_add,
    np_linear_act_grad,
    np_log_softmax,
    np_rmsprop_step,
    np_sgd_step,
    np_sigmoid,
    np_sigmoid_bce,
    np_softmax,
    np_softmax_ce,
    np_softplus,
)

SIZES = (1, 7, 1023, 0)


@dataclass(frozen=True)
class KernelCase:
    """One kernel's samples and reference."""

    samples: Callable  # (rng, dtype) -> list of positional-argument tuples (host arrays, scalars)
    reference: Callable  # NumPy: the expected result, or (in place) writes the expected values
    mutates: Tuple[int, ...] = ()  # in-place kernels: the arguments compared after the call
    host_args: bool = False  # the kernel takes host data (asarray): arguments are not moved
    values: bool = True  # False: only shape and dtype are defined (empty)
    keywords: Tuple[str, ...] = ()  # the last arguments, passed by these keywords (as ops do)

    def split(self, args: tuple):
        """A sample as (positional arguments, keyword arguments)."""
        count = len(args) - len(self.keywords)
        return args[:count], dict(zip(self.keywords, args[count:]))


# ---- samples -----------------------------------------------------------------------------------

def _binary_samples(rng, dtype):
    samples = []
    for size in SIZES:
        a = rng.uniform(0.5, 2.0, (3, size)).astype(dtype)
        b = rng.uniform(0.5, 2.0, (size,)).astype(dtype)
        b[::3] = a[0, ::3]  # exact ties for the comparisons and extrema
        samples += [(a, b), (a.T, b[:, None])]  # non-contiguous, column broadcast
    return samples


def _unary_samples(low=None, extreme=False):
    """Shapes (1,), (7,), (1023,), (0,), (5, 6) and a strided view; ``low``: stay in the domain;
    ``extreme``: logits of +-1e4 too (stable kernels stay finite and exact)."""
    def samples(rng, dtype):
        out = []
        for shape in [(1,), (7,), (1023,), (0,), (5, 6)]:
            x = rng.uniform(low, 3.0, shape) if low is not None else rng.standard_normal(shape) * 4
            out.append((x.astype(dtype),))
        out.append((out[-1][0][:, ::2],))
        if extreme:
            out.append((np.array([-1e4, -50.0, 0.0, 50.0, 1e4], dtype),))
        return out
    return samples


def _reduction_samples(empty: bool):
    """Every axis form, keepdims both ways, a strided transposed view; ``empty``: a (0, 3) too."""
    def samples(rng, dtype):
        x = rng.standard_normal((6, 1023)).astype(dtype)
        out = [(x, axis, keepdims) for axis in (None, 0, 1, -1, (0, 1))
               for keepdims in (False, True)]
        out.append((x[:, ::3].T, 0, False))
        if empty:
            out += [(np.zeros((0, 3), dtype), 0, False), (rng.integers(-5, 5, (4, 7)), 1, False)]
        return out
    return samples


def _matmul_samples(rng, dtype):
    samples = []
    for m, k, n in [(1, 1, 1), (7, 3, 5), (64, 1023, 33), (0, 4, 3), (5, 0, 2)]:
        a = rng.standard_normal((m, k)).astype(dtype)
        b = rng.standard_normal((k, n)).astype(dtype)
        samples += [(a, b), (np.ascontiguousarray(a.T).T, b), (a, np.ascontiguousarray(b.T).T),
                    (a, b[:, ::-1])]  # operands stored transposed; a negative stride
    return samples + [(rng.standard_normal((2, 3, 4)).astype(dtype), rng.standard_normal((4, 5))),
                      (rng.standard_normal(4).astype(dtype), rng.standard_normal((4, 5))),
                      (rng.standard_normal(4).astype(dtype), rng.standard_normal(4).astype(dtype)),
                      (np.arange(12).reshape(3, 4), np.arange(8).reshape(4, 2))]


def _layer(rng, dtype, rows, inputs, outputs):
    """x, w, bias of a layer, w scaled as initialised layers are (pre-activations stay O(1))."""
    x = rng.standard_normal((rows, inputs)).astype(dtype)
    w = (rng.standard_normal((inputs, outputs)) / np.sqrt(max(inputs, 1))).astype(dtype)
    return x, w, rng.standard_normal(outputs).astype(dtype)


def _linear_act_samples(rng, dtype):
    samples = []
    for act in contract.ACTIVATIONS:
        for shape in [(1, 1, 1), (7, 5, 3), (128, 33, 1023)]:
            x, w, bias = _layer(rng, dtype, *shape)
            samples += [(x, w, bias, act, 0.1), (np.ascontiguousarray(x.T).T, w, None, act, 0.1)]
    return samples


def _linear_act_grad_samples(rng, dtype):
    samples = []
    for act in contract.ACTIVATIONS:
        for shape in [(1, 1, 1), (7, 5, 3), (300, 64, 129)]:
            x, w, bias = _layer(rng, dtype, *shape)
            y = NP_ACT[act](x @ w + bias, 0.1)
            gy = rng.standard_normal(y.shape).astype(dtype)
            for need in [(True, True, True), (True, False, False), (False, True, True)]:
                samples.append((x, w, y, gy, act, 0.1, *need))
            samples.append((np.ascontiguousarray(x.T).T, np.ascontiguousarray(w.T).T, y, gy, act,
                            0.1, True, True, True))
    return samples


def _linear_act_grad_mixed_samples(rng, dtype):
    # Parameters in float32: the operands' dtype, or narrower (float64 operands); the 16-bit
    # operands autocast gives are checked in tests/test_autocast_linear.py.
    return [sample + (np.dtype(np.float32),) for sample in _linear_act_grad_samples(rng, dtype)]


def _np_linear_act_grad_mixed(x, w, y, gy, act, slope, need_x, need_w, need_b, dtype):
    gx, gw, gb = np_linear_act_grad(x, w, y, gy, act, slope, need_x, need_w, need_b)
    return gx, None if gw is None else gw.astype(dtype), None if gb is None else gb.astype(dtype)


def _act_grad_samples(rng, dtype):
    samples = []
    for act in contract.ACTIVATIONS:
        for n in SIZES:
            y = NP_ACT[act]((rng.standard_normal(n) * 4).astype(dtype), 0.1)
            samples.append((y, rng.standard_normal(n).astype(dtype), act, 0.1))
    return samples


def _softmax_samples(rng, dtype):
    x = (rng.standard_normal((7, 1023)) * 5).astype(dtype)
    x[0, 0] = 1e4
    return [(x, -1), (x, 1), (x[:, :9], 0), (np.zeros((0, 4), dtype), 1)]


def _loss_samples(kind):
    def samples(rng, dtype):
        out = []
        for n in (1, 7, 1023):
            z = (rng.standard_normal((n, 3)) * 4).astype(dtype)
            z[0, 0], z[-1, -1] = 1e4, -1e4
            target = (rng.uniform(0, 1, (n, 3)).astype(dtype) if kind == "bce"
                      else rng.integers(0, 3, n))
            out += [(z, target, reduction) for reduction in contract.REDUCTIONS]
        return out
    return samples


def _state(rng, dtype, positive=False, scale=1.0):
    """One state list over parameters of shapes (7,), (33, 5), (1023,)."""
    arrays = [rng.standard_normal(shape) * scale for shape in [(7,), (33, 5), (1023,)]]
    return [(np.abs(a) + 0.1 if positive else a).astype(dtype) for a in arrays]


def _sgd_samples(rng, dtype):
    samples = [(_state(rng, dtype), _state(rng, dtype), _state(rng, dtype), first, 0.1, 0.9,
                0.0 if nesterov else 0.1, 0.01, nesterov, False)
               for first in (True, False) for nesterov in (False, True)]
    return samples + [(_state(rng, dtype), _state(rng, dtype), None, True, 0.1, 0.0, 0.0, 0.0,
                       False, True)]


def _adam_samples(rng, dtype):
    return [(_state(rng, dtype), _state(rng, dtype), _state(rng, dtype), _state(rng, dtype, True),
             _state(rng, dtype, True) if amsgrad else None, [3, 3, 3], 1e-3, 0.9, 0.999, 1e-8, 0.01,
             decoupled, amsgrad, maximize)
            for decoupled in (False, True) for amsgrad in (False, True) for maximize in (False,)]


def _rmsprop_samples(rng, dtype):
    return [(_state(rng, dtype), _state(rng, dtype), _state(rng, dtype, True),
             _state(rng, dtype, scale=0.01) if centered else None,
             _state(rng, dtype) if momentum else None, 0.01, 0.99, 1e-8, 0.01, momentum, centered,
             centered)
            for centered, momentum in [(False, 0.0), (True, 0.9)]]


def _adagrad_samples(rng, dtype):
    return [(_state(rng, dtype), _state(rng, dtype), _state(rng, dtype, True), [2, 2, 2], 0.01,
             0.001, 0.01, 1e-10, maximize) for maximize in (False, True)]


def _dropout_mask_samples(rng, dtype):
    """Odd sizes, a 2-D shape, a counter whose low word carries into the high one, large seeds."""
    key = tuple(int(word) for word in rng.integers(0, 1 << 32, 2))
    return [((7,), dtype, 0.5, key, (0, 0)), ((3, 5), dtype, 0.1, key, (0xFFFFFFFE, 7)),
            ((1023,), dtype, 0.9, (0xFFFFFFFF, 0xFFFFFFFF), (12345, 0)),
            ((0,), dtype, 0.3, key, (1, 0)), ((2, 1), dtype, 0.0, key, (5, 0))]


def _getitem_samples(rng, dtype):
    x = rng.standard_normal((5, 4, 3)).astype(dtype)
    return [(x, (slice(1, None), 2)), (x, np.array([0, 4, 0, 2])),
            (x, (np.array([0, 1, 4]), np.array([3, 0, 1]))), (x[:, ::2], (Ellipsis, 1))]


def _index_add_samples(rng, dtype):
    index = np.array([0, 4, 0, 2])  # row 0 twice: the values must accumulate
    return [((5, 3), index, rng.standard_normal((4, 3)).astype(dtype)),
            ((4, 3), (np.array([0, 3, 0]), np.array([2, 2, 2])),
             rng.standard_normal(3).astype(dtype))]


def _joins(rng, dtype):
    parts = [rng.standard_normal((2, 3)).astype(dtype) for _ in range(3)]
    return [(parts, 0), (parts, 1), (parts[:1], -1)]


def _binary(function):
    return KernelCase(_binary_samples, function)


def _unary(function, low=None, extreme=True):
    return KernelCase(_unary_samples(low, extreme and low is None), function)


def _reduction(function, empty=False):
    return KernelCase(_reduction_samples(empty), function, keywords=("axis", "keepdims"))


CASES = {
    # creation and transfer
    "asarray": KernelCase(lambda rng, dtype: [([[1.5, 2.0], [3.0, 4.0]],),
                                              (rng.standard_normal((3, 2)), dtype),
                                              (np.arange(5), None)],
                          lambda data, dtype=None: np.asarray(data, dtype), host_args=True),
    "to_numpy": KernelCase(lambda rng, dtype: [(rng.standard_normal((3, 7)).astype(dtype),)],
                           lambda a: a),
    "empty": KernelCase(lambda rng, dtype: [((3, 4), dtype), ((0,), dtype)], np.empty,
                        values=False),
    "zeros": KernelCase(lambda rng, dtype: [((3, 4), dtype), ((0, 2), dtype)], np.zeros),
    "full": KernelCase(lambda rng, dtype: [((2, 3), 1.5, dtype), ((4,), -2, np.int64)], np.full),
    "arange": KernelCase(lambda rng, dtype: [(0, 7, 2, np.int64), (1.0, 2.0, 0.25, dtype)],
                         lambda start, stop, step, dtype: np.arange(start, stop, step, dtype)),
    "astype": KernelCase(lambda rng, dtype: [(rng.standard_normal((3, 4)), dtype),
                                             (rng.standard_normal(5).astype(dtype), dtype),
                                             (np.arange(6), dtype)],
                         lambda a, dtype: a.astype(dtype)),
    "copy": KernelCase(lambda rng, dtype: [(rng.standard_normal((3, 8)).astype(dtype)[:, ::2],)],
                       np.copy),
    "copyto": KernelCase(lambda rng, dtype: [(np.zeros((2, 3), dtype),
                                              rng.standard_normal((2, 3)).astype(dtype)),
                                             (np.zeros((2, 3), dtype),
                                              rng.standard_normal(3).astype(dtype))],
                         np_copyto, mutates=(0,)),
    # elementwise, binary
    "add": _binary(np.add), "sub": _binary(np.subtract), "mul": _binary(np.multiply),
    "div": _binary(np.true_divide), "pow": _binary(np.power), "maximum": _binary(np.maximum),
    "minimum": _binary(np.minimum), "eq": _binary(np.equal), "ne": _binary(np.not_equal),
    "lt": _binary(np.less), "le": _binary(np.less_equal), "gt": _binary(np.greater),
    "ge": _binary(np.greater_equal),
    # elementwise, unary
    "neg": _unary(np.negative), "exp": _unary(np.exp, extreme=False),
    "log": _unary(np.log, low=0.1), "log1p": _unary(np.log1p, low=-0.9),
    "expm1": _unary(np.expm1, extreme=False), "sqrt": _unary(np.sqrt, low=0.1),
    "abs": _unary(np.abs), "sign": _unary(np.sign), "tanh": _unary(np.tanh),
    "clip": KernelCase(lambda rng, dtype: [(rng.standard_normal((4, 9)).astype(dtype), -0.5, 0.7),
                                           (rng.standard_normal(7).astype(dtype), None, 0.3),
                                           (rng.standard_normal(7).astype(dtype), -0.2, None)],
                       lambda a, low, high: np.clip(a, low, high)),
    "where": KernelCase(lambda rng, dtype: [(x > 0, x, x * 3) for x in
                                            [rng.standard_normal((4, 9)).astype(dtype)]]
                        + [(np.array([True, False]), np.ones(2, dtype), dtype(0))],
                        np.where),
    # reductions
    "sum": _reduction(np.sum, empty=True), "max": _reduction(np.max), "min": _reduction(np.min),
    "argmax": KernelCase(lambda rng, dtype: [(rng.standard_normal((6, 1023)).astype(dtype), axis)
                                             for axis in (0, 1, -1)],
                         lambda a, axis: np.argmax(a, axis=axis)),
    # linear algebra and movement
    "matmul": KernelCase(_matmul_samples, np.matmul),
    "reshape": KernelCase(lambda rng, dtype: [(rng.standard_normal((3, 4, 5)).astype(dtype),
                                               (12, 5)),
                                              (rng.standard_normal((3, 4)).astype(dtype), (-1,))],
                          np.reshape),
    "transpose": KernelCase(lambda rng, dtype: [(rng.standard_normal((3, 4, 5)).astype(dtype),
                                                 (2, 0, 1))], np.transpose),
    "broadcast_to": KernelCase(lambda rng, dtype: [(rng.standard_normal((3, 1, 5)).astype(dtype),
                                                    (3, 4, 5)),
                                                   (np.asarray(2.0, dtype), (2, 2))],
                               np.broadcast_to),
    "getitem": KernelCase(_getitem_samples, lambda a, index: a[index]),
    "index_add": KernelCase(_index_add_samples, np_index_add),
    "concatenate": KernelCase(_joins, np.concatenate),
    "stack": KernelCase(_joins, np.stack),
    # OPTIONAL: activations
    "sigmoid": _unary(np_sigmoid), "relu": _unary(lambda x: np.maximum(x, 0)),
    "softplus": _unary(np_softplus),
    "leaky_relu": KernelCase(lambda rng, dtype: [(x, 0.1) for (x,) in
                                                 _unary_samples(extreme=True)(rng, dtype)],
                             lambda x, slope: NP_ACT["leaky_relu"](x, slope)),
    "act_grad": KernelCase(_act_grad_samples,
                           lambda y, gy, act, slope: gy * NP_ACT_DERIVATIVE[act](y, slope)),
    "softmax": KernelCase(_softmax_samples, np_softmax),
    "log_softmax": KernelCase(_softmax_samples, np_log_softmax),
    # OPTIONAL: fused layer, losses and optimizer updates
    "linear_act": KernelCase(_linear_act_samples, lambda x, w, b, act, slope: NP_ACT[act](
        x @ w + b if b is not None else x @ w, slope)),
    "linear_act_grad": KernelCase(_linear_act_grad_samples, np_linear_act_grad),
    "linear_act_grad_mixed": KernelCase(_linear_act_grad_mixed_samples,
                                        _np_linear_act_grad_mixed),
    "sigmoid_bce": KernelCase(_loss_samples("bce"), np_sigmoid_bce),
    "softmax_ce": KernelCase(_loss_samples("ce"), np_softmax_ce),
    "sgd_step": KernelCase(_sgd_samples, np_sgd_step, mutates=(0, 2)),
    "adam_step": KernelCase(_adam_samples, np_adam_step, mutates=(0, 2, 3, 4)),
    "rmsprop_step": KernelCase(_rmsprop_samples, np_rmsprop_step, mutates=(0, 2, 3, 4)),
    "adagrad_step": KernelCase(_adagrad_samples, np_adagrad_step, mutates=(0, 2)),
    "dropout_mask": KernelCase(_dropout_mask_samples, np_dropout_mask),
}
