"""Cumulative ops along a dim: cumsum, cumprod, cummax, cummin, logcumsumexp.

Forward kernels are the array library's (``backend.xp``: NumPy, CuPy); every backward is written
in differentiable ops (reversed cumulative sums), so second derivatives work.
"""
import numpy as np

from .. import dtypes, return_types
from ..autograd import Function
from ..errors import normalize_dim
from ..tensor import Tensor
from .arithmetic import exp, log, to_float, where


def _dim(x: Tensor, dim, name: str) -> int:
    if dim is None:
        raise TypeError(f"{name}: dim is required, as in PyTorch (e.g. {name}(x, dim=0))")
    return normalize_dim(dim, x.ndim, name)


def _reverse_cumsum(x: Tensor, dim: int) -> Tensor:
    """sum over j >= k along ``dim``: the adjoint of cumsum."""
    from .shape import flip

    return flip(cumsum(flip(x, dim), dim), dim)


class CumSum(Function):
    name = "cumsum"

    def forward(self, b, x, dim):
        self.dim = dim
        return b.xp.cumsum(x, axis=dim)

    def backward(self, gy):
        return _reverse_cumsum(gy, self.dim)


def _running_total(op, x: Tensor, dim, dtype) -> Tensor:
    """cumsum / cumprod: integer and bool tensors accumulate in int64, as in PyTorch."""
    dim = _dim(x, dim, op.name)
    if dtype is not None:
        x = x.to(dtype=dtype)
    elif x.dtype.kind in "biu":
        x = x.to(dtype=dtypes.int64)
    if x.ndim == 0:
        return x * 1
    return op.apply(x, dim=dim)


def cumsum(x: Tensor, dim: int | None = None, *, dtype=None) -> Tensor:
    """Running sum along ``dim`` (as ``torch.cumsum``); integer and bool tensors give int64."""
    return _running_total(CumSum, x, dim, dtype)


class CumProd(Function):
    """Running product. Its gradient is exact with zeros: past a slice's first zero, x has no
    influence; at the first zero, the gradient is the product of the others."""

    name = "cumprod"
    save_output = True

    def forward(self, b, x, dim):
        self.dim = dim
        return b.xp.cumprod(x, axis=dim)

    def backward(self, gy):
        x = self.inputs[0]
        dim, b = self.dim, x._backend
        zero = b.eq(x.data, 0)
        zeros_so_far = b.xp.cumsum(zero, axis=dim)
        before = Tensor._wrap(b.eq(zeros_so_far, 0), b)  # positions before the first zero
        first = Tensor._wrap(b.mul(zero, b.eq(zeros_so_far, 1)), b)  # the first zero itself
        y = self.output()
        # Before the first zero: d/dx_k = sum_{j >= k} gy_j y_j / x_k.
        safe_x = where(before, x, 1.0)
        gx = _reverse_cumsum(gy * y, dim) / safe_x
        # At the first zero z: sum_{j >= z} gy_j prod_{i <= j, i != z} x_i, the same sums over
        # the running product with x_z taken as 1.
        without_zero = cumprod(where(first, 1.0, x), dim)
        at_zero = _reverse_cumsum(gy * without_zero, dim)
        return where(before, gx, where(first, at_zero, 0.0))


def cumprod(x: Tensor, dim: int | None = None, *, dtype=None) -> Tensor:
    """Running product along ``dim`` (as ``torch.cumprod``); integer and bool tensors give int64."""
    return _running_total(CumProd, x, dim, dtype)


def running(b, x, dim: int, combine):
    """Inclusive scan of ``combine`` (an elementwise kernel such as maximum) along ``dim``, by
    doubling: log2(n) passes of elementwise kernels on shifted slices, so it runs on any backend
    (CuPy lacks ``ufunc.accumulate`` for most ufuncs)."""
    size, shift = x.shape[dim], 1
    lead = (slice(None),) * dim
    while shift < size:
        x = b.concatenate([x[lead + (slice(0, shift),)],
                           combine(x[lead + (slice(shift, None),)], x[lead + (slice(0, -shift),)])],
                          dim)
        shift *= 2
    return x


class _RunningIndex(Function):
    """Index of the running max (or min) along a dim: the last position that attains it, or the
    first NaN once one is seen (NaN propagates, as in PyTorch)."""

    name = "cummax"  # each instance names itself cummax or cummin
    differentiable = False

    def forward(self, b, x, dim, largest):
        self.name = "cummax" if largest else "cummin"
        extreme = running(b, x, dim, b.maximum if largest else b.minimum)
        shape = [1] * x.ndim
        shape[dim] = -1
        positions = b.broadcast_to(b.reshape(b.arange(0, x.shape[dim], 1, np.int64), shape),
                                   x.shape)
        attains = b.eq(x, extreme)
        if dtypes.is_floating(x.dtype):
            first_nan = b.xp.isnan(x)
            first_nan = b.mul(first_nan, b.eq(b.xp.cumsum(first_nan, axis=dim), 1))
            attains = b.xp.logical_or(attains, first_nan)
        return running(b, b.where(attains, positions, -1), dim, b.maximum)


def _running_extreme(x: Tensor, dim, largest: bool, kind):
    name = "cummax" if largest else "cummin"
    dim = _dim(x, dim, name)
    if x.ndim == 0:
        return kind(x * 1, Tensor._wrap(x._backend.zeros((), np.int64), x._backend))
    indices = _RunningIndex.apply(x, dim=dim, largest=largest)
    from .indexing import gather

    return kind(gather(x, dim, indices), indices)


def cummax(x: Tensor, dim: int | None = None):
    """``(values, indices)`` of the running maximum along ``dim`` (as ``torch.cummax``); the
    gradient goes to the element each running max came from."""
    return _running_extreme(x, dim, True, return_types.cummax)


def cummin(x: Tensor, dim: int | None = None):
    """``(values, indices)`` of the running minimum along ``dim`` (as ``torch.cummin``)."""
    return _running_extreme(x, dim, False, return_types.cummin)


def logcumsumexp(x: Tensor, dim: int | None = None) -> Tensor:
    """log(cumsum(exp(x))) along ``dim``, stable for any x (as ``torch.logcumsumexp``).

    Its gradient is softmax-like: d out_j / d x_k = exp(x_k - out_j) for k <= j.
    """
    dim = _dim(x, dim, "logcumsumexp")
    x = to_float(x)
    if x.ndim == 0:
        return x * 1
    b = x._backend
    # stable computation: shift by the slice's (constant) max before exp; a slice that is all
    # -inf shifts by 0 so it stays -inf. Within 1 ulp of a pairwise logaddexp scan unless the
    # slice spans more than ~700 (float64) / ~85 (float32) in value.
    peak = b.max(x.data, axis=dim, keepdims=True)
    peak = Tensor._wrap(b.where(b.xp.isfinite(peak), peak, x.dtype.type(0)), b)
    with np.errstate(divide="ignore"):
        return log(cumsum(exp(x - peak), dim)) + peak


