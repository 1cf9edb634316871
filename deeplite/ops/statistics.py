"""Reductions built on sum/mean/amax: var, std (with ``correction``), var_mean, std_mean, prod,
logsumexp, vector norms, all and any.

Each takes ``dim``/``keepdim`` (or ``axis``/``keepdims``) like the reductions in ``reduce.py``.
Kernels that the contract does not name (prod, all, any, isfinite) are the array library's own
(``backend.xp``: NumPy on numpy/cpu, CuPy on cuda), which share their names and meaning.
"""
import math

import numpy as np

from .. import dtypes
from ..autograd import Function
from ..tensor import Tensor
from .arithmetic import abs, exp, log, where
from .elementwise_math import sign
from .reduce import amax, amin, dims_of, expand_reduced, kept_shape, mean, pick_names, sum


def _statistics_args(name, dim, correction, unbiased, keepdim, axis, keepdims):
    if isinstance(dim, bool):  # the legacy positional form var(x, unbiased)
        dim, unbiased = None, dim
    if unbiased is not None:
        correction = 1 if unbiased else 0
    dim, keepdim = pick_names(name, axis, keepdims, dim, keepdim)
    return dim, 1 if correction is None else correction, keepdim


def var(x: Tensor, dim=None, *, correction=None, keepdim: bool | None = None, unbiased=None,
        axis=None, keepdims=None) -> Tensor:
    """Variance over ``dim``: sum((x - mean)^2) / (N - correction), as ``torch.var``.

    ``correction=1`` (the default) is Bessel's unbiased estimate, 0 the population variance.
    Where N - correction <= 0 the result is inf or nan, as in PyTorch (never clamped).
    """
    dim, correction, keepdim = _statistics_args("var", dim, correction, unbiased, keepdim, axis,
                                                keepdims)
    dims = dims_of(dim, x.ndim, "var")
    count = 1
    for d in dims:
        count *= x.shape[d]
    centered = x - mean(x, dim=dims, keepdim=True)
    squares = sum(centered * centered, dim=dims, keepdim=keepdim)
    return squares / float(builtin_max(count - correction, 0))


def std(x: Tensor, dim=None, *, correction=None, keepdim: bool | None = None, unbiased=None,
        axis=None, keepdims=None) -> Tensor:
    """Standard deviation over ``dim``: sqrt(var(x, dim, correction=...)), as ``torch.std``."""
    return var(x, dim, correction=correction, keepdim=keepdim, unbiased=unbiased, axis=axis,
               keepdims=keepdims).sqrt()


def var_mean(x: Tensor, dim=None, *, correction=None, keepdim: bool | None = None, unbiased=None,
             axis=None, keepdims=None) -> tuple:
    """``(var, mean)`` over ``dim`` in one call, as ``torch.var_mean``."""
    dim, correction, keepdim = _statistics_args("var_mean", dim, correction, unbiased, keepdim,
                                                axis, keepdims)
    return (var(x, dim, correction=correction, keepdim=keepdim),
            mean(x, dim=dims_of(dim, x.ndim, "var_mean"), keepdim=keepdim))


def std_mean(x: Tensor, dim=None, *, correction=None, keepdim: bool | None = None, unbiased=None,
             axis=None, keepdims=None) -> tuple:
    """``(std, mean)`` over ``dim`` in one call, as ``torch.std_mean``."""
    variance, average = var_mean(x, dim, correction=correction, keepdim=keepdim,
                                 unbiased=unbiased, axis=axis, keepdims=keepdims)
    return variance.sqrt(), average


def builtin_max(a, b):
    """Python's max (the module's ``max`` names are PyTorch's)."""
    return a if a >= b else b


class Prod(Function):
    """Product over dims. Its gradient is the product of the other elements, exact with zeros."""

    name = "prod"
    save_output = True

    def forward(self, b, x, dims, keepdim):
        self.dims, self.keepdim = dims, keepdim
        return b.xp.prod(x, axis=dims, keepdims=keepdim)

    def backward(self, gy):
        x = self.inputs[0]
        shape, dims = x.shape, self.dims
        b = x._backend
        zero = Tensor._wrap(b.eq(x.data, 0), b)
        zeros_in_slice = Tensor._wrap(
            b.reshape(b.sum(zero.data, axis=dims, keepdims=True), kept_shape(shape, dims)), b)
        safe_x = where(zero, 1.0, x)
        total = expand_reduced(self.output(), shape, dims, self.keepdim)
        # One zero in the slice: its gradient is the product of the others; the rest get 0.
        others = expand_reduced(Prod.apply(safe_x, dims=dims, keepdim=True), shape, dims, True)
        one_zero = Tensor._wrap(b.mul(zero.data, b.eq(zeros_in_slice.data, 1)), b)
        no_zero = Tensor._wrap(b.broadcast_to(b.eq(zeros_in_slice.data, 0), shape), b)
        local = where(no_zero, total / safe_x, where(one_zero, others, 0.0))
        return expand_reduced(gy, shape, dims, self.keepdim) * local


def prod(x: Tensor, dim=None, keepdim: bool | None = None, *, dtype=None, axis=None,
         keepdims=None) -> Tensor:
    """Product of the elements over ``dim`` (all by default), as ``torch.prod``; ints give int64."""
    dim, keepdim = pick_names("prod", axis, keepdims, dim, keepdim)
    if dtype is not None:
        x = x.to(dtype=dtype)
    elif x.dtype.kind in "biu":
        x = x.to(dtype=dtypes.int64)
    return Prod.apply(x, dims=dims_of(dim, x.ndim, "prod"), keepdim=keepdim)


