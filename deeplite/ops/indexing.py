"""Indexing along a dim with index tensors: gather, take_along_dim, index_select, scatter,
scatter_add, scatter_reduce, masked_fill, masked_select, nonzero.

Each builds the full coordinate arrays of its index and reuses GetItem / IndexAdd (whose adjoint
pair gives every gradient, with repeated indices accumulating), as PyTorch's gather and scatter_add
are each other's backward. Index ranges are checked on host devices (an IndexError naming the op);
on cuda the check would stall every call (and a deeplite.jit replay skips it).
"""
import numpy as np

from ..autograd import Function
from ..errors import ShapeError, normalize_dim
from ..tensor import Tensor
from .arithmetic import where
from .movement import GetItem, IndexAdd, broadcast_to
from .scalars import lift


def _index_array(index: Tensor, name: str):
    if not isinstance(index, Tensor) or index.dtype.kind not in "iu":
        got = index.dtype if isinstance(index, Tensor) else type(index).__name__
        raise TypeError(f"{name}: index must be an integer tensor (int64), got {got}")
    return index.data


def _check_range(b, array, size: int, name: str, dim: int) -> None:
    """Indices must lie in [0, size), as in PyTorch (negative indices are out of bounds too)."""
    if b.cheap_host_sync and array.size and (array.min() < 0 or array.max() >= size):
        bad = array.min() if array.min() < 0 else array.max()
        raise IndexError(f"{name}: index {int(bad)} is out of bounds for dim {dim} of size {size}")


def coordinates(x: Tensor, dim: int, index: Tensor, name: str) -> tuple:
    """Full advanced-index arrays addressing x at ``index`` along ``dim`` and at the same position
    elsewhere (index's shape; each other dim of index no longer than x's)."""
    b = x._backend
    array = _index_array(index, name)
    if index.ndim != x.ndim:
        raise ShapeError(f"{name}: index has {index.ndim} dims but the tensor has {x.ndim}; "
                         f"they must match")
    for d, (n, m) in enumerate(zip(index.shape, x.shape, strict=True)):
        if d != dim and n > m:
            raise ShapeError(f"{name}: index of shape {index.shape} is larger than the tensor's "
                             f"shape {x.shape} in dim {d}")
    _check_range(b, array, x.shape[dim], name, dim)
    coords = []
    for d, n in enumerate(index.shape):
        if d == dim:
            coords.append(array)
        else:
            line = b.reshape(b.arange(0, n, 1, array.dtype), [-1 if k == d else 1
                                                            for k in range(index.ndim)])
            coords.append(b.broadcast_to(line, index.shape))
    return tuple(coords)


def gather(x: Tensor, dim: int, index: Tensor) -> Tensor:
    """out[i][j][k] = x[index[i][j][k]][j][k] for dim 0 (and so on), as ``torch.gather``.

    ``index`` has x's number of dims, no larger than x outside ``dim``; the output has its shape.
    The gradient scatter-adds back (repeated indices accumulate).
    """
    if x.ndim == 0:
        normalize_dim(dim, 0, "gather")
        return x * 1
    dim = normalize_dim(dim, x.ndim, "gather")
    return GetItem.apply(x, index=coordinates(x, dim, index, "gather"))


