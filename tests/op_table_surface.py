"""Op-table entries for the PyTorch tensor surface (shape, reductions, sorting, cumulative,
elementwise, integers, indexing, activations, losses, padding); op_table.py appends them to OPS.

Each reference is written in NumPy float64 from PyTorch's documented formula, independently of
deeplite's implementation.
"""
import math

import numpy as np
from numpy_references import log_softmax as _log_softmax
from numpy_references import sigmoid as _sigmoid
from numpy_references import softplus as _softplus

import deeplite as dl

F = dl.functional


def normal(rng, *shape):
    return rng.standard_normal(shape)


def positive(rng, *shape):
    return rng.uniform(0.5, 2.0, shape)


def away_from_zero(rng, *shape):
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.2, 2.0, shape)


def inside_unit(rng, *shape):
    return rng.uniform(-0.9, 0.9, shape)


def unary(make=normal):
    return lambda rng: [(make(rng, 3, 5),), (make(rng, 7),), (make(rng, 2, 3, 4),),
                        (make(rng, 1),)]


def binary(make=normal, make_right=None):
    make_right = make_right or make
    return lambda rng: [(make(rng, 3, 4), make_right(rng, 3, 4)),
                        (make(rng, 3, 4), make_right(rng, 4)),
                        (make(rng, 2, 1, 5), make_right(rng, 3, 1))]


def matrices(rng):
    return [(normal(rng, 3, 5),), (normal(rng, 4, 4),), (normal(rng, 2, 3, 4),)]


def entry(name, op, reference, samples, grad=True, second_order=False, exact=False):
    """An op-table row (the OpInfo class lives in op_table.py, which imports this module)."""
    return dict(name=name, op=op, reference=reference, samples=samples, grad=grad,
                second_order=second_order, exact=exact)


_erf = np.vectorize(math.erf)
_erfc = np.vectorize(math.erfc)


ELEMENTWISE = [
    entry("sin", dl.sin, np.sin, unary(), second_order=True),
    entry("cos", dl.cos, np.cos, unary(), second_order=True),
    entry("tan", dl.tan, np.tan, unary(inside_unit), second_order=True),
    entry("asin", dl.asin, np.arcsin, unary(inside_unit), second_order=True),
    entry("acos", dl.acos, np.arccos, unary(inside_unit), second_order=True),
    entry("atan", dl.atan, np.arctan, unary(), second_order=True),
    entry("sinh", dl.sinh, np.sinh, unary(), second_order=True),
    entry("cosh", dl.cosh, np.cosh, unary(), second_order=True),
    entry("asinh", dl.asinh, np.arcsinh, unary(), second_order=True),
    entry("acosh", dl.acosh, np.arccosh, unary(lambda rng, *s: rng.uniform(1.2, 3.0, s)),
          second_order=True),
    entry("atanh", dl.atanh, np.arctanh, unary(inside_unit), second_order=True),
    entry("log2", dl.log2, np.log2, unary(positive), second_order=True),
    entry("log10", dl.log10, np.log10, unary(positive), second_order=True),
    entry("log1p", dl.log1p, np.log1p, unary(positive), second_order=True),
    entry("expm1", dl.expm1, np.expm1, unary(), second_order=True),
    entry("exp2", dl.exp2, np.exp2, unary(), second_order=True),
    entry("rsqrt", dl.rsqrt, lambda x: 1 / np.sqrt(x), unary(positive), second_order=True),
    entry("reciprocal", dl.reciprocal, np.reciprocal, unary(away_from_zero), second_order=True),
    entry("square", dl.square, np.square, unary(), second_order=True),
    entry("erf", dl.erf, _erf, unary(), second_order=True),
    entry("erfc", dl.erfc, _erfc, unary(), second_order=True),
    entry("sign", dl.sign, np.sign, unary(away_from_zero)),
    entry("floor", dl.floor, np.floor, unary(lambda rng, *s: rng.uniform(-3, 3, s))),
    entry("ceil", dl.ceil, np.ceil, unary(lambda rng, *s: rng.uniform(-3, 3, s))),
    entry("round", dl.round, np.round, unary(lambda rng, *s: rng.uniform(-3, 3, s))),
    entry("round_decimals", lambda x: dl.round(x, decimals=2), lambda x: np.round(x, 2),
          unary()),
    entry("trunc", dl.trunc, np.trunc, unary(lambda rng, *s: rng.uniform(-3, 3, s))),
    entry("frac", dl.frac, lambda x: x - np.trunc(x),
          unary(lambda rng, *s: rng.uniform(-3, 3, s))),
    entry("nan_to_num_finite", dl.nan_to_num, np.nan_to_num, unary()),
    entry("atan2", dl.atan2, np.arctan2, binary(away_from_zero), second_order=True),
    entry("copysign", dl.copysign, np.copysign, binary(away_from_zero), second_order=True),
    entry("logaddexp", dl.logaddexp, np.logaddexp, binary(), second_order=True),
    entry("logaddexp2", dl.logaddexp2, np.logaddexp2, binary(), second_order=True),
    entry("hypot", dl.hypot, np.hypot, binary(away_from_zero), second_order=True),
    entry("lerp_scalar", lambda a, b: dl.lerp(a, b, 0.3), lambda a, b: a + 0.3 * (b - a),
          binary(), second_order=True),
    entry("lerp_tensor", dl.lerp, lambda a, b, w: a + w * (b - a),
          lambda rng: [(normal(rng, 3, 4), normal(rng, 3, 4), normal(rng, 4))],
          second_order=True),
    entry("fmod", dl.fmod, np.fmod, binary(lambda rng, *s: rng.uniform(-4, 4, s),
                                           lambda rng, *s: rng.uniform(0.7, 1.9, s))),
    entry("remainder", dl.remainder, np.remainder,
          binary(lambda rng, *s: rng.uniform(-4, 4, s), away_from_zero)),
    entry("floor_divide", dl.floor_divide, np.floor_divide,
          binary(lambda rng, *s: rng.uniform(-4, 4, s), away_from_zero)),
    entry("div_trunc", lambda a, b: dl.div(a, b, rounding_mode="trunc"),
          lambda a, b: np.trunc(a / b), binary(lambda rng, *s: rng.uniform(-4, 4, s),
                                               away_from_zero)),
    entry("div_floor", lambda a, b: dl.div(a, b, rounding_mode="floor"),
          lambda a, b: np.floor_divide(a, b), binary(lambda rng, *s: rng.uniform(-4, 4, s),
                                                     away_from_zero)),
]