def logsumexp(x: Tensor, dim=None, keepdim: bool | None = None, *, axis=None,
              keepdims=None) -> Tensor:
    """log(sum(exp(x))) over ``dim``, stable for any x (as ``torch.logsumexp``).

    All -inf gives -inf; its gradient is softmax(x) along ``dim``.
    """
    dim, keepdim = pick_names("logsumexp", axis, keepdims, dim, keepdim)
    if not dtypes.is_floating(x.dtype):
        x = x.to(dtype=dtypes.get_default_dtype())
    dims = dims_of(dim, x.ndim, "logsumexp")
    b = x._backend
    # stable computation: shift by the (constant) max so exp never overflows; an all -inf or
    # infinite slice shifts by 0 instead, so -inf stays -inf rather than turning into nan.
    peak = b.max(x.data, axis=dims, keepdims=True) if x.numel() else b.zeros(
        kept_shape(x.shape, dims), x.dtype)
    peak = Tensor._wrap(b.where(b.xp.isfinite(peak), peak, x.dtype.type(0)), b)
    with np.errstate(divide="ignore"):
        out = log(sum(exp(x - peak), dim=dims, keepdim=True)) + peak
    return out if keepdim else out.reshape(tuple(n for i, n in enumerate(x.shape) if i not in dims))


class VectorNorm(Function):
    """(sum |x|^p)^(1/p) over dims for a finite p other than 0 and 1."""

    name = "norm"
    save_output = True

    def forward(self, b, x, p, dims, keepdim):
        self.p, self.dims, self.keepdim = p, dims, keepdim
        powered = b.pow(b.abs(x), x.dtype.type(p))
        return b.pow(b.sum(powered, axis=dims, keepdims=keepdim), x.dtype.type(1.0 / p))

    def backward(self, gy):
        x = self.inputs[0]
        p, shape = self.p, x.shape
        b = x._backend
        zero = Tensor._wrap(b.eq(x.data, 0), b)
        norm = expand_reduced(self.output(), shape, self.dims, self.keepdim)
        # d/dx_k = sign(x_k) |x_k|^(p-1) / norm^(p-1); 0 at x_k = 0 (and for an all-zero slice),
        # with the zeros replaced by 1 inside the powers so no branch ever holds inf or nan.
        safe_abs = where(zero, 1.0, abs(x))
        safe_norm = where(zero, 1.0, norm)
        local = where(zero, 0.0, sign(x) * (safe_abs / safe_norm) ** (p - 1))
        return expand_reduced(gy, shape, self.dims, self.keepdim) * local


def norm(x: Tensor, p=2, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Vector p-norm over ``dim`` (all elements by default), as ``torch.linalg.vector_norm``.

    ``p`` is any float: 2 (Euclidean, also "fro"), 1, inf (max |x|), -inf (min |x|), 0 (the
    count of non-zeros). The gradient at a zero vector is 0, as in PyTorch.
    """
    if dtype is not None:
        x = x.to(dtype=dtype)
    if not dtypes.is_floating(x.dtype):
        raise TypeError(f"norm: needs a floating-point tensor, got {x.dtype}; call .float() first")
    if p == "fro":
        p = 2
    if not isinstance(p, (int, float)) or isinstance(p, bool):
        raise ValueError(f"norm: p must be a number or 'fro', got {p!r}")
    dims = dims_of(dim, x.ndim, "norm")
    if p == math.inf:
        return amax(abs(x), dim=dims, keepdim=keepdim)
    if p == -math.inf:
        return amin(abs(x), dim=dims, keepdim=keepdim)
    if p == 0:
        return sum((x != 0).to(dtype=x.dtype), dim=dims, keepdim=keepdim)
    if p == 1:
        return sum(abs(x), dim=dims, keepdim=keepdim)
    return VectorNorm.apply(x, p=float(p), dims=dims, keepdim=keepdim)


vector_norm = norm


class _Truth(Function):
    """all / any over dims: a bool tensor, never differentiable."""

    name = "all"  # each instance names itself after its kernel
    differentiable = False

    def forward(self, b, x, kernel, dims, keepdim):
        self.name = kernel
        return getattr(b.xp, kernel)(x, axis=dims, keepdims=keepdim)


def all(x: Tensor, dim=None, keepdim: bool | None = None, *, axis=None, keepdims=None) -> Tensor:
    """Whether every element over ``dim`` is non-zero (True), a bool tensor (as ``torch.all``)."""
    dim, keepdim = pick_names("all", axis, keepdims, dim, keepdim)
    return _Truth.apply(x, kernel="all", dims=dims_of(dim, x.ndim, "all"), keepdim=keepdim)


def any(x: Tensor, dim=None, keepdim: bool | None = None, *, axis=None, keepdims=None) -> Tensor:
    """Whether any element over ``dim`` is non-zero (True), a bool tensor (as ``torch.any``)."""
    dim, keepdim = pick_names("any", axis, keepdims, dim, keepdim)
    return _Truth.apply(x, kernel="any", dims=dims_of(dim, x.ndim, "any"), keepdim=keepdim)
