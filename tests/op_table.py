"""The op table (like PyTorch's OpInfo): each entry names an op, a generator of fresh random sample
inputs (broadcasting and odd sizes included) and its NumPy float64 reference. test_ops.py runs every
entry's forward on every backend, gradcheck, and second order where the entry claims it.
"""
from dataclasses import dataclass
from typing import Callable

import numpy as np
from numpy_references import log_softmax as _log_softmax
from numpy_references import reduce_loss as _reduce
from numpy_references import sigmoid as _sigmoid
from numpy_references import softplus as _softplus
from op_table_surface import SURFACE

import deeplite as dl

F = dl.functional


@dataclass
class OpInfo:
    """One op under test."""

    name: str
    op: Callable  # takes deeplite tensors
    reference: Callable  # takes float64 NumPy arrays
    samples: Callable  # rng -> list of argument tuples (float arrays get gradients)
    grad: bool = True
    second_order: bool = False
    exact: bool = False  # integer or bool output: compared exactly, its dtype against NumPy's


def _normal(rng, *shape):
    return rng.standard_normal(shape)


def _positive(rng, *shape):
    return rng.uniform(0.5, 2.0, shape)


def _away_from_zero(rng, *shape):
    """Values with |x| >= 0.1, so kinks (relu, abs) sit outside finite-difference reach."""
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.1, 2.0, shape)


def _binary_samples(make=_normal, make_right=None):
    make_right = make_right or make

    def samples(rng):
        return [(make(rng, 3, 4), make_right(rng, 3, 4)),
                (make(rng, 3, 4), make_right(rng, 4)),          # row broadcast
                (make(rng, 2, 1, 5), make_right(rng, 3, 1)),    # both sides stretch
                (make(rng, 7), make_right(rng, 1)),
                (make(rng, 1), make_right(rng, 2, 3))]
    return samples


def _unary_samples(make=_normal):
    return lambda rng: [(make(rng, 3, 5),), (make(rng, 7),), (make(rng, 2, 3, 4),), (make(rng, 1),)]


_ACTIVATION_REFERENCES = {
    "identity": lambda x: x, "relu": lambda x: np.maximum(x, 0),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.01 * x), "sigmoid": _sigmoid, "tanh": np.tanh,
    "softplus": _softplus,
}


def _labels(rng, n, classes):
    return rng.integers(0, classes, n)