# Integer and bool results: compared exactly (exact=True), no gradient.
def ints(rng, *shape):
    return rng.integers(-50, 50, shape)


def int_pairs(rng):
    return [(ints(rng, 3, 4), ints(rng, 3, 4)), (ints(rng, 5), ints(rng, 1)),
            (ints(rng, 2, 3).astype(np.int32), ints(rng, 3).astype(np.int32))]


def nonzero_ints(rng, *shape):
    return rng.choice([-1, 1], shape) * rng.integers(1, 9, shape)


def bools(rng, *shape):
    return rng.random(shape) < 0.5


EXACT = [
    entry("bitwise_and", dl.bitwise_and, np.bitwise_and, int_pairs, grad=False, exact=True),
    entry("bitwise_or", dl.bitwise_or, np.bitwise_or, int_pairs, grad=False, exact=True),
    entry("bitwise_xor", dl.bitwise_xor, np.bitwise_xor, int_pairs, grad=False, exact=True),
    entry("bitwise_not", dl.bitwise_not, np.invert,
          lambda rng: [(ints(rng, 3, 4),), (bools(rng, 5),)], grad=False, exact=True),
    entry("bitwise_bool", dl.bitwise_and, np.bitwise_and,
          lambda rng: [(bools(rng, 4), bools(rng, 4))], grad=False, exact=True),
    entry("left_shift", dl.bitwise_left_shift, np.left_shift,
          lambda rng: [(ints(rng, 3, 4), rng.integers(0, 5, (3, 4)))], grad=False, exact=True),
    entry("right_shift", dl.bitwise_right_shift, np.right_shift,
          lambda rng: [(ints(rng, 3, 4), rng.integers(0, 5, (4,)))], grad=False, exact=True),
    entry("uint16_and", dl.bitwise_and, np.bitwise_and,
          lambda rng: [(rng.integers(0, 60000, 6).astype(np.uint16),
                        rng.integers(0, 60000, 6).astype(np.uint16))], grad=False, exact=True),
    entry("floor_divide_int", dl.floor_divide, np.floor_divide,
          lambda rng: [(ints(rng, 3, 4), nonzero_ints(rng, 3, 4))], grad=False, exact=True),
    entry("div_trunc_int", lambda a, b: dl.div(a, b, rounding_mode="trunc"),
          lambda a, b: (np.trunc(a / b)).astype(np.int64),
          lambda rng: [(ints(rng, 3, 4), nonzero_ints(rng, 3, 4))], grad=False, exact=True),
    entry("remainder_int", dl.remainder, np.remainder,
          lambda rng: [(ints(rng, 3, 4), nonzero_ints(rng, 3, 4))], grad=False, exact=True),
    entry("fmod_int", dl.fmod, np.fmod,
          lambda rng: [(ints(rng, 3, 4), nonzero_ints(rng, 3, 4))], grad=False, exact=True),
    entry("true_divide_int", lambda a, b: dl.div(a, b), lambda a, b: (a / b).astype(np.float32),
          lambda rng: [(ints(rng, 3, 4), nonzero_ints(rng, 3, 4))], grad=False, exact=True),
    entry("isnan", dl.isnan, np.isnan,
          lambda rng: [(np.array([1.0, np.nan, np.inf, -np.inf, 0.0]),)], grad=False, exact=True),
    entry("isinf", dl.isinf, np.isinf,
          lambda rng: [(np.array([1.0, np.nan, np.inf, -np.inf, 0.0]),)], grad=False, exact=True),
    entry("isfinite", dl.isfinite, np.isfinite,
          lambda rng: [(np.array([1.0, np.nan, np.inf, -np.inf, 0.0]),)], grad=False, exact=True),
    entry("isposinf", dl.isposinf, np.isposinf,
          lambda rng: [(np.array([1.0, np.nan, np.inf, -np.inf]),)], grad=False, exact=True),
    entry("signbit", dl.signbit, np.signbit,
          lambda rng: [(np.array([1.0, -0.0, 0.0, -2.0]),)], grad=False, exact=True),
    entry("nan_to_num", lambda x: dl.nan_to_num(x, nan=7.0, posinf=8.0), lambda x: np.nan_to_num(
        x, nan=7.0, posinf=8.0, neginf=np.finfo(x.dtype).min),
        lambda rng: [(np.array([1.0, np.nan, np.inf, -np.inf]),)], grad=False, exact=True),
    entry("isclose", lambda a, b: dl.isclose(a, b, rtol=1e-3), lambda a, b: np.isclose(
        a, b, rtol=1e-3), lambda rng: [(np.array([1.0, 2.0, np.nan, 3.0]),
                                        np.array([1.0005, 2.1, np.nan, 3.0]))],
        grad=False, exact=True),
    entry("logical_and", dl.logical_and, np.logical_and,
          lambda rng: [(ints(rng, 3, 4) % 2, bools(rng, 3, 4))], grad=False, exact=True),
    entry("logical_or", dl.logical_or, np.logical_or,
          lambda rng: [(bools(rng, 3, 4), bools(rng, 4))], grad=False, exact=True),
    entry("logical_xor", dl.logical_xor, np.logical_xor,
          lambda rng: [(bools(rng, 3, 4), bools(rng, 3, 4))], grad=False, exact=True),
    entry("logical_not", dl.logical_not, np.logical_not,
          lambda rng: [(ints(rng, 5) % 3,)], grad=False, exact=True),
    entry("argmin", lambda x: dl.argmin(x, dim=1), lambda x: np.argmin(x, 1), matrices,
          grad=False, exact=True),
    entry("argmax_keepdim", lambda x: dl.argmax(x, dim=-1, keepdim=True),
          lambda x: np.argmax(x, -1)[..., None], matrices, grad=False, exact=True),
    entry("max_indices", lambda x: dl.max(x, dim=0).indices, lambda x: np.argmax(x, 0),
          matrices, grad=False, exact=True),
    entry("min_indices", lambda x: dl.min(x, dim=1, keepdim=True).indices,
          lambda x: np.argmin(x, 1)[:, None], matrices, grad=False, exact=True),
    entry("argsort", lambda x: dl.argsort(x, dim=0), lambda x: np.argsort(x, 0, kind="stable"),
          matrices, grad=False, exact=True),
    entry("argsort_descending", lambda x: dl.argsort(x, descending=True),
          lambda x: np.argsort(-x, -1, kind="stable"), matrices, grad=False, exact=True),
    entry("sort_ties_stable", lambda x: dl.sort(x, descending=True).indices,
          lambda x: np.argsort(-x, kind="stable"),
          lambda rng: [(rng.integers(0, 3, 9).astype(np.float64),)], grad=False, exact=True),
    entry("topk_indices", lambda x: dl.topk(x, 2).indices,
          lambda x: np.argsort(-x, -1, kind="stable")[..., :2], matrices, grad=False, exact=True),
    entry("cummax_indices", lambda x: dl.cummax(x, dim=1).indices,
          lambda x: np.array([[j - int(np.argmax(row[j::-1])) for j in range(len(row))]
                              for row in x]),  # ties: the last index, as torch.cummax
          lambda rng: [(normal(rng, 3, 6),)], grad=False, exact=True),
    entry("nonzero", dl.nonzero, np.argwhere,
          lambda rng: [(ints(rng, 3, 4) % 3,), (bools(rng, 2, 2, 3),)], grad=False, exact=True),
    entry("one_hot", lambda t: F.one_hot(t, 5), lambda t: np.eye(5, dtype=np.int64)[t],
          lambda rng: [(rng.integers(0, 5, (2, 3)),)], grad=False, exact=True),
    entry("all", lambda x: dl.all(x, dim=1), lambda x: np.all(x, 1),
          lambda rng: [(ints(rng, 3, 4) % 4,)], grad=False, exact=True),
    entry("any", lambda x: dl.any(x), lambda x: np.any(x),
          lambda rng: [(ints(rng, 3, 4) % 2,)], grad=False, exact=True),
    entry("sum_int64", lambda x: dl.sum(x, dim=0), lambda x: np.sum(x, 0).astype(np.int64),
          lambda rng: [(ints(rng, 3, 4).astype(np.int32),), (bools(rng, 3, 2),)], grad=False,
          exact=True),
    entry("where_scalars", lambda c: dl.where(c, 1, 3), lambda c: np.where(c, 1, 3),
          lambda rng: [(bools(rng, 3, 4),)], grad=False, exact=True),
    entry("int_plus_0d_float", lambda a, b: a + b, lambda a, b: (a + b).astype(b.dtype),
          lambda rng: [(ints(rng, 3), np.array(2.5, dtype=np.float32))], grad=False, exact=True),
]


