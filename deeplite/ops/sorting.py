"""Sorting and order statistics: sort, argsort, msort, topk, kthvalue, median, nanmedian.

The permutation comes from the array library's stable argsort (``backend.xp``: NumPy, CuPy);
the values are ``take_along_dim`` of the input, so the gradient scatters back to the chosen
elements. NaN sorts as the largest value, as in PyTorch.
"""
import numpy as np

from .. import return_types
from ..autograd import Function
from ..dtypes import is_floating
from ..errors import normalize_dim
from ..tensor import Tensor
from .indexing import take_along_dim


class ArgSort(Function):
    """The permutation that sorts x along ``dim`` (int64, no gradient)."""

    name = "argsort"
    differentiable = False

    def forward(self, b, x, dim, descending):
        xp = b.xp
        stable = {"kind": "stable"} if xp is np else {}  # CuPy's sort is always stable
        if not descending:
            return xp.argsort(x, axis=dim, **stable)
        # Descending and still stable (equal elements keep their order), NaN first: sort the
        # reversed tensor ascending, then reverse the permutation and map it back.
        size = x.shape[dim]
        reversed_order = xp.argsort(xp.flip(x, axis=dim), axis=dim, **stable)
        return (size - 1) - xp.flip(reversed_order, axis=dim)


def argsort(x: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """Indices that sort x along ``dim`` (as ``torch.argsort``; always stable here)."""
    if x.ndim == 0:
        normalize_dim(dim, 0, "argsort")
        return Tensor._wrap(x._backend.zeros((), np.int64), x._backend)
    dim = normalize_dim(dim, x.ndim, "argsort")
    return ArgSort.apply(x, dim=dim, descending=bool(descending))


def sort(x: Tensor, dim: int = -1, descending: bool = False, stable: bool = False):
    """``(values, indices)`` of x sorted along ``dim`` (as ``torch.sort``; always stable here).

    Example:
        >>> import deeplite
        >>> values, indices = deeplite.tensor([3.0, 1.0, 2.0]).sort()
        >>> values.tolist(), indices.tolist()
        ([1.0, 2.0, 3.0], [1, 2, 0])
    """
    indices = argsort(x, dim, descending)
    values = x * 1 if x.ndim == 0 else take_along_dim(x, indices, normalize_dim(dim, x.ndim, ""))
    return return_types.sort(values, indices)


def msort(x: Tensor) -> Tensor:
    """x sorted along dim 0 (values only)."""
    return sort(x, 0).values


def topk(x: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """``(values, indices)`` of the ``k`` largest (or smallest) elements along ``dim``, as
    ``torch.topk``; always in sorted order here."""
    size = x.shape[normalize_dim(dim, x.ndim, "topk")] if x.ndim else 1
    if not 0 <= k <= size:
        raise IndexError(f"topk: k={k} is out of range for a dim of size {size}")
    values, indices = sort(x, dim, descending=largest)
    if x.ndim:
        dim = normalize_dim(dim, x.ndim, "topk")
        keep = (slice(None),) * dim + (slice(0, k),)
        values, indices = values[keep], indices[keep]
    return return_types.topk(values, indices)


def _order_statistic(x: Tensor, dim: int, keepdim: bool, positions_of, kind, name: str):
    """(values, indices) of the element at a sorted position along ``dim``; ``positions_of(x,
    dim)`` gives that position per slice, as a backend int array of keepdim shape."""
    if x.ndim == 0:
        normalize_dim(dim, 0, name)
        return kind(x * 1, Tensor._wrap(x._backend.zeros((), np.int64), x._backend))
    dim = normalize_dim(dim, x.ndim, name)
    if x.shape[dim] == 0:
        raise IndexError(f"{name}: cannot take an order statistic of an empty dim")
    b = x._backend
    order = argsort(x, dim)
    positions = b.astype(positions_of(x, dim), np.int64)
    indices = Tensor._wrap(b.xp.take_along_axis(order.data, positions, axis=dim), b)
    values = take_along_dim(x, indices, dim)
    if not keepdim:
        squeezed = tuple(n for d, n in enumerate(x.shape) if d != dim)
        values, indices = values.reshape(squeezed), indices.reshape(squeezed)
    return kind(values, indices)


def _kept(x: Tensor, dim: int) -> tuple:
    return tuple(1 if d == dim else n for d, n in enumerate(x.shape))


def kthvalue(x: Tensor, k: int, dim: int = -1, keepdim: bool = False):
    """``(values, indices)`` of the k-th smallest element (k from 1) along ``dim``."""
    size = x.shape[normalize_dim(dim, x.ndim, "kthvalue")] if x.ndim else 1
    if not 1 <= k <= size:
        raise IndexError(f"kthvalue: k={k} is out of range for a dim of size {size}")
    return _order_statistic(x, dim, keepdim,
                            lambda t, d: t._backend.full(_kept(t, d), k - 1, np.int64),
                            return_types.kthvalue, "kthvalue")


def _median_positions(nan_propagates: bool):
    """Sorted position of each slice's (lower) median. NaN sorts last; with a NaN in a slice,
    median points at its first NaN, nanmedian at the median of the other values."""
    def positions(x: Tensor, dim: int):
        b = x._backend
        size = x.shape[dim]
        nans = b.xp.isnan(x.data) if is_floating(x.dtype) else b.zeros(x.shape, np.bool_)
        count = b.sum(nans, axis=dim, keepdims=True)
        if nan_propagates:
            return b.where(count > 0, size - count, (size - 1) // 2)
        valid = size - count
        return b.where(valid > 0, (valid - 1) // 2, 0)
    return positions


def median(x: Tensor, dim=None, keepdim: bool = False):
    """The median, as ``torch.median``: of all elements (the lower of the two middle values for
    an even count) as a 0-d tensor, or with ``dim`` a named tuple ``(values, indices)``.

    A NaN in the data makes the median NaN (use ``nanmedian`` to skip NaN).
    """
    return _median(x, dim, keepdim, True, "median")


def nanmedian(x: Tensor, dim=None, keepdim: bool = False):
    """``median`` ignoring NaN (NaN only where a slice is all NaN), as ``torch.nanmedian``."""
    return _median(x, dim, keepdim, False, "nanmedian")


def _median(x: Tensor, dim, keepdim: bool, nan_propagates: bool, name: str):
    if dim is None:
        flat = x.reshape(-1)
        if flat.shape[0] == 0:
            raise IndexError(f"{name}: cannot take the median of an empty tensor")
        return _median(flat, 0, False, nan_propagates, name).values
    return _order_statistic(x, dim, keepdim, _median_positions(nan_propagates),
                            return_types.median, name)