def take_along_dim(x: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """``gather`` with the index broadcast against x outside ``dim`` (as ``torch.take_along_dim``);
    with ``dim`` None, indices into the flattened x."""
    if dim is None:
        return gather(x.reshape(-1), 0, indices.reshape(-1))
    dim = normalize_dim(dim, x.ndim, "take_along_dim")
    if indices.ndim != x.ndim:
        raise ShapeError(f"take_along_dim: indices have {indices.ndim} dims but the tensor has "
                         f"{x.ndim}")
    shape = np.broadcast_shapes(*[tuple(s[:dim]) + (1,) + tuple(s[dim + 1:])
                                  for s in (x.shape, indices.shape)])
    x_shape = shape[:dim] + (x.shape[dim],) + shape[dim + 1:]
    index_shape = shape[:dim] + (indices.shape[dim],) + shape[dim + 1:]
    x = x if x.shape == x_shape else broadcast_to(x, x_shape)
    if indices.shape != index_shape:
        indices = Tensor._wrap(indices._backend.broadcast_to(indices.data, index_shape),
                               indices._backend)
    return gather(x, dim, indices)


def index_select(x: Tensor, dim: int, index: Tensor) -> Tensor:
    """The slices of x at the 1-D ``index`` along ``dim`` (as ``torch.index_select``)."""
    dim = normalize_dim(dim, x.ndim, "index_select")
    array = _index_array(index, "index_select")
    if index.ndim > 1:
        raise ShapeError(f"index_select: index must be 1-D, got shape {index.shape}")
    if x.ndim == 0:
        return x * 1
    _check_range(x._backend, array, x.shape[dim], "index_select", dim)
    return GetItem.apply(x, index=(slice(None),) * dim + (array.reshape(-1),))


def _source_part(src, index: Tensor, like: Tensor):
    """The part of ``src`` that ``index`` addresses (its leading corner), or a scalar lifted."""
    if not isinstance(src, Tensor):
        return broadcast_to(lift(src, like).to(dtype=like.dtype), index.shape)
    if src.ndim != index.ndim:
        raise ShapeError(f"scatter: src has {src.ndim} dims but index has {index.ndim}; they "
                         f"must match")
    for d, (n, m) in enumerate(zip(index.shape, src.shape, strict=True)):
        if n > m:
            raise ShapeError(f"scatter: index of shape {index.shape} is larger than src of shape "
                             f"{src.shape} in dim {d}")
    if src.shape == index.shape:
        return src
    return src[tuple(slice(0, n) for n in index.shape)]


class _Scatter(Function):
    """x with ``values`` written at ``coords`` (on repeats, one write wins, as in PyTorch)."""

    name = "scatter"

    def forward(self, b, x, values, coords):
        self.coords = coords
        out = b.copy(x)
        out[coords] = values
        return out

    def backward(self, gy):
        x, values = self.inputs
        b = gy._backend
        kept = b.full(x.shape, 1, gy.dtype)
        kept[self.coords] = 0  # overwritten elements pass no gradient to x
        return (gy * Tensor._wrap(kept, b) if x.requires_grad else None,
                GetItem.apply(gy, index=self.coords) if values.requires_grad else None)


def scatter(x: Tensor, dim: int, index: Tensor, src=None, *, value=None, reduce=None) -> Tensor:
    """A copy of x with ``src`` (a tensor, or ``value``) written at ``index`` along ``dim``:
    out[index[i][j]][j] = src[i][j] for dim 0 (as ``torch.scatter``, out of place).

    ``reduce="add"`` / ``"multiply"`` combine instead of overwriting (PyTorch's legacy form of
    ``scatter_reduce``). Where ``index`` repeats a position, one of the writes wins.
    """
    if src is None:
        src = value
    if src is None:
        raise TypeError("scatter: pass src (a tensor) or value (a number)")
    if reduce is not None:
        modes = {"add": "sum", "multiply": "prod"}
        if reduce not in modes:
            raise ValueError(f"scatter: reduce must be 'add' or 'multiply', got {reduce!r}")
        return scatter_reduce(x, dim, index, _full_source(src, index, x), modes[reduce])
    dim = normalize_dim(dim, x.ndim, "scatter")
    coords = coordinates(x, dim, index, "scatter")
    return _Scatter.apply(x, _source_part(src, index, x), coords=coords)


def _full_source(src, index: Tensor, like: Tensor) -> Tensor:
    return src if isinstance(src, Tensor) else _source_part(src, index, like)


def scatter_add(x: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """x plus ``src`` added at ``index`` along ``dim``; repeated indices accumulate (as
    ``torch.scatter_add``). The gradient of src is gather(grad, dim, index)."""
    dim = normalize_dim(dim, x.ndim, "scatter_add")
    coords = coordinates(x, dim, index, "scatter_add")
    added = IndexAdd.apply(_source_part(src, index, x), shape=x.shape, index=coords)
    return x + added


REDUCES = ("sum", "prod", "mean", "amax", "amin")


def scatter_reduce(x: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True) -> Tensor:
    """Reduce ``src`` into x at ``index`` along ``dim`` with "sum", "prod", "mean", "amax" or
    "amin" (as ``torch.scatter_reduce``); ``include_self=False`` leaves x's own values out of the
    reduction at the positions that receive something. Differentiable in x and src (amax/amin
    share the gradient evenly among ties, as PyTorch)."""
    from .scatter_reduce import scatter_reduce as reduce_into  # the reductions live apart

    if reduce not in REDUCES:
        raise ValueError(f"scatter_reduce: reduce must be one of {', '.join(REDUCES)}, "
                         f"got {reduce!r}")
    dim = normalize_dim(dim, x.ndim, "scatter_reduce")
    coords = coordinates(x, dim, index, "scatter_reduce")
    return reduce_into(x, coords, _source_part(src, index, x), reduce, include_self)


def masked_fill(x: Tensor, mask: Tensor, value) -> Tensor:
    """x with ``value`` where the bool ``mask`` (broadcast to x) is True (``torch.masked_fill``)."""
    if not isinstance(mask, Tensor) or mask.dtype.kind != "b":
        raise TypeError("masked_fill: mask must be a bool tensor")
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise ShapeError(f"masked_fill: value must be a number or a 0-d tensor, got shape "
                             f"{value.shape}")
        value = value.to(dtype=x.dtype)
    if np.broadcast_shapes(x.shape, mask.shape) != x.shape:
        raise ShapeError(f"masked_fill: mask of shape {mask.shape} does not broadcast to the "
                         f"tensor's shape {x.shape}")
    return where(mask, value, x)


def masked_select(x: Tensor, mask: Tensor) -> Tensor:
    """The elements of x where ``mask`` (broadcast with x) is True, as a 1-D tensor."""
    if not isinstance(mask, Tensor) or mask.dtype.kind != "b":
        raise TypeError("masked_select: mask must be a bool tensor")
    shape = np.broadcast_shapes(x.shape, mask.shape)
    x = x if x.shape == shape else broadcast_to(x, shape)
    mask_data = mask._backend.broadcast_to(mask.data, shape)
    return GetItem.apply(x, index=tuple(mask_data.nonzero()))


class _NonZero(Function):
    name = "nonzero"
    differentiable = False

    def forward(self, b, x):
        if x.ndim == 0:  # PyTorch: (1, 0) for a non-zero scalar, (0, 0) for zero
            return b.zeros((int(b.to_numpy(x).item() != 0), 0), np.int64)
        return b.astype(b.xp.stack(b.xp.nonzero(x), axis=1), np.int64)


def nonzero(x: Tensor, *, as_tuple: bool = False):
    """Indices of the non-zero elements: an int64 (count, ndim) tensor, or with ``as_tuple`` one
    1-D tensor per dim (as ``torch.nonzero``)."""
    coords = _NonZero.apply(x)
    if not as_tuple:
        return coords
    return tuple(coords[:, d] for d in range(coords.shape[1]))


def argwhere(x: Tensor) -> Tensor:
    """``nonzero(x)``: the (count, ndim) indices of the non-zero elements."""
    return nonzero(x)