OPS = [
    OpInfo("add", lambda a, b: a + b, np.add, _binary_samples(), second_order=True),
    OpInfo("sub", lambda a, b: a - b, np.subtract, _binary_samples()),
    OpInfo("mul", lambda a, b: a * b, np.multiply, _binary_samples(), second_order=True),
    OpInfo("div", lambda a, b: a / b, np.divide, _binary_samples(_normal, _positive),
           second_order=True),
    OpInfo("pow", lambda a, b: a ** b, np.power, _binary_samples(_positive), second_order=True),
    OpInfo("pow_scalar", lambda a: a ** 3, lambda a: a ** 3, _unary_samples(), second_order=True),
    OpInfo("rsub_scalar", lambda a: 2.5 - a, lambda a: 2.5 - a, _unary_samples()),
    OpInfo("rdiv_scalar", lambda a: 2.0 / a, lambda a: 2.0 / a, _unary_samples(_positive)),
    OpInfo("maximum", dl.maximum, np.maximum, _binary_samples()),
    OpInfo("minimum", dl.minimum, np.minimum, _binary_samples()),
    OpInfo("neg", lambda a: -a, np.negative, _unary_samples()),
    OpInfo("exp", dl.exp, np.exp, _unary_samples(), second_order=True),
    OpInfo("log", dl.log, np.log, _unary_samples(_positive), second_order=True),
    OpInfo("sqrt", dl.sqrt, np.sqrt, _unary_samples(_positive), second_order=True),
    OpInfo("abs", dl.abs, np.abs, _unary_samples(_away_from_zero)),
    OpInfo("clip", lambda a: dl.clip(a, -0.5, 0.7), lambda a: np.clip(a, -0.5, 0.7),
           lambda rng: [(rng.choice([-1, 1], (4, 5)) * rng.uniform(0.0, 2.0, (4, 5)) + 0.05,)]),
    OpInfo("where", lambda a, b: dl.where(a > 0, a, b), lambda a, b: np.where(a > 0, a, b),
           _binary_samples(_away_from_zero)),
    OpInfo("matmul", dl.matmul, np.matmul, lambda rng: [
        (_normal(rng, 3, 4), _normal(rng, 4, 5)), (_normal(rng, 1, 7), _normal(rng, 7, 1)),
        (_normal(rng, 2, 3, 4), _normal(rng, 4, 2)),
        (_normal(rng, 2, 1, 3, 4), _normal(rng, 5, 4, 2)),
        (_normal(rng, 4), _normal(rng, 4, 3)), (_normal(rng, 3, 4), _normal(rng, 4)),
        (_normal(rng, 5), _normal(rng, 5))], second_order=True),
    OpInfo("sum", lambda a: a.sum(), np.sum, _unary_samples(), second_order=True),
    OpInfo("sum_axis", lambda a: a.sum(axis=0), lambda a: a.sum(axis=0), _unary_samples()),
    OpInfo("sum_axes_keepdims", lambda a: a.sum(axis=(0, -1), keepdims=True),
           lambda a: a.sum(axis=(0, -1), keepdims=True),
           lambda rng: [(_normal(rng, 3, 5),), (_normal(rng, 2, 3, 4),)]),
    OpInfo("mean", lambda a: a.mean(axis=-1), lambda a: a.mean(axis=-1), _unary_samples()),
    OpInfo("max", lambda a: a.max(dim=0).values, lambda a: a.max(axis=0), _unary_samples()),
    OpInfo("min_keepdims", lambda a: dl.amin(a, axis=-1, keepdims=True),
           lambda a: a.min(axis=-1, keepdims=True), _unary_samples()),
    OpInfo("max_all", lambda a: a.max(), np.max, _unary_samples()),
    OpInfo("var", lambda a: a.var(axis=0), lambda a: a.var(axis=0, ddof=1),
           lambda rng: [(_normal(rng, 5, 3),)]),
    OpInfo("std", lambda a: a.std(), lambda a: a.std(ddof=1), lambda rng: [(_normal(rng, 4, 3),)]),
    OpInfo("reshape", lambda a: a.reshape(-1, 2), lambda a: a.reshape(-1, 2),
           lambda rng: [(_normal(rng, 3, 4),), (_normal(rng, 2, 3, 2),)]),
    OpInfo("transpose", lambda a: a.T, lambda a: a.T, _unary_samples()),
    OpInfo("transpose_swap", lambda a: a.transpose(0, 2), lambda a: np.swapaxes(a, 0, 2),
           lambda rng: [(_normal(rng, 2, 3, 4),)]),
    OpInfo("broadcast_to", lambda a: dl.broadcast_to(a, (2, 3, 4)),
           lambda a: np.broadcast_to(a, (2, 3, 4)),
           lambda rng: [(_normal(rng, 3, 1),), (_normal(rng, 4),)]),
    OpInfo("getitem_slice", lambda a: a[1:, ::2], lambda a: a[1:, ::2],
           lambda rng: [(_normal(rng, 3, 5),), (_normal(rng, 2, 3, 4),)]),
    OpInfo("getitem_gather", lambda a: a[dl.tensor([0, 2, 0, 1], device=a.device)],
           lambda a: a[[0, 2, 0, 1]], lambda rng: [(_normal(rng, 3, 4),), (_normal(rng, 3),)]),
    OpInfo("getitem_pairs",
           lambda a: a[dl.tensor([0, 1, 1], device=a.device),
                       dl.tensor([2, 0, 2], device=a.device)],
           lambda a: a[[0, 1, 1], [2, 0, 2]], lambda rng: [(_normal(rng, 2, 3),)]),
    OpInfo("getitem_mask", lambda a: a[a > 0], lambda a: a[a > 0],
           lambda rng: [(_away_from_zero(rng, 4, 5),)]),
    OpInfo("concatenate", lambda a, b: dl.concatenate([a, b], axis=1),
           lambda a, b: np.concatenate([a, b], axis=1),
           lambda rng: [(_normal(rng, 3, 2), _normal(rng, 3, 5))]),
    OpInfo("stack", lambda a, b: dl.stack([a, b], axis=-1), lambda a, b: np.stack([a, b], axis=-1),
           lambda rng: [(_normal(rng, 3, 2), _normal(rng, 3, 2))]),
    OpInfo("sigmoid", F.sigmoid, _sigmoid, _unary_samples(), second_order=True),
    OpInfo("relu", F.relu, lambda x: np.maximum(x, 0), _unary_samples(_away_from_zero)),
    OpInfo("leaky_relu", lambda x: F.leaky_relu(x, 0.2), lambda x: np.where(x > 0, x, 0.2 * x),
           _unary_samples(_away_from_zero)),
    OpInfo("tanh", F.tanh, np.tanh, _unary_samples(), second_order=True),
    OpInfo("softplus", F.softplus, _softplus, _unary_samples(), second_order=True),
    OpInfo("log_sigmoid", F.log_sigmoid, lambda x: -_softplus(-x), _unary_samples()),
    OpInfo("softmax", lambda x: F.softmax(x, axis=-1),
           lambda x: np.exp(_log_softmax(x, -1)), _unary_samples(), second_order=True),
    OpInfo("log_softmax", lambda x: F.log_softmax(x, axis=0), lambda x: _log_softmax(x, 0),
           _unary_samples(), second_order=True),
    OpInfo("heaviside", F.heaviside, lambda x: np.heaviside(x, 0.0),
           _unary_samples(_away_from_zero)),
    OpInfo("mse_loss", F.mse_loss, lambda a, b: np.mean((a - b) ** 2),
           lambda rng: [(_normal(rng, 4, 3), _normal(rng, 4, 3))], second_order=True),
    OpInfo("binary_cross_entropy", F.binary_cross_entropy,
           lambda p, t: -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p)),
           lambda rng: [(rng.uniform(0.05, 0.95, (5, 2)), rng.uniform(0, 1, (5, 2)))]),
    OpInfo("logistic_loss", F.logistic_loss, lambda z, y: np.mean(_softplus(-y * z)),
           lambda rng: [(_normal(rng, 9) * 3, rng.choice([-1.0, 1.0], 9))]),
]