def _index(rng, high, *shape):
    return rng.integers(0, high, shape)


def _cummax(x, axis):
    return np.maximum.accumulate(x, axis=axis)


def _logcumsumexp(x, axis):
    return np.logaddexp.accumulate(x, axis=axis)


def _cumprod_grad_safe(rng, *shape):
    return rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)


REDUCTIONS = [
    entry("sum_dim_keepdim", lambda x: x.sum(dim=1, keepdim=True),
          lambda x: x.sum(1, keepdims=True), matrices, second_order=True),
    entry("mean_dims", lambda x: dl.mean(x, dim=(0, -1)), lambda x: x.mean((0, -1)),
          lambda rng: [(normal(rng, 2, 3, 4),)]),
    entry("sum_0d_dim", lambda x: dl.sum(x, dim=0), lambda x: x, lambda rng: [(normal(rng),)]),
    entry("mean_0d_dim", lambda x: dl.mean(x, dim=-1), lambda x: x, lambda rng: [(normal(rng),)]),
    entry("softmax_0d", lambda x: F.softmax(x, dim=0), lambda x: np.ones_like(x),
          lambda rng: [(normal(rng),)]),
    entry("log_softmax_dim", lambda x: F.log_softmax(x, dim=1), lambda x: _log_softmax(x, 1),
          matrices, second_order=True),
    entry("amax_dims", lambda x: dl.amax(x, dim=(0, 2)), lambda x: np.max(x, (0, 2)),
          lambda rng: [(normal(rng, 2, 3, 4),)]),
    entry("amin", lambda x: dl.amin(x, dim=-1, keepdim=True), lambda x: x.min(-1, keepdims=True),
          matrices),
    entry("max_dim_values", lambda x: x.max(dim=1).values, lambda x: x.max(1), matrices),
    entry("min_dim_keepdim", lambda x: dl.min(x, 0, True).values,
          lambda x: x.min(0, keepdims=True), matrices),
    entry("max_elementwise", lambda a, b: dl.max(a, b), np.maximum, binary()),
    entry("prod", lambda x: dl.prod(x, dim=1), lambda x: x.prod(1),
          lambda rng: [(_cumprod_grad_safe(rng, 3, 4),), (_cumprod_grad_safe(rng, 2, 3, 2),)],
          second_order=True),
    entry("prod_all", dl.prod, np.prod, lambda rng: [(_cumprod_grad_safe(rng, 2, 3),)],
          second_order=True),
    entry("prod_with_zeros", lambda x: dl.prod(x, dim=1), lambda x: x.prod(1),
          lambda rng: [(np.array([[0.0, 2.0, 3.0], [1.5, 0.0, 0.0], [1.0, -2.0, 0.5]]),)]),
    entry("logsumexp", lambda x: dl.logsumexp(x, dim=1), lambda x: np.log(np.exp(x).sum(1)),
          matrices, second_order=True),
    entry("logsumexp_large", lambda x: dl.logsumexp(x * 1000, dim=0),
          lambda x: 1000 * x.max(0) + np.log(np.exp(1000 * (x - x.max(0))).sum(0)), matrices),
    entry("norm_2", lambda x: dl.norm(x, dim=1), lambda x: np.linalg.norm(x, axis=1), matrices,
          second_order=True),
    entry("norm_all", dl.norm, lambda x: np.linalg.norm(x.ravel()), matrices, second_order=True),
    entry("norm_1", lambda x: dl.norm(x, 1, dim=0), lambda x: np.abs(x).sum(0),
          lambda rng: [(away_from_zero(rng, 3, 4),)]),
    entry("norm_3", lambda x: dl.norm(x, 3, dim=-1, keepdim=True),
          lambda x: (np.abs(x) ** 3).sum(-1, keepdims=True) ** (1 / 3),
          lambda rng: [(away_from_zero(rng, 3, 4),)], second_order=True),
    entry("norm_inf", lambda x: dl.norm(x, float("inf"), dim=1), lambda x: np.abs(x).max(1),
          lambda rng: [(away_from_zero(rng, 3, 4),)]),
    entry("var_correction0", lambda x: dl.var(x, dim=1, correction=0), lambda x: x.var(1),
          matrices, second_order=True),
    entry("var_correction2", lambda x: x.var(dim=0, correction=2),
          lambda x: x.var(0, ddof=2), lambda rng: [(normal(rng, 5, 3),)]),
    entry("std_unbiased_false", lambda x: dl.std(x, dim=1, unbiased=False, keepdim=True),
          lambda x: x.std(1, keepdims=True), matrices),
    entry("var_mean", lambda x: dl.stack(list(dl.var_mean(x, dim=1))),
          lambda x: np.stack([x.var(1, ddof=1), x.mean(1)]), matrices),
    entry("std_mean", lambda x: dl.stack(list(dl.std_mean(x, dim=0, correction=0))),
          lambda x: np.stack([x.std(0), x.mean(0)]), matrices),
    entry("sort_values", lambda x: dl.sort(x, dim=0, descending=True).values,
          lambda x: -np.sort(-x, 0), matrices),
    entry("msort", dl.msort, lambda x: np.sort(x, 0), matrices),
    entry("topk_values", lambda x: dl.topk(x, 2, dim=1).values,
          lambda x: -np.sort(-x, 1)[:, :2], matrices),
    entry("topk_smallest", lambda x: dl.topk(x, 3, largest=False).values,
          lambda x: np.sort(x, -1)[..., :3], matrices),
    entry("kthvalue", lambda x: dl.kthvalue(x, 2, dim=1).values, lambda x: np.sort(x, 1)[:, 1],
          matrices),
    entry("median_dim", lambda x: dl.median(x, dim=1).values,
          lambda x: np.sort(x, 1)[:, (x.shape[1] - 1) // 2], matrices),
    entry("median_all", dl.median, lambda x: np.sort(x.ravel())[(x.size - 1) // 2], matrices),
    entry("nanmedian", lambda x: dl.nanmedian(x, dim=0).values,
          lambda x: np.sort(x, 0)[(x.shape[0] - 1) // 2], matrices),
    entry("cumsum", lambda x: dl.cumsum(x, dim=1), lambda x: np.cumsum(x, 1), matrices,
          second_order=True),
    entry("cumprod", lambda x: dl.cumprod(x, dim=-1), lambda x: np.cumprod(x, -1),
          lambda rng: [(_cumprod_grad_safe(rng, 3, 5),), (_cumprod_grad_safe(rng, 6),)],
          second_order=True),
    entry("cumprod_with_zeros", lambda x: dl.cumprod(x, dim=1), lambda x: np.cumprod(x, 1),
          lambda rng: [(np.array([[2.0, 0.0, 3.0, 0.5], [0.0, 1.5, 0.0, 2.0],
                                  [1.2, -0.7, 1.1, 0.0]]),)]),
    entry("cummax", lambda x: dl.cummax(x, dim=1).values, lambda x: _cummax(x, 1), matrices),
    entry("cummin", lambda x: dl.cummin(x, dim=0).values,
          lambda x: np.minimum.accumulate(x, 0), matrices),
    entry("logcumsumexp", lambda x: dl.logcumsumexp(x, dim=1), lambda x: _logcumsumexp(x, 1),
          matrices),
]

SHAPE = [
    entry("squeeze", lambda x: dl.squeeze(x), np.squeeze,
          lambda rng: [(normal(rng, 1, 3, 1),), (normal(rng, 2, 1),)]),
    entry("squeeze_dim", lambda x: dl.squeeze(x, (0, 1)), lambda x: np.squeeze(x, 0),
          lambda rng: [(normal(rng, 1, 3, 1),)]),
    entry("unsqueeze", lambda x: dl.unsqueeze(x, -1), lambda x: x[..., None], unary()),
    entry("flatten", lambda x: dl.flatten(x, 1), lambda x: x.reshape(x.shape[0], -1),
          lambda rng: [(normal(rng, 2, 3, 4),)]),
    entry("unflatten", lambda x: dl.unflatten(x, 1, (2, -1)), lambda x: x.reshape(3, 2, 2),
          lambda rng: [(normal(rng, 3, 4),)]),
    entry("expand", lambda x: dl.expand(x, 2, -1, 4), lambda x: np.broadcast_to(x, (2, 3, 4)),
          lambda rng: [(normal(rng, 3, 1),)]),
    entry("repeat", lambda x: dl.repeat(x, 2, 1, 3), lambda x: np.tile(x, (2, 1, 3)),
          lambda rng: [(normal(rng, 2, 3),)]),
    entry("tile", lambda x: dl.tile(x, (2,)), lambda x: np.tile(x, 2),
          lambda rng: [(normal(rng, 2, 3),)]),
    entry("flip", lambda x: dl.flip(x, (0, -1)), lambda x: np.flip(x, (0, -1)), matrices),
    entry("roll", lambda x: dl.roll(x, (1, -2), (0, 1)), lambda x: np.roll(x, (1, -2), (0, 1)),
          matrices),
    entry("roll_flat", lambda x: dl.roll(x, 3), lambda x: np.roll(x, 3), matrices),
    entry("split", lambda x: dl.split(x, 2, dim=1)[1], lambda x: x[:, 2:4], matrices),
    entry("split_sections", lambda x: dl.split(x, [1, 2], dim=0)[1], lambda x: x[1:3],
          lambda rng: [(normal(rng, 3, 4),)]),
    entry("chunk", lambda x: dl.chunk(x, 3, dim=-1)[-1], lambda x: np.array_split(
        x, [2, 4], -1)[-1], lambda rng: [(normal(rng, 2, 5),)]),
    entry("narrow", lambda x: dl.narrow(x, 1, 1, 2), lambda x: x[:, 1:3], matrices),
    entry("unbind", lambda x: dl.unbind(x, 1)[2], lambda x: x[:, 2], matrices),
    entry("repeat_interleave", lambda x: dl.repeat_interleave(x, 2, dim=0),
          lambda x: np.repeat(x, 2, 0), matrices),
    entry("repeat_interleave_counts",
          lambda x: dl.repeat_interleave(x, dl.tensor([0, 2, 1]), dim=0),
          lambda x: np.repeat(x, [0, 2, 1], 0), lambda rng: [(normal(rng, 3, 2),)]),
    entry("movedim", lambda x: dl.movedim(x, 0, -1), lambda x: np.moveaxis(x, 0, -1),
          lambda rng: [(normal(rng, 2, 3, 4),)]),
    entry("permute", lambda x: x.permute(2, 0, 1), lambda x: x.transpose(2, 0, 1),
          lambda rng: [(normal(rng, 2, 3, 4),)]),
    entry("transpose_01", lambda x: x.transpose(0, 1), lambda x: np.swapaxes(x, 0, 1), matrices),
    entry("matrix_transpose", dl.matrix_transpose, lambda x: np.swapaxes(x, -1, -2), matrices),
    entry("diagonal", lambda x: dl.diagonal(x, 1), lambda x: np.diagonal(x, 1), matrices),
    entry("diagonal_dims", lambda x: dl.diagonal(x, -1, 1, 2),
          lambda x: np.diagonal(x, -1, 1, 2), lambda rng: [(normal(rng, 2, 4, 3),)]),
    entry("diag_matrix", lambda x: dl.diag(x, -1), lambda x: np.diag(x, -1),
          lambda rng: [(normal(rng, 3),)]),
    entry("diag_vector", dl.diag, np.diag, lambda rng: [(normal(rng, 3, 4),)]),
    entry("meshgrid", lambda a, b: dl.stack(list(dl.meshgrid(a, b, indexing="xy"))),
          lambda a, b: np.stack(np.meshgrid(a, b, indexing="xy")),
          lambda rng: [(normal(rng, 3), normal(rng, 4))]),
    entry("meshgrid_ij", lambda a, b: dl.meshgrid(a, b)[0] * dl.meshgrid(a, b)[1],
          lambda a, b: np.multiply(*np.meshgrid(a, b, indexing="ij")),
          lambda rng: [(normal(rng, 3), normal(rng, 2))]),
    entry("tril", lambda x: dl.tril(x, 1), lambda x: np.tril(x, 1), matrices),
    entry("triu", lambda x: dl.triu(x, -1), lambda x: np.triu(x, -1), matrices),
    entry("getitem_int_then_tensor", lambda x: x[1, :, dl.tensor([0, 2], device=x.device)],
          lambda x: x[1][:, [0, 2]], lambda rng: [(normal(rng, 2, 3, 4),)]),
]


def _gather_ref(x, dim, index):
    """out[i][j] = x[index[i][j]][j] for dim 0, element by element (index may be smaller than x
    outside dim, which np.take_along_axis does not allow)."""
    out = np.empty(index.shape)
    for position in np.ndindex(index.shape):
        source = list(position)
        source[dim] = index[position]
        out[position] = x[tuple(source)]
    return out


def _scatter_ref(x, dim, index, src, reduce=None, include_self=True):
    """PyTorch's scatter / scatter_reduce, element by element (index of distinct targets where
    the result depends on the write order)."""
    out = x.copy()
    buckets = {}
    for position in np.ndindex(index.shape):
        target = list(position)
        target[dim] = index[position]
        buckets.setdefault(tuple(target), []).append(src[position])
    for target, values in buckets.items():
        if reduce is None:
            out[target] = values[-1]
            continue
        values = ([x[target]] if include_self else []) + values
        out[target] = {"sum": np.sum, "prod": np.prod, "mean": np.mean, "amax": np.max,
                       "amin": np.min}[reduce](values)
    return out


def _distinct_rows(rng, rows, cols, high):
    """An index (rows, cols) whose entries in each column are distinct (a permutation prefix)."""
    return np.stack([rng.permutation(high)[:rows] for _ in range(cols)], axis=1)


INDEXING = [
    entry("gather", lambda x, i: dl.gather(x, 1, i), lambda x, i: _gather_ref(x, 1, i),
          lambda rng: [(normal(rng, 3, 4), _index(rng, 4, 3, 6)),
                       (normal(rng, 4, 3), _index(rng, 3, 2, 2))]),
    entry("gather_dim0", lambda x, i: dl.gather(x, 0, i), lambda x, i: _gather_ref(x, 0, i),
          lambda rng: [(normal(rng, 3, 4), _index(rng, 3, 5, 4))]),
    entry("take_along_dim", lambda x, i: dl.take_along_dim(x, i, 1),
          lambda x, i: np.take_along_axis(x, i, 1),
          lambda rng: [(normal(rng, 3, 4), _index(rng, 4, 1, 2))]),
    entry("take_along_dim_flat", lambda x, i: dl.take_along_dim(x, i),
          lambda x, i: np.take_along_axis(x.ravel(), i, 0),
          lambda rng: [(normal(rng, 3, 4), _index(rng, 12, 5))]),
    entry("index_select", lambda x, i: dl.index_select(x, 1, i), lambda x, i: x[:, i],
          lambda rng: [(normal(rng, 3, 4), _index(rng, 4, 6))]),
    entry("scatter", lambda x, i, s: dl.scatter(x, 0, i, s),
          lambda x, i, s: _scatter_ref(x, 0, i, s),
          lambda rng: [(normal(rng, 4, 3), _distinct_rows(rng, 2, 3, 4), normal(rng, 2, 3)),
                       (normal(rng, 4, 3), _distinct_rows(rng, 2, 2, 4), normal(rng, 3, 3))]),
    entry("scatter_value", lambda x, i: dl.scatter(x, 1, i, value=2.5),
          lambda x, i: _scatter_ref(x, 1, i, np.full(i.shape, 2.5)),
          lambda rng: [(normal(rng, 3, 4), _index(rng, 4, 3, 2))]),
    entry("scatter_add", lambda x, i, s: dl.scatter_add(x, 0, i, s),
          lambda x, i, s: _scatter_ref(x, 0, i, s, "sum"),
          lambda rng: [(normal(rng, 3, 4), _index(rng, 3, 5, 4), normal(rng, 5, 4))],
          second_order=True),
]
for _reduce_name in ("sum", "prod", "mean", "amax", "amin"):
    for _self in (True, False):
        INDEXING.append(entry(
            f"scatter_reduce_{_reduce_name}{'' if _self else '_exclude_self'}",
            lambda x, i, s, r=_reduce_name, k=_self: dl.scatter_reduce(x, 1, i, s, r,
                                                                        include_self=k),
            lambda x, i, s, r=_reduce_name, k=_self: _scatter_ref(x, 1, i, s, r, k),
            lambda rng: [(normal(rng, 3, 4), _index(rng, 4, 3, 5), normal(rng, 3, 5))]))
INDEXING += [
    entry("masked_fill", lambda x, m: dl.masked_fill(x, m, -1.5),
          lambda x, m: np.where(m, -1.5, x),
          lambda rng: [(normal(rng, 3, 4), bools(rng, 3, 4)), (normal(rng, 3, 4), bools(rng, 4))]),
    entry("masked_select", dl.masked_select, lambda x, m: np.broadcast_to(x, np.broadcast_shapes(
        x.shape, m.shape))[np.broadcast_to(m, np.broadcast_shapes(x.shape, m.shape))],
        lambda rng: [(normal(rng, 3, 4), bools(rng, 3, 4)), (normal(rng, 1, 4), bools(rng, 3, 4))]),
]


ACTIVATIONS = [
    entry("gelu", F.gelu, lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2))), unary(),
          second_order=True),
    entry("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), lambda x: 0.5 * x * (1 + np.tanh(
        math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))), unary(), second_order=True),
    entry("elu", lambda x: F.elu(x, 0.7), lambda x: np.where(x > 0, x, 0.7 * np.expm1(x)),
          unary(away_from_zero)),
    entry("selu", F.selu, lambda x: 1.0507009873554804934193349852946 * np.where(
        x > 0, x, 1.6732632423543772848170429916717 * np.expm1(x)), unary(away_from_zero)),
    entry("celu", lambda x: F.celu(x, 2.0), lambda x: np.maximum(x, 0) + np.minimum(
        0, 2.0 * np.expm1(x / 2.0)), unary(away_from_zero)),
    entry("silu", F.silu, lambda x: x * _sigmoid(x), unary(), second_order=True),
    entry("mish", F.mish, lambda x: x * np.tanh(_softplus(x)), unary(), second_order=True),
    entry("hardsigmoid", F.hardsigmoid, lambda x: np.clip(x / 6 + 0.5, 0, 1),
          unary(lambda rng, *s: rng.choice([-4.5, 0.0, 4.5], s) + rng.uniform(-1, 1, s))),
    entry("hardswish", F.hardswish, lambda x: x * np.clip(x + 3, 0, 6) / 6,
          unary(lambda rng, *s: rng.choice([-4.5, 0.0, 4.5], s) + rng.uniform(-1, 1, s))),
    entry("hardtanh", lambda x: F.hardtanh(x, -0.5, 0.8), lambda x: np.clip(x, -0.5, 0.8),
          unary(lambda rng, *s: rng.choice([-1.0, 0.15, 1.2], s) + rng.uniform(-0.3, 0.3, s))),
    entry("relu6", F.relu6, lambda x: np.clip(x, 0, 6),
          unary(lambda rng, *s: rng.choice([-1.0, 3.0, 7.0], s) + rng.uniform(-0.5, 0.5, s))),
    entry("softsign", F.softsign, lambda x: x / (1 + np.abs(x)), unary(away_from_zero)),
    entry("softmin", lambda x: F.softmin(x, dim=0), lambda x: np.exp(_log_softmax(-x, 0)),
          unary(), second_order=True),
    entry("softplus_beta", lambda x: F.softplus(x * 3, beta=2.0, threshold=5.0),
          lambda x: np.where(6 * x > 5.0, 3 * x, _softplus(6 * x) / 2.0),
          unary(lambda rng, *s: rng.choice([-1.0, 1.0], s) * rng.uniform(0.05, 0.7, s) + 0.4)),
    entry("glu", lambda x: F.glu(x, dim=0), lambda x: x[:x.shape[0] // 2] * _sigmoid(
        x[x.shape[0] // 2:]), lambda rng: [(normal(rng, 4, 3),), (normal(rng, 6),)],
        second_order=True),
    entry("normalize", lambda x: F.normalize(x, dim=1), lambda x: x / np.maximum(
        np.linalg.norm(x, axis=1, keepdims=True), 1e-12), matrices, second_order=True),
    entry("hardshrink", F.hardshrink, lambda x: np.where(np.abs(x) > 0.5, x, 0),
          unary(away_from_zero)),
    entry("softshrink", F.softshrink, lambda x: np.sign(x) * np.maximum(np.abs(x) - 0.5, 0),
          unary(away_from_zero)),
    entry("tanhshrink", F.tanhshrink, lambda x: x - np.tanh(x), unary(), second_order=True),
    entry("threshold", lambda x: F.threshold(x, 0.1, -2.0), lambda x: np.where(x > 0.1, x, -2.0),
          unary(away_from_zero)),
]


def _ce_rows(z, labels, weight=None, ignore=-100, smoothing=0.0, reduction="mean"):
    """PyTorch's documented cross-entropy with weight, ignore_index and label smoothing."""
    logp = _log_softmax(z, 1)
    classes = z.shape[1]
    w = np.ones(classes) if weight is None else weight
    valid = labels != ignore
    safe = np.where(valid, labels, 0)
    nll = -logp[np.arange(len(labels)), safe] * w[safe] * valid
    smooth = -(logp * w).sum(1) * valid
    if reduction == "none":
        return (1 - smoothing) * nll + smoothing / classes * smooth
    total = (w[safe] * valid).sum() if reduction == "mean" else 1.0
    return ((1 - smoothing) * nll.sum() + smoothing / classes * smooth.sum()) / total


def _labels_with_ignored(rng, n, classes):
    labels = rng.integers(0, classes, n)
    labels[rng.permutation(n)[:2]] = -100
    return labels


LOSSES = [
    entry("cross_entropy_weight", lambda z, t, w: F.cross_entropy(z, t, weight=w),
          lambda z, t, w: _ce_rows(z, t, w),
          lambda rng: [(normal(rng, 6, 4), _index(rng, 4, 6), positive(rng, 4))]),
    entry("cross_entropy_ignore_index", lambda z, t: F.cross_entropy(z, t),
          lambda z, t: _ce_rows(z, t), lambda rng: [(normal(rng, 7, 3),
                                                     _labels_with_ignored(rng, 7, 3))],
          second_order=True),
    entry("cross_entropy_ignore_none", lambda z, t: F.cross_entropy(z, t, ignore_index=1,
                                                                    reduction="none"),
          lambda z, t: _ce_rows(z, t, ignore=1, reduction="none"),
          lambda rng: [(normal(rng, 7, 3), _index(rng, 3, 7))]),
    entry("cross_entropy_smoothing", lambda z, t, w: F.cross_entropy(
        z, t, w, label_smoothing=0.2), lambda z, t, w: _ce_rows(z, t, w, smoothing=0.2),
        lambda rng: [(normal(rng, 5, 4), _labels_with_ignored(rng, 5, 4), positive(rng, 4))],
        second_order=True),
    entry("cross_entropy_smoothing_sum", lambda z, t: F.cross_entropy(
        z, t, reduction="sum", label_smoothing=0.1),
        lambda z, t: _ce_rows(z, t, smoothing=0.1, reduction="sum"),
        lambda rng: [(normal(rng, 5, 4), _index(rng, 4, 5))]),
    entry("cross_entropy_unbatched", lambda z, t: F.cross_entropy(z, t),
          lambda z, t: -_log_softmax(z[None], 1)[0, t],
          lambda rng: [(normal(rng, 5), np.array(3))], second_order=True),
    entry("cross_entropy_probabilities_smoothing", lambda z, p: F.cross_entropy(
        z, p, label_smoothing=0.3), lambda z, p: np.mean(-((p * 0.7 + 0.1) * _log_softmax(
            z, 1)).sum(1)), lambda rng: [(normal(rng, 4, 3), np.exp(_log_softmax(
                normal(rng, 4, 3), 1)))]),
    entry("nll_loss_spatial", lambda lp, t, w: F.nll_loss(lp, t, weight=w),
          lambda lp, t, w: (-np.take_along_axis(lp, t[:, None], 1)[:, 0] * w[t]).sum()
          / w[t].sum(), lambda rng: [(normal(rng, 2, 3, 4, 2), _index(rng, 3, 2, 4, 2),
                                      positive(rng, 3))]),
    entry("nll_loss_ignore", lambda lp, t: F.nll_loss(lp, t, ignore_index=0, reduction="sum"),
          lambda lp, t: -lp[np.arange(len(t)), t][t != 0].sum(),
          lambda rng: [(normal(rng, 6, 3), _index(rng, 3, 6))]),
    entry("bce_with_logits_pos_weight", lambda z, y, pw: F.binary_cross_entropy_with_logits(
        z, y, pos_weight=pw), lambda z, y, pw: np.mean(pw * y * _softplus(-z) + (1 - y) * _softplus(
            z)), lambda rng: [(normal(rng, 5, 3) * 3, rng.uniform(0, 1, (5, 3)), positive(rng, 3))],
        second_order=True),
    entry("bce_with_logits_weight", lambda z, y, w: F.binary_cross_entropy_with_logits(
        z, y, weight=w, reduction="sum"), lambda z, y, w: np.sum(w * (_softplus(z) - z * y)),
        lambda rng: [(normal(rng, 5, 3) * 3, rng.uniform(0, 1, (5, 3)), positive(rng, 3))]),
    entry("bce_weight", lambda p, y, w: F.binary_cross_entropy(p, y, weight=w),
          lambda p, y, w: np.mean(-w * (y * np.log(p) + (1 - y) * np.log(1 - p))),
          lambda rng: [(rng.uniform(0.05, 0.95, (4, 2)), rng.uniform(0, 1, (4, 2)),
                        positive(rng, 4, 2))]),
    entry("l1_loss", F.l1_loss, lambda a, b: np.mean(np.abs(a - b)),
          lambda rng: [(normal(rng, 4, 3), normal(rng, 4, 3))]),
    entry("smooth_l1_loss", lambda a, b: F.smooth_l1_loss(a, b, beta=0.5),
          lambda a, b: np.mean(np.where(np.abs(a - b) < 0.5, 0.5 * (a - b) ** 2 / 0.5,
                                        np.abs(a - b) - 0.25)),
          lambda rng: [(normal(rng, 5, 3), normal(rng, 5, 3))]),
    entry("huber_loss", lambda a, b: F.huber_loss(a, b, reduction="sum", delta=0.7),
          lambda a, b: np.sum(np.where(np.abs(a - b) < 0.7, 0.5 * (a - b) ** 2,
                                       0.7 * (np.abs(a - b) - 0.35))),
          lambda rng: [(normal(rng, 5, 3), normal(rng, 5, 3))]),
    entry("kl_div_batchmean", lambda lp, t: F.kl_div(lp, t, reduction="batchmean"),
          lambda lp, t: np.sum(np.where(t > 0, t * (np.log(np.where(t > 0, t, 1)) - lp), 0))
          / lp.shape[0], lambda rng: [(_log_softmax(normal(rng, 4, 3), 1),
                                       np.array([[0.2, 0.8, 0.0], [0.5, 0.25, 0.25],
                                                 [1.0, 0.0, 0.0], [0.1, 0.3, 0.6]]))],
          second_order=True),
    entry("kl_div_log_target", lambda lp, lt: F.kl_div(lp, lt, log_target=True),
          lambda lp, lt: np.mean(np.exp(lt) * (lt - lp)),
          lambda rng: [(_log_softmax(normal(rng, 4, 3), 1), _log_softmax(normal(rng, 4, 3), 1))],
          second_order=True),
    entry("hinge_embedding_loss", lambda x, y: F.hinge_embedding_loss(x, y, margin=0.8),
          lambda x, y: np.mean(np.where(y == 1, x, np.maximum(0, 0.8 - x))),
          lambda rng: [(rng.uniform(-0.5, 0.5, (4, 3)) + 0.1, rng.choice([-1.0, 1.0], (4, 3)))]),
    entry("multi_margin_loss", lambda x, t: F.multi_margin_loss(x, t),
          lambda x, t: np.mean([sum(max(0, 1 - x[i, t[i]] + x[i, j]) for j in range(x.shape[1])
                                    if j != t[i]) / x.shape[1] for i in range(len(t))]),
          lambda rng: [(normal(rng, 5, 4), _index(rng, 4, 5))]),
    entry("multi_margin_loss_p2_weight", lambda x, t, w: F.multi_margin_loss(
        x, t, p=2, margin=0.5, weight=w, reduction="sum"),
        lambda x, t, w: np.sum([w[t[i]] * sum(max(0, 0.5 - x[i, t[i]] + x[i, j]) ** 2
                                              for j in range(x.shape[1]) if j != t[i])
                                / x.shape[1] for i in range(len(t))]),
        lambda rng: [(normal(rng, 5, 4), _index(rng, 4, 5), positive(rng, 4))]),
    entry("cosine_similarity", lambda a, b: F.cosine_similarity(a, b, dim=-1),
          lambda a, b: (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)),
          lambda rng: [(normal(rng, 4, 3), normal(rng, 4, 3)), (normal(rng, 2, 3), normal(rng, 3))],
          second_order=True),
]


def _np_pad(x, pad, mode, value=0.0):
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    numpy_mode = {"replicate": "edge", "circular": "wrap"}.get(mode, mode)
    extra = {"constant_values": value} if mode == "constant" else {}
    return np.pad(x, widths, mode=numpy_mode, **extra)


PADDING = [
    entry(f"pad_{mode}", lambda x, m=mode: F.pad(x, (1, 2, 2, 0), mode=m),
          lambda x, m=mode: _np_pad(x, (1, 2, 2, 0), m),
          lambda rng: [(normal(rng, 3, 4),), (normal(rng, 2, 3, 5),)])
    for mode in ("constant", "reflect", "replicate", "circular")
] + [
    entry("pad_constant_value_3d", lambda x: F.pad(x, (1, 1, 0, 2, 1, 0), value=-2.0),
          lambda x: _np_pad(x, (1, 1, 0, 2, 1, 0), "constant", -2.0),
          lambda rng: [(normal(rng, 2, 3, 4),)]),
    entry("pad_negative_crops", lambda x: F.pad(x, (-1, 2)), lambda x: _np_pad(x[..., 1:], (0, 2),
                                                                             "constant"),
          matrices),
]

SURFACE = ELEMENTWISE + EXACT + REDUCTIONS + SHAPE + INDEXING + ACTIVATIONS + LOSSES + PADDING