for _act, _reference in _ACTIVATION_REFERENCES.items():
    OPS.append(OpInfo(
        f"linear_{_act}",
        lambda x, w, b, act=_act: F.linear(x, w, b, activation=act, negative_slope=0.01),
        lambda x, w, b, ref=_reference: ref(x @ w + b),
        lambda rng: [(_away_from_zero(rng, 5, 3), _normal(rng, 3, 4), _normal(rng, 4)),
                     (_normal(rng, 2, 3, 3), _normal(rng, 3, 2), _normal(rng, 2))],
        second_order=True))  # relu-like too: their second derivative is 0 away from the kink

for _reduction in ("mean", "sum", "none"):
    OPS.append(OpInfo(
        f"bce_with_logits_{_reduction}",
        lambda z, y, r=_reduction: F.binary_cross_entropy_with_logits(z, y, reduction=r),
        lambda z, y, r=_reduction: _reduce(_softplus(z) - z * y, r),
        lambda rng: [(_normal(rng, 6, 3) * 3, rng.uniform(0, 1, (6, 3))),
                     (_normal(rng, 7), rng.uniform(0, 1, 7))],
        second_order=True))
    OPS.append(OpInfo(
        f"cross_entropy_{_reduction}",
        lambda z, labels, r=_reduction: F.cross_entropy(z, labels, reduction=r),
        lambda z, labels, r=_reduction: _reduce(
            -_log_softmax(z, 1)[np.arange(len(labels)), labels], r),
        lambda rng: [(_normal(rng, 6, 4) * 3, _labels(rng, 6, 4)),
                     (_normal(rng, 1, 7), _labels(rng, 1, 7))],
        second_order=True))

OPS.append(OpInfo(
    "cross_entropy_probabilities", lambda z, t: F.cross_entropy(z, t),
    lambda z, t: np.mean(-(t * _log_softmax(z, 1)).sum(axis=1)),
    lambda rng: [(_normal(rng, 5, 3), np.exp(_log_softmax(_normal(rng, 5, 3), 1)))]))
OPS.append(OpInfo(
    "cross_entropy_spatial", lambda z, labels: F.cross_entropy(z, labels, reduction="none"),
    lambda z, labels: -np.take_along_axis(_log_softmax(z, 1), labels[:, None], 1)[:, 0],
    lambda rng: [(_normal(rng, 2, 3, 4), _labels(rng, (2, 4), 3))]))
OPS.append(OpInfo(
    "nll_loss", F.nll_loss, lambda lp, labels: -np.mean(lp[np.arange(len(labels)), labels]),
    lambda rng: [(_normal(rng, 5, 3), _labels(rng, 5, 3))]))

OPS.extend(OpInfo(**fields) for fields in SURFACE)  # the PyTorch surface, tests/op_table_surface.py
